// A BERT encoder in plain TensorFlow.js ops, written as functions over a named parameter store so that
// weights can be snapshotted by name, sent to a worker as ArrayBuffers and rebuilt there.
//
// Layout: token + position + segment embeddings -> dropout -> `layers` pre-LayerNorm blocks
//   x = x + Dropout(Attention(LN(x)))      multi-head self-attention with a padding mask
//   x = x + Dropout(FFN(LN(x)))            FFN = Linear(H, I) -> GELU -> Linear(I, H)
// -> final LayerNorm. Pre-LN (as in GPT-2 and most recent encoders) rather than BERT's post-LN: with
// short warm-ups and the high learning rates that a few hundred steps in a browser need, post-LN
// diverges easily, while pre-LN trains stably without a long warm-up.
import * as tf from '@tensorflow/tfjs';
import type { RealmConfig } from './config';
import { PAD_ID, SEP_ID } from '../corpus/tokenizer';

/** Weights as transferable buffers: what checkpoints and worker snapshots carry. */
interface NamedWeight {
  name: string;
  shape: number[];
  data: ArrayBuffer;
}
export type NamedWeights = NamedWeight[];

/** A weight name, shape or count that does not match the model it is loaded into. */
class WeightsMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WeightsMismatchError';
  }
}

/** Deterministic seeds for initialisation and dropout, drawn from the run's RNG. */
export type SeedSource = () => number;

/** Named trainable variables. tfjs variable names are global, so names live here instead. */
export class ParamStore {
  readonly vars = new Map<string, tf.Variable>();

  constructor(private readonly seed: SeedSource = () => 1) {}

  private add(name: string, init: tf.Tensor): tf.Variable {
    if (this.vars.has(name)) throw new WeightsMismatchError(`parameter ${name} is defined twice`);
    const v = tf.variable(init, true);
    init.dispose();
    this.vars.set(name, v);
    return v;
  }
  normal(name: string, shape: number[], std: number): tf.Variable {
    return this.add(name, tf.truncatedNormal(shape, 0, std, 'float32', this.seed()));
  }
  zeros(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.zeros(shape));
  }
  ones(name: string, shape: number[]): tf.Variable {
    return this.add(name, tf.ones(shape));
  }
  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new WeightsMismatchError(`no parameter named ${name}`);
    return v;
  }
  names(prefix = ''): string[] {
    return [...this.vars.keys()].filter((n) => n.startsWith(prefix));
  }
  /**
   * Reads the named variables (all, those under a prefix, or a list of names) into transferable
   * buffers. Async: on webgpu a synchronous GPU read is slow and can lose the device, so the values
   * are downloaded with `data()` first.
   */
  async snapshot(which: string | string[] = ''): Promise<NamedWeights> {
    const names = typeof which === 'string' ? this.names(which) : which;
    await Promise.all(names.map((name) => this.get(name).data()));
    return this.snapshotCached(names);
  }
  /** The synchronous read behind `snapshot`; only for values already on the CPU (cpu backend, or after data()). */
  snapshotCached(which: string | string[] = ''): NamedWeights {
    const names = typeof which === 'string' ? this.names(which) : which;
    return names.map((name) => {
      const v = this.get(name);
      const data = (v.dataSync() as Float32Array).slice();
      return { name, shape: [...v.shape], data: data.buffer };
    });
  }
  /** Assigns every weight in `weights`; each must exist here with the same shape. */
  load(weights: NamedWeights): void {
    for (const w of weights) {
      const v = this.get(w.name);
      if (v.shape.join(',') !== w.shape.join(',')) {
        throw new WeightsMismatchError(
          `weight ${w.name} has shape [${w.shape}], the model expects [${v.shape}]: the config differs from the one that saved it`,
        );
      }
      const t = tf.tensor(new Float32Array(w.data), w.shape);
      v.assign(t);
      t.dispose();
    }
  }
  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.vars.clear();
  }
}

/** Dropout switch and seeds for one forward pass. */
export interface ForwardCtx {
  training: boolean;
  seed: SeedSource;
}
export const EVAL_CTX: ForwardCtx = { training: false, seed: () => 0 };

