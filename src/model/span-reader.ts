// ORQA's span reader (Lee et al. 2019, REALM's Open-QA fine-tuning; issue #34). The knowledge-augmented
// encoder reads `[CLS] x [SEP] z_title [SEP] z_body [SEP]`; every span (s, e) of 1..MAX_SPAN_WIDTH
// wordpieces that lies inside z_body gets
//   S_read(s, e) = w · LayerNorm(ReLU(W_start h_s + b_start + W_end h_e + b_end)) + b
// and the joint score of (z, span) is S_read + S_retr(z, x), the document's retrieval score, so a
// softmax over every (document, span) pair of a question is p(z, span | x). Spans that start or end
// outside the body (the question, the title, any [CLS]/[SEP], padding) get MASKED_SPAN_SCORE added,
// as ORQA does, so they weigh exp(-10000) = 0 in every softmax. The span width H_span is the encoder's
// hidden width (ORQA: 256 over BERT-base's 768). Weights live under `span/` and exist only in a model
// whose config has spanReader: true.
import * as tf from '@tensorflow/tfjs';
import { SEP_ID } from '../corpus/tokenizer';
import { dense, gatherRows, layerNorm, type ForwardCtx, type ParamStore } from './bert';
import type { RealmConfig } from './config';
import type { KnowledgeAugmentedEncoder } from './knowledge-encoder';

/** Longest answer span in wordpieces (ORQA's max_span_width). */
export const MAX_SPAN_WIDTH = 10;
/** Added to the score of a span outside the document body (ORQA's mask_to_score). */
export const MASKED_SPAN_SCORE = -10000;

/** Every span of a row of length L: starts[i]..ends[i] inclusive, by width then start (ORQA's order). [S] each. */
export interface SpanCandidates {
  starts: Int32Array;
  ends: Int32Array;
}

