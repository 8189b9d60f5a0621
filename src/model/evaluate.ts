// Held-out evaluation: cloze accuracy with retrieval (argmax of the marginal sum_z p(z|x) p(y|z,x))
// against the same model reading only the null document (p(y|null,x)), and recall@5: the share of
// held-out queries with a passage holding the answer among the top 5 retrieved (the query's own
// passage excluded, as in training).
import * as tf from '@tensorflow/tfjs';
import { EVAL_CTX } from './bert';
import { containsSpan, type ClozeQuery } from './data';
import type { MipsIndex } from './mips';
import type { RealmModel } from './realm-model';
import { cutQuery, disposeBatch, prepareRealmBatch, realmForward, trivialCandidate, type DocumentStore } from './realm-step';

export interface ClozeEval {
  /** Share of queries whose every masked token is predicted right, with retrieval. */
  clozeAccuracy: number;
  /** The same with the null document only. */
  clozeAccuracyNullOnly: number;
  /** Token-level accuracies, with retrieval and null-only. */
  tokenAccuracy: number;
  tokenAccuracyNullOnly: number;
  recallAt5: number;
  queries: number;
}

export async function evaluateCloze(model: RealmModel, index: MipsIndex, docs: DocumentStore, queries: readonly ClozeQuery[], batchSize = 16): Promise<ClozeEval> {
  let right = 0;
  let rightNull = 0;
  let tok = 0;
  let tokNull = 0;
  let masks = 0;
  let hits = 0;
  for (let s = 0; s < queries.length; s += batchSize) {
    const qs = queries.slice(s, s + batchSize);
    const batch = await prepareRealmBatch(model, index, docs, qs);
    const predicted = tf.tidy(() => {
      const fwd = realmForward(model, batch, EVAL_CTX);
      const pz = tf.softmax(fwd.retrievalScores, -1); // [B, k]
      const probs = tf.softmax(fwd.mlmLogits, -1); // [B, k, M, V]
      const marg = tf.sum(tf.mul(pz.reshape([batch.b, batch.k, 1, 1]), probs), 1); // [B, M, V]
      const nul = fwd.mlmLogits.slice([0, 0, 0, 0], [batch.b, 1, -1, -1]).squeeze([1]); // [B, M, V]
      return [tf.argMax(marg, -1), tf.argMax(nul, -1)]; // [B, M] each
    });
    const [marginal, nullOnly] = (await Promise.all(predicted.map((t) => t.array()))) as number[][][];
    tf.dispose(predicted);
    qs.forEach((_q, i) => {
      let all = true;
      let allNull = true;
      for (let j = 0; j < batch.m; j++) {
        const t = batch.targets[i * batch.m + j];
        if (t < 0) continue;
        masks++;
        if (marginal[i][j] === t) tok++;
        else all = false;
        if (nullOnly[i][j] === t) tokNull++;
        else allNull = false;
      }
      if (all) right++;
      if (allNull) rightNull++;
    });
    disposeBatch(batch);
    hits += await recallHits(model, index, docs, qs, 5);
  }
  const n = Math.max(1, queries.length);
  return {
    clozeAccuracy: right / n,
    clozeAccuracyNullOnly: rightNull / n,
    tokenAccuracy: tok / Math.max(1, masks),
    tokenAccuracyNullOnly: tokNull / Math.max(1, masks),
    recallAt5: hits / n,
    queries: queries.length,
  };
}

/** How many queries have a passage containing their answer among the top `k` retrieved. */
export async function recallHits(model: RealmModel, index: MipsIndex, docs: DocumentStore, queries: readonly ClozeQuery[], k = 5): Promise<number> {
  const trivial = queries.map((q) => trivialCandidate(model.config.trivialExclusion, docs, q));
  const found = tf.tidy(() => {
    const qEmb = model.embedInput.embedRows(
      queries.map((q) => cutQuery(q.inputIds, model.config.maxQueryLength)),
      model.config.maxQueryLength,
    ); // [B, d]
    const { indices, scores } = index.search(qEmb, Math.min(k, index.size - 1), trivial.map((t) => t.excludeId));
    scores.dispose();
    return indices; // [B, k]
  });
  const rows = (await found.array()) as number[][];
  found.dispose();
  let hits = 0;
  queries.forEach((q, i) => {
    if (rows[i].some((r) => containsSpan(trivial[i].tokensOf(r), q.answer))) hits++;
  });
  return hits;
}

/**
 * Expected recall@k of retrieving k passages uniformly at random among the candidates the search may
 * return (every passage but the query's own; with trivialExclusion 'sentence', its own passage too,
 * seen without the query sentence): the floor a trained retriever's recall@k must be compared
 * against (an answer such as a country name sits in many passages, so this is far from 0).
 */
export function chanceRecallAtK(docs: DocumentStore, queries: readonly ClozeQuery[], k = 5, mode: 'passage' | 'sentence' = 'passage'): number {
  if (queries.length === 0) return NaN;
  let sum = 0;
  for (const q of queries) {
    const { excludeId, tokensOf } = trivialCandidate(mode, docs, q);
    let n = 0;
    let holding = 0;
    docs.ids.forEach((id, r) => {
      if (id === excludeId) return;
      n++;
      if (containsSpan(tokensOf(r), q.answer)) holding++;
    });
    let miss = 1;
    for (let i = 0; i < Math.min(k, n); i++) miss *= Math.max(0, n - holding - i) / (n - i);
    sum += 1 - miss;
  }
  return sum / queries.length;
}
