// A BERT encoder in plain TensorFlow.js ops, written as functions over a named parameter store so that
// weights can be snapshotted by name, sent to a worker as ArrayBuffers and rebuilt there.
//
// Layout (layerNormPlacement 'pre', the default): token + position + segment embeddings -> dropout ->
// `layers` pre-LayerNorm blocks
//   x = x + Dropout(Attention(LN1(x)))     multi-head self-attention with a padding mask
//   x = x + Dropout(FFN(LN2(x)))           FFN = Linear(H, I) -> GELU -> Linear(I, H)
// -> final LayerNorm. Pre-LN (as in GPT-2 and most recent encoders; transformers' MegatronBertModel
// is this block exactly) rather than BERT's post-LN: with short warm-ups and the high learning rates
// that a few hundred steps in a browser need, post-LN diverges easily, while pre-LN trains stably.
// 'post' is BERT's own block, which public checkpoints (BertModel) need:
//   embeddings -> LN_emb -> dropout, then per block
//   x = LN1(x + Dropout(Attention(x)))
//   x = LN2(x + Dropout(FFN(x)))
// and no final LayerNorm. The weights of both are named alike (ln1, ln2 per block); pre-LN has
// `final_ln`, post-LN `embedding_ln` in its place (weight-shapes.ts mirrors this).
import * as tf from '@tensorflow/tfjs';
import type { RealmConfig } from './config';
import { PAD_ID, SEP_ID } from '../corpus/tokenizer';
import { dense, dropout, feedForward, layerNorm, residual, selfAttention } from './bert-ops';

export { dense, gelu, layerNorm } from './bert-ops';

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

/** The seed of one dropout draw, or null when this pass has no dropout there. */
function dropoutSeed(rate: number, ctx: ForwardCtx): number | null {
  return ctx.training && rate > 0 ? ctx.seed() : null;
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
  | 'layerNormPlacement'
  | 'geluVariant'
>;

/** True for BERT's post-LN block; a config stored before the option existed means pre-LN. */
export function isPostLayerNorm(cfg: Pick<RealmConfig, 'layerNormPlacement'>): boolean {
  return cfg.layerNormPlacement === 'post';
}

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
    const post = isPostLayerNorm(cfg);
    if (post) {
      store.ones(p('embedding_ln/gamma'), [h]);
      store.zeros(p('embedding_ln/beta'), [h]);
    }
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
    if (!post) {
      store.ones(p('final_ln/gamma'), [h]);
      store.zeros(p('final_ln/beta'), [h]);
    }
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
    const { heads, layerNormEps: eps } = this.cfg;
    const [n, len] = ids.shape;
    if (len > this.cfg.maxPositions) {
      throw new WeightsMismatchError(`input length ${len} exceeds maxPositions ${this.cfg.maxPositions}`);
    }
    return tf.tidy(() => {
      const positions = tf.range(0, len, 1, 'int32'); // [L]
      let x = tf.add(
        tf.add(gatherRows(this.w('token_embedding'), ids), gatherRows(this.w('position_embedding'), positions)),
        gatherRows(this.w('segment_embedding'), segments),
      ) as tf.Tensor3D; // [N, L, H]
      const post = isPostLayerNorm(this.cfg);
      const gelu = this.cfg.geluVariant ?? 'tanh';
      if (post) x = layerNorm(x, this.w('embedding_ln/gamma'), this.w('embedding_ln/beta'), eps);
      x = dropout(x, this.cfg.dropout, dropoutSeed(this.cfg.dropout, ctx));
      // Additive mask: 0 for real tokens, -1e9 for padding keys. [N, 1, 1, L]
      const keyMask = tf.mul(tf.sub(1, tf.cast(tf.notEqual(ids, PAD_ID), 'float32')), -1e9).reshape([n, 1, 1, len]);
      for (let l = 0; l < this.cfg.layers; l++) {
        const q = (name: string) => this.w(`layer${l}/${name}`);
        const ln1 = (t: tf.Tensor3D) => layerNorm(t, q('ln1/gamma'), q('ln1/beta'), eps);
        const ln2 = (t: tf.Tensor3D) => layerNorm(t, q('ln2/gamma'), q('ln2/beta'), eps);
        const attention = selfAttention(
          post ? x : ln1(x),
          {
            wq: q('attention/query/kernel'),
            bq: q('attention/query/bias'),
            wk: q('attention/key/kernel'),
            bk: q('attention/key/bias'),
            wv: q('attention/value/kernel'),
            bv: q('attention/value/bias'),
          },
          heads,
          keyMask,
          this.cfg.attentionDropout,
          dropoutSeed(this.cfg.attentionDropout, ctx),
        ); // [N, L, H]
        const attnOut = dense(attention, q('attention/output/kernel'), q('attention/output/bias'));
        x = residual(x, attnOut, this.cfg.dropout, dropoutSeed(this.cfg.dropout, ctx));
        if (post) x = ln1(x);
        const ff = feedForward(
          post ? x : ln2(x),
          q('ffn/in/kernel'),
          q('ffn/in/bias'),
          q('ffn/out/kernel'),
          q('ffn/out/bias'),
          gelu,
        ); // [N, L, H]
        x = residual(x, ff, this.cfg.dropout, dropoutSeed(this.cfg.dropout, ctx));
        if (post) x = ln2(x);
      }
      return post ? x : layerNorm(x, this.w('final_ln/gamma'), this.w('final_ln/beta'), eps);
    });
  }
}

/** Rounds a sequence length up to a bucket (multiples of 16) so GPU buffers are reused across steps. */
/** The padded length padBatch uses for rows of up to `len` tokens: a multiple of 16, at most max. */
export function bucketLength(len: number, max: number, multiple = 16): number {
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
