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
import { containsSpan, type ClozeQuery } from '../corpus/data';
import type { MipsIndex, MipsSearchResult } from './mips';
import { maskValidity, realmLoss } from './realm-loss';
import type { RealmModel } from './realm-model';
import type { Rng } from '../corpus/rng';
import { cutQuery, disposeBatch, prepareRealmBatch, realmForward } from './realm-step';
import { trivialCandidate, type DocumentStore } from '../corpus/data';

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

/** Mean, standard error, and the counts of positive and negative values of per-query utilities. */
export function utilitySummary(u: readonly number[]): { mean: number; standardError: number; helped: number; hurt: number } {
  const n = u.length;
  const mean = n > 0 ? u.reduce((a, b) => a + b, 0) / n : NaN;
  const variance = n > 1 ? u.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : NaN;
  return {
    mean,
    standardError: Math.sqrt(variance / n),
    helped: u.filter((x) => x > 0).length,
    hurt: u.filter((x) => x < 0).length,
  };
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
 * Expected recall@k of retrieving k passages uniformly at random among the candidates the search may
 * return (every passage but the query's own; with trivialExclusion 'sentence', its own passage too,
 * seen without the query sentence): the floor a trained retriever's recall@k must be compared
 * against (an answer such as a country name sits in many passages, so this is far from 0).
 */
export function chanceRecallAtK(
  docs: DocumentStore,
  queries: readonly ClozeQuery[],
  k = 5,
  mode: 'passage' | 'sentence' = 'passage',
): number {
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
    sum += chanceOfHit(n, holding, k);
  }
  return sum / queries.length;
}

/** Per passage (row), how many of `queries` have their answer in it: [N]. */
export function answerHoldingCounts(docs: DocumentStore, queries: readonly { answer: ArrayLike<number> }[]): number[] {
  return docs.tokens.map((t) => queries.filter((q) => containsSpan(t, q.answer)).length);
}

/**
 * Recall@k of a retriever that ignores the query: every query gets the k passages (its trivial
 * candidate left out) that hold the answers of the most `seen` queries (training queries; ties by row).
 * On a corpus where a few passages list many answers (countries, years) this is far above
 * chanceRecallAtK, and a retriever that collapses onto such hubs reaches it without reading the query:
 * the floor a rise in recall@k must clear to show query-dependent retrieval.
 */
export function answerPriorRecallAtK(
  docs: DocumentStore,
  seen: readonly { answer: ArrayLike<number> }[],
  queries: readonly ClozeQuery[],
  k = 5,
  mode: 'passage' | 'sentence' = 'passage',
): number {
  if (queries.length === 0) return NaN;
  const holds = answerHoldingCounts(docs, seen); // [N]
  const order = holds.map((_, r) => r).sort((a, b) => holds[b] - holds[a] || a - b);
  let hits = 0;
  for (const q of queries) {
    const { excludeId, tokensOf } = trivialCandidate(mode, docs, q);
    const top = order.filter((r) => docs.ids[r] !== excludeId).slice(0, k);
    if (top.some((r) => containsSpan(tokensOf(r), q.answer))) hits++;
  }
  return hits / queries.length;
}

/**
 * The query-swap control's core: per query i, the share of the other queries j for which
 * `holds(i, tops[j])`, i.e. whose result rows would have answered i. In query order.
 */
export function swappedShare(
  tops: readonly (readonly number[])[],
  holds: (i: number, rows: readonly number[]) => boolean,
): number[] {
  if (tops.length < 2) throw new Error('swappedShare: needs at least 2 queries to swap');
  return tops.map((_, i) => tops.reduce((hits, rows, j) => hits + (j !== i && holds(i, rows) ? 1 : 0), 0) / (tops.length - 1));
}

/**
 * The query-swap control for recall@k: per query i, the share of the other queries j whose top rows
 * (`tops[j]`, best first, with i's trivial candidate left out and cut to k) hold i's answer, in query
 * order. A retriever that returns much the same passages for every query scores as well on this as on
 * its own rows, so recall@k rising more than this shows retrieval that reads the query; a rise onto
 * answer-rich hubs lifts both. `tops[j]` needs k + 1 rows when j's rows may hold i's trivial candidate.
 */
export function swappedRecallAtK(
  docs: DocumentStore,
  queries: readonly ClozeQuery[],
  tops: readonly (readonly number[])[],
  k = 5,
  mode: 'passage' | 'sentence' = 'passage',
): number[] {
  if (tops.length !== queries.length)
    throw new Error(`swappedRecallAtK: ${tops.length} rows of results for ${queries.length} queries`);
  const answered = queries.map((q) => {
    const { excludeId, tokensOf } = trivialCandidate(mode, docs, q);
    return (rows: readonly number[]) =>
      rows
        .filter((r) => docs.ids[r] !== excludeId)
        .slice(0, k)
        .some((r) => containsSpan(tokensOf(r), q.answer));
  });
  return swappedShare(tops, (i, rows) => answered[i](rows));
}

/** Probability that k of n passages drawn uniformly without replacement include one of `holding`. */
export function chanceOfHit(n: number, holding: number, k: number): number {
  let miss = 1;
  for (let i = 0; i < Math.min(k, n); i++) miss *= Math.max(0, n - holding - i) / (n - i);
  return 1 - miss;
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
