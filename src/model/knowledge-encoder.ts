// The knowledge-augmented encoder (docs/realm.md): BERT over `[CLS] x [SEP] z_title [SEP] z_body [SEP]`
// with an MLM head on the masked positions, p(y_j|z,x) = softmax(W h_j). The head is BERT's:
// Linear(H, H) -> GELU (the config's variant) -> LayerNorm, then the output layer tied to the input token embeddings, plus a
// per-token bias.
import * as tf from '@tensorflow/tfjs';
import { BertEncoder, dense, gatherRows, gelu, layerNorm, ParamStore, type ForwardCtx } from './bert';
import { SEP_ID, CLS_ID } from '../corpus/tokenizer';
import type { RealmConfig } from './config';

export class KnowledgeAugmentedEncoder {
  readonly encoder: BertEncoder;

  constructor(
    readonly cfg: RealmConfig,
    private readonly store: ParamStore,
    readonly prefix = 'reader',
  ) {
    this.encoder = new BertEncoder(prefix, cfg, store);
    store.normal(`${prefix}/mlm/transform/kernel`, [cfg.hidden, cfg.hidden], cfg.initStd);
    store.zeros(`${prefix}/mlm/transform/bias`, [cfg.hidden]);
    store.ones(`${prefix}/mlm/ln/gamma`, [cfg.hidden]);
    store.zeros(`${prefix}/mlm/ln/beta`, [cfg.hidden]);
    store.zeros(`${prefix}/mlm/output_bias`, [cfg.vocabSize]);
  }

  /**
   * ids, segments [N, L]; positions [N, M] int32 (masked positions, padded with 0).
   * Returns MLM logits at those positions, [N, M, V].
   */
  mlmLogits(ids: tf.Tensor2D, segments: tf.Tensor2D, positions: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor3D {
    return tf.tidy(() => {
      const [n, len] = ids.shape;
      const m = positions.shape[1];
      const h = this.encoder.forward(ids, segments, ctx); // [N, L, H]
      const rowStart = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(len, 'int32')).reshape([n, 1]); // [N, 1]
      const flatPos = tf.add(positions, rowStart).reshape([-1]); // [N*M]
      const hm = gatherRows(h.reshape([n * len, this.cfg.hidden]), flatPos); // [N*M, H]
      const p = (name: string) => this.store.get(`${this.prefix}/mlm/${name}`);
      const t = layerNorm(
        gelu(dense(hm, p('transform/kernel'), p('transform/bias')), this.cfg.geluVariant ?? 'tanh'),
        p('ln/gamma'),
        p('ln/beta'),
        this.cfg.layerNormEps,
      ); // [N*M, H]
      const logits = tf.add(tf.matMul(t, this.encoder.tokenEmbedding(), false, true), p('output_bias')); // [N*M, V]
      return logits.reshape([n, m, this.cfg.vocabSize]);
    });
  }
}

/**
 * Builds the reader input `[CLS] x [SEP] z_title [SEP] z_body [SEP]` from a query `[CLS] x [SEP]` and a
 * document `[CLS] title [SEP] body [SEP]` (the document's own [CLS] is dropped). The query comes first,
 * so mask positions are unchanged; the document body is cut so the whole fits in maxLen.
 */
export function readerInput(query: ArrayLike<number>, doc: ArrayLike<number>, maxLen: number): Int32Array {
  const q = Array.from(query);
  if (q[q.length - 1] !== SEP_ID || q[0] !== CLS_ID) throw new Error('readerInput: the query must be [CLS] x [SEP]');
  const d = Array.from(doc).slice(1); // title [SEP] body [SEP]
  const room = maxLen - q.length;
  if (room < 2) throw new Error(`readerInput: the query (${q.length} tokens) leaves no room for a document in ${maxLen}`);
  const body = d.length <= room ? d : [...d.slice(0, room - 1), SEP_ID];
  return Int32Array.from([...q, ...body]);
}