/** The candidate spans of rows of `length` tokens: widths 1..maxSpanWidth, S = sum_w (L - w + 1). */
export function spanCandidates(length: number, maxSpanWidth = MAX_SPAN_WIDTH): SpanCandidates {
  if (!Number.isInteger(length) || length < 1) throw new Error(`spanCandidates: length (${length}) must be a whole number >= 1`);
  if (!Number.isInteger(maxSpanWidth) || maxSpanWidth < 1)
    throw new Error(`spanCandidates: maxSpanWidth (${maxSpanWidth}) must be a whole number >= 1`);
  const starts: number[] = [];
  const ends: number[] = [];
  for (let w = 1; w <= Math.min(maxSpanWidth, length); w++)
    for (let s = 0; s + w <= length; s++) {
      starts.push(s);
      ends.push(s + w - 1);
    }
  return { starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
}

/** Positions [start, end) of z_body in a reader input `[CLS] x [SEP] z_title [SEP] z_body [SEP]`. */
export interface BodyRange {
  start: number;
  end: number;
}

/** Finds z_body: after the second [SEP], before the third. Throws when the input has fewer than three. */
export function documentBody(readerIds: ArrayLike<number>): BodyRange {
  const seps: number[] = [];
  for (let i = 0; i < readerIds.length && seps.length < 3; i++) if (readerIds[i] === SEP_ID) seps.push(i);
  if (seps.length < 3)
    throw new Error(
      `documentBody: a reader input is [CLS] question [SEP] title [SEP] body [SEP], but this one has ${seps.length} [SEP] (build it with readerInput)`,
    );
  return { start: seps[1] + 1, end: seps[2] };
}

/** 1 for each candidate span that lies inside z_body (both ends), else 0. [S] */
export function spanMask(readerIds: ArrayLike<number>, candidates: SpanCandidates): Float32Array {
  const { start, end } = documentBody(readerIds);
  const out = new Float32Array(candidates.starts.length);
  for (let i = 0; i < out.length; i++) out[i] = candidates.starts[i] >= start && candidates.ends[i] < end ? 1 : 0;
  return out;
}

/** ORQA's span scorer over the knowledge-augmented encoder's token states. */
export class SpanReader {
  constructor(
    readonly cfg: RealmConfig,
    private readonly store: ParamStore,
    readonly prefix = 'span',
  ) {
    const h = cfg.hidden;
    for (const side of ['start', 'end']) {
      store.normal(`${prefix}/${side}/kernel`, [h, h], cfg.initStd);
      store.zeros(`${prefix}/${side}/bias`, [h]);
    }
    store.ones(`${prefix}/ln/gamma`, [h]);
    store.zeros(`${prefix}/ln/beta`, [h]);
    store.normal(`${prefix}/output/kernel`, [h, 1], cfg.initStd);
    store.zeros(`${prefix}/output/bias`, [1]);
  }

  /** The names of the span scorer's weights (for an optimiser's parameter groups). */
  paramNames(): string[] {
    return [...this.store.vars.keys()].filter((n) => n.startsWith(`${this.prefix}/`));
  }

  /**
   * tokenStates [N, L, H] of the reader inputs; candidates over L; mask [N, S] (spanMask per row);
   * retrievalScores [N] = S_retr(z, x) of each row's document; returns the span logits [N, S]:
   * S_read + S_retr, with MASKED_SPAN_SCORE added outside the body.
   */
  spanLogits(tokenStates: tf.Tensor3D, candidates: SpanCandidates, mask: tf.Tensor2D, retrievalScores: tf.Tensor1D): tf.Tensor2D {
    const [n, len, h] = tokenStates.shape;
    const s = candidates.starts.length;
    if (mask.shape[0] !== n || mask.shape[1] !== s)
      throw new Error(`spanLogits: the span mask is [${mask.shape.join(', ')}], expected [${n}, ${s}]`);
    if (retrievalScores.shape[0] !== n)
      throw new Error(`spanLogits: ${retrievalScores.shape[0]} retrieval scores for ${n} reader inputs`);
    if (s > 0 && Math.max(...candidates.ends) >= len)
      throw new Error(`spanLogits: a candidate span ends past the ${len} token states (use spanCandidates(${len}))`);
    return tf.tidy(() => {
      const p = (name: string) => this.store.get(`${this.prefix}/${name}`);
      const startProjection = dense(tokenStates, p('start/kernel'), p('start/bias')); // [N, L, H]
      const endProjection = dense(tokenStates, p('end/kernel'), p('end/bias')); // [N, L, H]
      // Rows n*L + start (and + end) of the flattened projections; gatherRows, not tf.gather, so the
      // gradient exists on wasm (bert.ts).
      const rowStart = tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(len, 'int32')).reshape([n, 1]); // [N, 1]
      const startIdx = tf.add(rowStart, tf.tensor2d(candidates.starts, [1, s], 'int32')); // [N, S]
      const endIdx = tf.add(rowStart, tf.tensor2d(candidates.ends, [1, s], 'int32')); // [N, S]
      const candidateHidden = tf.relu(
        tf.add(
          gatherRows(startProjection.reshape([n * len, h]), startIdx),
          gatherRows(endProjection.reshape([n * len, h]), endIdx),
        ),
      ); // [N, S, H]
      const normed = layerNorm(candidateHidden, p('ln/gamma'), p('ln/beta'), this.cfg.layerNormEps); // [N, S, H]
      const readerLogits = dense(normed.reshape([n * s, h]), p('output/kernel'), p('output/bias')).reshape([n, s]); // [N, S]
      const maskScore = tf.mul(tf.sub(1, mask), MASKED_SPAN_SCORE); // [N, S]
      return tf.add(tf.add(readerLogits, maskScore), retrievalScores.reshape([n, 1])) as tf.Tensor2D; // [N, S]
    });
  }

  /**
   * The whole reader: the knowledge-augmented encoder over ids, segments [N, L] (padBatch of
   * readerInput rows), then spanLogits. Returns the span logits [N, S] for spanCandidates(L).
   */
  read(
    encoder: KnowledgeAugmentedEncoder,
    ids: tf.Tensor2D,
    segments: tf.Tensor2D,
    candidates: SpanCandidates,
    mask: tf.Tensor2D,
    retrievalScores: tf.Tensor1D,
    ctx: ForwardCtx,
  ): tf.Tensor2D {
    return tf.tidy(() => {
      const tokenStates = encoder.encoder.forward(ids, segments, ctx) as tf.Tensor3D; // [N, L, H]
      return this.spanLogits(tokenStates, candidates, mask, retrievalScores); // [N, S]
    });
  }
}