function dropout<T extends tf.Tensor>(x: T, rate: number, ctx: ForwardCtx): T {
  return ctx.training && rate > 0 ? (tf.dropout(x, rate, undefined, ctx.seed()) as T) : x;
}

/**
 * Rows of a [R, H] table at int32 `indices` (any shape S) -> [...S, H]. Same as tf.gather, but its
 * gradient scatters with ScatterNd: tf.gather's gradient (UnsortedSegmentSum) is not registered on the
 * wasm backend and costs O(R x n) on cpu.
 */
export function gatherRows(table: tf.Tensor, indices: tf.Tensor): tf.Tensor {
  const shape = [...indices.shape, table.shape[1] as number];
  const flat = indices.reshape([-1]) as tf.Tensor1D; // [n]
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    (args[1] as tf.GradSaveFunc)([flat]);
    return {
      value: tf.gather(t, flat), // [n, H]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.scatterND(saved[0].reshape([-1, 1]), dy, t.shape),
    };
  });
  return (f(table) as tf.Tensor).reshape(shape);
}

/** GELU, tanh approximation (as in BERT's released code). */
export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => {
    const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner))) as T;
  });
}

export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps: number): T {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta) as T;
  });
}

/** x [..., in] . W [in, out] + b. */
export function dense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const shape: number[] = x.shape;
  const x2 = x.reshape([-1, shape[shape.length - 1]]); // [rows, in]
  let y = tf.matMul(x2, w as tf.Tensor2D); // [rows, out]
  if (b) y = tf.add(y, b);
  return y.reshape([...shape.slice(0, -1), w.shape[1] as number]);
}

type EncoderDims = Pick<
  RealmConfig,
  | 'vocabSize'
  | 'hidden'
  | 'layers'
  | 'heads'
  | 'intermediate'
  | 'maxPositions'
  | 'typeVocab'
  | 'dropout'
  | 'attentionDropout'
  | 'layerNormEps'
  | 'initStd'
>;

export class BertEncoder {
  constructor(
    readonly prefix: string,
    readonly cfg: EncoderDims,
    private readonly store: ParamStore,
  ) {
    const { hidden: h, intermediate: i, initStd: std } = cfg;
    const p = (n: string) => `${prefix}/${n}`;
    store.normal(p('token_embedding'), [cfg.vocabSize, h], std);
    store.normal(p('position_embedding'), [cfg.maxPositions, h], std);
    store.normal(p('segment_embedding'), [cfg.typeVocab, h], std);
    for (let l = 0; l < cfg.layers; l++) {
      const q = (n: string) => p(`layer${l}/${n}`);
      store.ones(q('ln1/gamma'), [h]);
      store.zeros(q('ln1/beta'), [h]);
      for (const m of ['query', 'key', 'value', 'output']) {
        store.normal(q(`attention/${m}/kernel`), [h, h], std);
        store.zeros(q(`attention/${m}/bias`), [h]);
      }
      store.ones(q('ln2/gamma'), [h]);
      store.zeros(q('ln2/beta'), [h]);
      store.normal(q('ffn/in/kernel'), [h, i], std);
      store.zeros(q('ffn/in/bias'), [i]);
      store.normal(q('ffn/out/kernel'), [i, h], std);
      store.zeros(q('ffn/out/bias'), [h]);
    }
    store.ones(p('final_ln/gamma'), [h]);
    store.zeros(p('final_ln/beta'), [h]);
  }

  private w(name: string): tf.Variable {
    return this.store.get(`${this.prefix}/${name}`);
  }

  /** The token embedding matrix [V, H]; the MLM head of the reader is tied to it. */
  tokenEmbedding(): tf.Variable {
    return this.w('token_embedding');
  }

