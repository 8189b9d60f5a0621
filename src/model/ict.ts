// The Inverse Cloze Task warm start of both embedders (docs/realm.md, bias 4; ORQA): a random sentence of
// a passage is the pseudo-query; with probability ictRemoveProbability it is removed from the passage;
// the other passages of the batch are the negatives. Loss: softmax cross-entropy over the batch.
import * as tf from '@tensorflow/tfjs';
import { padBatch, type ForwardCtx } from './bert';
import { CLS_ID, SEP_ID } from '../corpus/tokenizer';
import type { RealmConfig } from './config';
import { docTokens, type TokenizedPassage } from '../corpus/data';
import type { RealmModel } from './realm-model';
import { cutQuery } from './realm-step';
import { type RealmQuery } from '../corpus/data';
import type { Rng } from '../corpus/rng';

export interface IctBatch {
  queries: number[][]; // [CLS] sentence [SEP]
  passages: Int32Array[]; // [CLS] title [SEP] body (maybe without the sentence) [SEP]
}

/**
 * One ICT batch. `maskedQueries(row)`, when given, lists the passage's masked REALM queries: with
 * probability cfg.ictMaskedQueryProbability one of them (its salient span already [MASK]ed) is the
 * pseudo-query instead of a plain sentence, and its sentence is the one removed.
 */
export function makeIctBatch(
  passages: readonly TokenizedPassage[],
  rows: readonly number[],
  rng: Rng,
  cfg: RealmConfig,
  removeProbability = cfg.ictRemoveProbability,
  maskedQueries?: (row: number) => readonly RealmQuery[],
): IctBatch {
  const queries: number[][] = [];
  const docs: Int32Array[] = [];
  for (const row of rows) {
    const p = passages[row];
    const masked =
      maskedQueries && cfg.ictMaskedQueryProbability > 0 ? maskedQueries(row).filter((q) => q.sourceSentence !== undefined) : [];
    let s: number;
    if (masked.length > 0 && rng.next() < cfg.ictMaskedQueryProbability) {
      const q = masked[rng.int(masked.length)];
      s = q.sourceSentence!;
      queries.push(cutQuery(q.inputIds, cfg.maxQueryLength));
    } else {
      s = rng.int(p.sentences.length);
      const sentence = p.sentences[s].slice(0, cfg.maxQueryLength - 2);
      queries.push([CLS_ID, ...sentence, SEP_ID]);
    }
    const remove = p.sentences.length > 1 && rng.next() < removeProbability;
    docs.push(docTokens(p, cfg.maxDocLength, remove ? s : -1));
  }
  return { queries, passages: docs };
}

/** ICT loss and in-batch accuracy: scores [B, B] = Embed_input(q) . Embed_doc(p)^T, labels on the diagonal. */
export function ictLoss(model: RealmModel, batch: IctBatch, ctx: ForwardCtx): { loss: tf.Scalar; accuracy: tf.Scalar } {
  return tf.tidy(() => {
    const q = padBatch(batch.queries, model.config.maxQueryLength);
    const p = padBatch(batch.passages, model.config.maxDocLength);
    const qEmb = model.embedInput.embed(q.ids, q.segments, ctx); // [B, d]
    const pEmb = model.embedDoc.embed(p.ids, p.segments, ctx); // [B, d]
    const scores = tf.matMul(qEmb, pEmb, false, true); // [B, B]
    const b = batch.queries.length;
    const labels = tf.oneHot(tf.range(0, b, 1, 'int32'), b); // [B, B]
    const loss = tf.losses.softmaxCrossEntropy(labels, scores) as tf.Scalar;
    const accuracy = tf.mean(tf.cast(tf.equal(tf.argMax(scores, 1), tf.range(0, b, 1, 'int32')), 'float32')) as tf.Scalar;
    return { loss, accuracy };
  });
}

/**
 * ICT recall@1 and @5 on held-out passages: each passage's pseudo-query (a random sentence, always
 * removed from the passage) against all held-out passages.
 */
export async function ictRecall(
  model: RealmModel,
  passages: readonly TokenizedPassage[],
  rows: readonly number[],
  rng: Rng,
): Promise<{ recallAt1: number; recallAt5: number }> {
  if (rows.length === 0) return { recallAt1: NaN, recallAt5: NaN };
  const batch = makeIctBatch(passages, rows, rng, model.config, 1);
  const k = Math.min(5, rows.length);
  const found = tf.tidy(() => {
    const qEmb = model.embedInput.embedRows(batch.queries, model.config.maxQueryLength); // [n, d]
    const pEmb = model.embedDoc.embedRows(batch.passages, model.config.maxDocLength); // [n, d]
    const scores = tf.matMul(qEmb, pEmb, false, true); // [n, n]
    return tf.topk(scores, k).indices; // [n, k]
  });
  const top = (await found.array()) as number[][];
  found.dispose();
  let r1 = 0;
  let r5 = 0;
  top.forEach((t, i) => {
    if (t[0] === i) r1++;
    if (t.includes(i)) r5++;
  });
  return { recallAt1: r1 / rows.length, recallAt5: r5 / rows.length };
}
