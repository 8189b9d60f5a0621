// The retriever: Embed_input(x) and Embed_doc(z) (docs/realm.md, "The model"). Each is a BERT encoder whose
// [CLS] vector is projected linearly to d dimensions and LayerNorm-ed; f(x, z) = Embed_input(x) . Embed_doc(z).
// `DocEmbedder` rebuilds Embed_doc alone from a weight snapshot, for the index builder in a worker.
import * as tf from '@tensorflow/tfjs';
import { BertEncoder, dense, layerNorm, padBatch, ParamStore, EVAL_CTX, type ForwardCtx, type NamedWeights } from './bert';
import { CLS_ID, SEP_ID } from '../corpus/tokenizer';
import type { RealmConfig } from './config';

export class Retriever {
  constructor(
    readonly prefix: string,
    readonly encoder: BertEncoder,
    readonly cfg: RealmConfig,
    private readonly store: ParamStore,
  ) {
    store.normal(`${prefix}/projection/kernel`, [cfg.hidden, cfg.retrieverDim], cfg.initStd);
    store.zeros(`${prefix}/projection/bias`, [cfg.retrieverDim]);
    store.ones(`${prefix}/projection_ln/gamma`, [cfg.retrieverDim]);
    store.zeros(`${prefix}/projection_ln/beta`, [cfg.retrieverDim]);
  }

  /** Names of every parameter this embedder reads (its encoder's and its projection's). */
  paramNames(): string[] {
    return [...this.store.names(`${this.encoder.prefix}/`), ...this.store.names(`${this.prefix}/projection`)];
  }

  /** ids, segments [N, L] -> [N, d]: LayerNorm(W h_[CLS] + b). */
  embed(ids: tf.Tensor2D, segments: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    return tf.tidy(() => {
      const h = this.encoder.forward(ids, segments, ctx); // [N, L, H]
      const cls = h.slice([0, 0, 0], [-1, 1, -1]).reshape([ids.shape[0], this.cfg.hidden]); // [N, H]
      const p = dense(cls, this.store.get(`${this.prefix}/projection/kernel`), this.store.get(`${this.prefix}/projection/bias`)); // [N, d]
      return layerNorm(
        p,
        this.store.get(`${this.prefix}/projection_ln/gamma`),
        this.store.get(`${this.prefix}/projection_ln/beta`),
        this.cfg.layerNormEps,
      ) as tf.Tensor2D;
    });
  }

  /**
   * Embeds token rows (each `[CLS] title [SEP] body [SEP]`, or `[CLS] x [SEP]`) in inference mode, in
   * batches of rows sorted by length and padded to bucketed lengths. Returns [n, d] in input order.
   */
  embedRows(rows: ArrayLike<number>[], maxLen: number, batchSize = 64): tf.Tensor2D {
    if (rows.length === 0) return tf.zeros([0, this.cfg.retrieverDim]) as tf.Tensor2D;
    const order = rows
      .map((r, i) => [r.length, i])
      .sort((a, b) => a[0] - b[0] || a[1] - b[1])
      .map((x) => x[1]);
    const parts: tf.Tensor2D[] = [];
    for (let s = 0; s < order.length; s += batchSize) {
      const slice = order.slice(s, s + batchSize);
      parts.push(
        tf.tidy(() => {
          const { ids, segments } = padBatch(
            slice.map((i) => rows[i]),
            maxLen,
          );
          return this.embed(ids, segments, EVAL_CTX); // [b, d]
        }),
      );
    }
    const out = tf.tidy(() => {
      const sorted = tf.concat(parts, 0); // [n, d] in sorted order
      const inverse = new Int32Array(order.length);
      order.forEach((row, pos) => (inverse[row] = pos));
      return tf.gather(sorted, tf.tensor1d(inverse, 'int32')) as tf.Tensor2D; // [n, d]
    });
    tf.dispose(parts);
    return out;
  }
}

/** The null document's tokens: `[CLS] [SEP] [SEP]` (empty title and body). */
export const NULL_DOC_TOKENS = Int32Array.from([CLS_ID, SEP_ID, SEP_ID]);

/** Names of the Embed_doc parameters for a config (the encoder is Embed_input's when shared). */
export function docEmbedderPrefixes(cfg: RealmConfig): { encoder: string; projection: string } {
  return { encoder: cfg.shareRetrieverWeights ? 'embed_input' : 'embed_doc', projection: 'embed_doc' };
}

/**
 * Embed_doc on its own, rebuilt from a snapshot of the trainer's weights (`snapshotDocEncoder`), e.g.
 * in the index-builder worker. Owns its variables: call `dispose()`.
 */
export class DocEmbedder {
  private readonly retriever: Retriever;

  private constructor(
    readonly cfg: RealmConfig,
    private readonly store: ParamStore,
  ) {
    const { encoder, projection } = docEmbedderPrefixes(cfg);
    this.retriever = new Retriever(projection, new BertEncoder(encoder, cfg, store), cfg, store);
  }

  static fromWeights(cfg: RealmConfig, weights: NamedWeights): DocEmbedder {
    const store = new ParamStore();
    const e = new DocEmbedder(cfg, store);
    const expected = new Set(e.retriever.paramNames());
    const given = new Set(weights.map((w) => w.name));
    const missing = [...expected].filter((n) => !given.has(n));
    if (missing.length > 0) {
      store.dispose();
      throw new Error(
        `DocEmbedder.fromWeights: the snapshot lacks ${missing.length} weights (first: ${missing[0]}); send snapshotDocEncoder(model) of a model with this config`,
      );
    }
    store.load(weights.filter((w) => expected.has(w.name)));
    return e;
  }

  /** tokenIds: `[CLS] title [SEP] body [SEP]` per document -> [n, d]. */
  embed(tokenIds: ArrayLike<number>[], batchSize = 64): tf.Tensor2D {
    return this.retriever.embedRows(tokenIds, this.cfg.maxDocLength, batchSize);
  }

  dispose(): void {
    this.store.dispose();
  }
}