  /**
   * ids, segments: [N, L] int32, PAD_ID marks padding (masked out of attention).
   * Returns the hidden states [N, L, H].
   */
  forward(ids: tf.Tensor2D, segments: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor3D {
    const { hidden: h, heads, layerNormEps: eps } = this.cfg;
    const [n, len] = ids.shape;
    if (len > this.cfg.maxPositions) {
      throw new WeightsMismatchError(`input length ${len} exceeds maxPositions ${this.cfg.maxPositions}`);
    }
    const dh = h / heads;
    return tf.tidy(() => {
      const positions = tf.range(0, len, 1, 'int32'); // [L]
      let x = tf.add(
        tf.add(gatherRows(this.w('token_embedding'), ids), gatherRows(this.w('position_embedding'), positions)),
        gatherRows(this.w('segment_embedding'), segments),
      ) as tf.Tensor3D; // [N, L, H]
      x = dropout(x, this.cfg.dropout, ctx);
      // Additive mask: 0 for real tokens, -1e9 for padding keys. [N, 1, 1, L]
      const keyMask = tf.mul(tf.sub(1, tf.cast(tf.notEqual(ids, PAD_ID), 'float32')), -1e9).reshape([n, 1, 1, len]);
      const split = (t: tf.Tensor) => t.reshape([n, len, heads, dh]).transpose([0, 2, 1, 3]); // [N, heads, L, dh]
      for (let l = 0; l < this.cfg.layers; l++) {
        const q = (name: string) => this.w(`layer${l}/${name}`);
        const a = layerNorm(x, q('ln1/gamma'), q('ln1/beta'), eps); // [N, L, H]
        const Q = split(dense(a, q('attention/query/kernel'), q('attention/query/bias')));
        const K = split(dense(a, q('attention/key/kernel'), q('attention/key/bias')));
        const V = split(dense(a, q('attention/value/kernel'), q('attention/value/bias')));
        const scores = tf.add(tf.mul(tf.matMul(Q, K, false, true), 1 / Math.sqrt(dh)), keyMask); // [N, heads, L, L]
        const probs = dropout(tf.softmax(scores, -1), this.cfg.attentionDropout, ctx);
        const ctxv = tf.matMul(probs, V).transpose([0, 2, 1, 3]).reshape([n, len, h]); // [N, L, H]
        const attnOut = dense(ctxv, q('attention/output/kernel'), q('attention/output/bias'));
        x = tf.add(x, dropout(attnOut, this.cfg.dropout, ctx)) as tf.Tensor3D;
        const f = layerNorm(x, q('ln2/gamma'), q('ln2/beta'), eps);
        const ff = dense(gelu(dense(f, q('ffn/in/kernel'), q('ffn/in/bias'))), q('ffn/out/kernel'), q('ffn/out/bias')); // [N, L, H]
        x = tf.add(x, dropout(ff, this.cfg.dropout, ctx)) as tf.Tensor3D;
      }
      return layerNorm(x, this.w('final_ln/gamma'), this.w('final_ln/beta'), eps);
    });
  }
}

/** Rounds a sequence length up to a bucket (multiples of 16) so GPU buffers are reused across steps. */
function bucketLength(len: number, max: number, multiple = 16): number {
  return Math.min(max, Math.max(multiple, Math.ceil(len / multiple) * multiple));
}

/**
 * Pads token rows (cut at maxLen) to one bucketed length. Segment ids are 0 up to and including the
 * first [SEP] (the query x, or a document's title) and 1 after it. Returns [N, L] int32 tensors.
 */
export function padBatch(rows: ArrayLike<number>[], maxLen: number): { ids: tf.Tensor2D; segments: tf.Tensor2D; length: number } {
  const longest = rows.reduce((m, r) => Math.max(m, Math.min(r.length, maxLen)), 1);
  const L = bucketLength(longest, maxLen);
  const ids = new Int32Array(rows.length * L);
  const seg = new Int32Array(rows.length * L);
  rows.forEach((r, i) => {
    let s = 0;
    const n = Math.min(r.length, L);
    for (let j = 0; j < n; j++) {
      ids[i * L + j] = r[j];
      seg[i * L + j] = s;
      if (r[j] === SEP_ID) s = 1;
    }
  });
  return { ids: tf.tensor2d(ids, [rows.length, L], 'int32'), segments: tf.tensor2d(seg, [rows.length, L], 'int32'), length: L };
}
