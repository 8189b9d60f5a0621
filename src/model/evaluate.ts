// Held-out evaluation: cloze accuracy with retrieval (argmax of the marginal sum_z p(z|x) p(y|z,x))
// against the same model reading only the null document (p(y|null,x)), and recall@5: the share of
// held-out queries with a passage holding the answer among the top 5 retrieved (the query's own
// passage excluded, as in training). Beside the accuracies, the continuous measure REALM logs: the
// held-out retrieval utility, per query mean_j [log sum_z p(z|x) p(y_j|z,x) - log p(y_j|null,x)]
// (per-mask, whatever the training marginalisation), with the counts of queries it helps and hurts.
// A reader trained with p(null) near 0 may simply do worse on the null document than on any document,
// so the evaluation can also be run on RandomRetrieval: the same model, k-1 uniformly random passages.
// Retrieved minus random tells whether the retrieved documents carry information.
import * as tf from '@tensorflow/tfjs';
import { EVAL_CTX } from './bert';
import { containsSpan, trivialCandidate, type ClozeQuery, type DocumentStore } from '../corpus/data';
import type { MipsIndex, MipsSearchResult } from './mips';
import { maskValidity, realmLoss } from './realm-loss';
import type { RealmModel } from './realm-model';
import type { Rng } from '../corpus/rng';
import { cutQuery, disposeBatch, prepareRealmBatch, realmForward } from './realm-step';

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
  /** Mean over queries of the per-mask log p(y|x) with retrieval, and with the null document only (nats per answer token). */
  logLikelihood: number;
  logLikelihoodNullOnly: number;
  /** Held-out retrieval utility per query (logLikelihood minus its null-only value), in query order. */
  utilities: number[];
}

/** `logLikelihood`: also compute the log-likelihoods and utilities (the benches; the page skips them, NaN and []). */
export async function evaluateCloze(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  queries: readonly ClozeQuery[],
  batchSize = 16,
  opts: { logLikelihood?: boolean } = {},
): Promise<ClozeEval> {
  let right = 0;
  let rightNull = 0;
  let tok = 0;
  let tokNull = 0;
  let masks = 0;
  let hits = 0;
  let logLik = 0;
  let logLikNull = 0;
  const utilities: number[] = [];
  for (let s = 0; s < queries.length; s += batchSize) {
    const qs = queries.slice(s, s + batchSize);
    const batch = await prepareRealmBatch(model, index, docs, qs);
    const predicted = tf.tidy(() => {
      const fwd = realmForward(model, batch, EVAL_CTX);
      const terms = opts.logLikelihood ? realmLoss(fwd.retrievalScores, fwd.mlmLogits, batch.targets, 'per-mask') : null;
      const pz = tf.softmax(fwd.retrievalScores, -1); // [B, k]
      const probs = tf.softmax(fwd.mlmLogits, -1); // [B, k, M, V]
      const marg = tf.sum(tf.mul(pz.reshape([batch.b, batch.k, 1, 1]), probs), 1); // [B, M, V]
      const nul = fwd.mlmLogits.slice([0, 0, 0, 0], [batch.b, 1, -1, -1]).squeeze([1]); // [B, M, V]
      return [tf.argMax(marg, -1), tf.argMax(nul, -1), ...(terms ? [terms.logLikelihood, terms.retrievalUtility] : [])]; // [B, M] x 2, [B] x 2
    });
    const [marginal, nullOnly] = (await Promise.all(predicted.slice(0, 2).map((t) => t.array()))) as number[][][];
    const [rowLogLik, rowUtility] = (await Promise.all(predicted.slice(2).map((t) => t.array()))) as number[][];
    tf.dispose(predicted);
    const validMasks = maskValidity(batch.targets, batch.b, batch.m).counts; // per row
    qs.forEach((_q, i) => {
      if (rowLogLik && validMasks[i] > 0) {
        logLik += rowLogLik[i];
        logLikNull += rowLogLik[i] - rowUtility[i];
        utilities.push(rowUtility[i]);
      }
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
    logLikelihood: utilities.length > 0 ? logLik / utilities.length : NaN,
    logLikelihoodNullOnly: utilities.length > 0 ? logLikNull / utilities.length : NaN,
    utilities,
  };
}

/** How many queries have a passage containing their answer among the top `k` retrieved. */
export async function recallHits(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  queries: readonly ClozeQuery[],
  k = 5,
): Promise<number> {
  return (await answerRanks(model, index, docs, queries, k)).ranks.filter((r) => r !== null).length;
}

/**
 * Per query, the 1-based rank of the best-placed passage holding its answer among the top `depth`
 * retrieved (the trivial candidate excluded, as in training; null when none of them holds it), and
 * each query's top `depth` rows. With depth = index.size - 1 this ranks the whole corpus: a change of
 * rank shows a retriever moving answer passages before they cross into the top 5.
 */
export async function answerRanks(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  queries: readonly ClozeQuery[],
  depth = 5,
): Promise<{ ranks: (number | null)[]; rows: number[][] }> {
  const trivial = queries.map((q) => trivialCandidate(model.config.trivialExclusion, docs, q));
  const found = tf.tidy(() => {
    const qEmb = model.embedInput.embedRows(
      queries.map((q) => cutQuery(q.inputIds, model.config.maxQueryLength)),
      model.config.maxQueryLength,
    ); // [B, d]
    const { indices, scores } = index.search(
      qEmb,
      Math.min(depth, index.size - 1),
      trivial.map((t) => t.excludeId),
    );
    scores.dispose();
    return indices; // [B, depth], best first
  });
  const rows = (await found.array()) as number[][];
  found.dispose();
  const ranks = queries.map((q, i) => {
    const at = rows[i].findIndex((r) => containsSpan(trivial[i].tokensOf(r), q.answer));
    return at < 0 ? null : at + 1;
  });
  return { ranks, rows };
}

/**
 * The control for the MIPS index: `search` returns k distinct uniformly random rows per query (never the
 * excluded id), with zero scores (the REALM step re-scores them with the current embedders anyway).
 */
export class RandomRetrieval implements MipsIndex {
  readonly dim = 0;
  readonly version = -1;

  constructor(
    readonly ids: readonly string[],
    private readonly rng: Rng,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  search(queries: tf.Tensor2D, k: number, excludeIds?: readonly (string | null)[]): MipsSearchResult {
    const b = queries.shape[0];
    const rows = new Int32Array(b * k);
    for (let i = 0; i < b; i++) {
      const excluded = excludeIds?.[i] ?? null;
      const chosen = new Set<number>();
      const allowed = this.ids.filter((id) => id !== excluded).length;
      if (allowed < k) throw new Error(`RandomRetrieval: ${k} rows asked, ${allowed} allowed`);
      while (chosen.size < k) {
        const r = this.rng.int(this.ids.length);
        if (this.ids[r] !== excluded) chosen.add(r);
      }
      rows.set([...chosen], i * k);
    }
    return { indices: tf.tensor2d(rows, [b, k], 'int32'), scores: tf.zeros([b, k]) };
  }

  dispose(): void {}
}
