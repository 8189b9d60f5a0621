// AdamW (Adam with decoupled weight decay), a linear warm-up then linear decay schedule, and gradient
// clipping by global norm. The optimiser state (first and second moments and a step count per
// variable) serialises to named buffers for checkpoints.
import * as tf from '@tensorflow/tfjs';
import type { NamedWeights } from './bert';

/** Biases, LayerNorm parameters and the MLM output bias are not decayed (as in BERT). */
function isDecayed(name: string): boolean {
  return !/(bias|gamma|beta)$/.test(name);
}

/** Learning rate at step t (0-based) of a phase of `total` steps: linear warm-up, then linear decay to 0. */
export function learningRateAt(t: number, total: number, peak: number, warmupFraction: number): number {
  const warmup = Math.max(1, Math.round(total * warmupFraction));
  if (t < warmup) return (peak * (t + 1)) / warmup;
  const left = Math.max(1, total - warmup);
  return Math.max(0, peak * (1 - (t - warmup) / left));
}

interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  clipNorm: number;
}

const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0.01, clipNorm: 1.0 };

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private readonly t = new Map<string, number>();

  constructor(readonly opts: AdamWOptions = ADAMW_DEFAULTS) {}

  /**
   * Clips `grads` (by name) to the global norm, then takes one AdamW step on `vars`. Returns the
   * global norm before clipping. Disposes nothing of the caller's.
   */
  /** One step; `lrScale(name)` multiplies the learning rate (and so the decay) of one variable (default 1). */
  async apply(
    vars: ReadonlyMap<string, tf.Variable>,
    grads: ReadonlyMap<string, tf.Tensor>,
    lr: number,
    lrScale: (name: string) => number = () => 1,
  ): Promise<number> {
    const { beta1, beta2, epsilon, weightDecay, clipNorm } = this.opts;
    const normT = tf.tidy(() => {
      const sq = [...grads.values()].map((g) => tf.sum(tf.square(g)));
      return sq.length > 0 ? tf.sqrt(tf.addN(sq)) : tf.scalar(0);
    });
    const norm = (await normT.data())[0]; // async: a sync GPU read stalls (and can lose) a webgpu device
    normT.dispose();
    const scale = clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
    grads.forEach((g, name) => {
      const variable = vars.get(name);
      if (!variable) throw new Error(`AdamW: gradient for unknown variable ${name}`);
      if (!this.m.has(name)) {
        // tf.variable shares the initial tensor's data and leaves that tensor alive: make it in a tidy.
        this.m.set(
          name,
          tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
        );
        this.v.set(
          name,
          tf.tidy(() => tf.variable(tf.zerosLike(variable), false)),
        );
        this.t.set(name, 0);
      }
      const step = (this.t.get(name) ?? 0) + 1;
      this.t.set(name, step);
      const m = this.m.get(name)!;
      const v = this.v.get(name)!;
      tf.tidy(() => {
        const gc = tf.mul(g, scale);
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(gc, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(gc), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const mHat = tf.div(m1, 1 - beta1 ** step);
        const vHat = tf.div(v1, 1 - beta2 ** step);
        let update = tf.div(mHat, tf.add(tf.sqrt(vHat), epsilon));
        if (weightDecay > 0 && isDecayed(name)) update = tf.add(update, tf.mul(variable, weightDecay));
        variable.assign(tf.sub(variable, tf.mul(update, lr * lrScale(name))));
      });
    });
    return norm;
  }

  /** Moments as `${name}/m`, `${name}/v`, and the step counts as `${name}/t` ([1] float). */
  async getState(): Promise<NamedWeights> {
    await Promise.all([...this.m.values(), ...this.v.values()].map((t) => t.data()));
    const out: NamedWeights = [];
    this.m.forEach((m, name) => {
      const v = this.v.get(name)!;
      out.push({ name: `${name}/m`, shape: [...m.shape], data: (m.dataSync() as Float32Array).slice().buffer });
      out.push({ name: `${name}/v`, shape: [...v.shape], data: (v.dataSync() as Float32Array).slice().buffer });
      out.push({ name: `${name}/t`, shape: [1], data: Float32Array.of(this.t.get(name) ?? 0).buffer });
    });
    return out;
  }

  setState(state: NamedWeights): void {
    this.dispose();
    for (const s of state) {
      const cut = s.name.lastIndexOf('/');
      const name = s.name.slice(0, cut);
      const slot = s.name.slice(cut + 1);
      const data = new Float32Array(s.data);
      if (slot === 't') this.t.set(name, data[0]);
      else if (slot === 'm' || slot === 'v')
        (slot === 'm' ? this.m : this.v).set(
          name,
          tf.tidy(() => tf.variable(tf.tensor(data, s.shape), false)),
        );
      else throw new Error(`AdamW.setState: unknown slot ${s.name}`);
    }
  }

  dispose(): void {
    this.m.forEach((x) => x.dispose());
    this.v.forEach((x) => x.dispose());
    this.m.clear();
    this.v.clear();
    this.t.clear();
  }
}
