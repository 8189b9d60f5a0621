// Held-out evaluation: cloze accuracy with retrieval (argmax of the marginal sum_z p(z|x) p(y|z,x))
// against the same model reading only the null document (p(y|null,x)), and recall@5: the share of
// held-out queries with a passage holding the answer among the top 5 retrieved (the query's own
// passage excluded, as in training). Beside the accuracies, the continuous measure REALM logs: the
// held-out retrieval utility, per query mean_j [log sum_z p(z|x) p(y_j|z,x) - log p(y_j|null,x)]
// (per-mask, whatever the training marginalisation), with the counts of queries it helps and hurts.
// A reader trained with p(null) near 0 may simply do worse on the null document than on any document,
// so the evaluation can also be run on RandomRetrieval: the same model, k-1 uniformly random passages.
// Retrieved minus random tells whether the retrieved documents carry information.
//
// Below evaluateCloze: retrieval metrics on any ranking (the model's top k rows, BM25's), pure
// functions of the rows each query got: gold-passage recall@k (a row of the passage the sentence was
// cut from), answer recall@k (a row whose text holds the answer string under one match rule, written
// out in `holdsAnswer`), chance for both, and `formatMetric`, which prints an empty set's NaN as "n/a".
// `npm run eval` prints them; the page and the benches may reuse them.
import * as tf from '@tensorflow/tfjs';
import { EVAL_CTX } from './bert';
import { containsSpan, trivialCandidate, type ClozeQuery, type DocumentStore, type RealmQuery } from '../corpus/data';
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
  // An empty set has no accuracy: NaN, which the CLIs print as "n/a" (formatMetric), never 0.
  const n = queries.length;
  return {
    clozeAccuracy: right / n,
    clozeAccuracyNullOnly: rightNull / n,
    tokenAccuracy: masks > 0 ? tok / masks : NaN,
    tokenAccuracyNullOnly: masks > 0 ? tokNull / masks : NaN,
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

// ---- Retrieval metrics on rankings: `rankings[i]` are the rows query i retrieved, best first. ----

/** A recall over the queries it applies to; `recall` is NaN when there are none (printed "n/a"). */
export interface RecallAtK {
  recall: number;
  hits: number;
  queries: number;
}

/**
 * Gold-passage recall@k: over the queries whose gold rows are known (`gold[i]` non-null and non-empty:
 * the rows of the passage, or of every block of the document, the sentence came from), the share with
 * one of them among their top k.
 */
export function goldRecallAtK(
  rankings: readonly (readonly number[])[],
  gold: readonly (readonly number[] | null)[],
  k: number,
): RecallAtK {
  let hits = 0;
  let queries = 0;
  rankings.forEach((rows, i) => {
    const g = gold[i];
    if (!g || g.length === 0) return;
    queries++;
    if (rows.slice(0, k).some((r) => g.includes(r))) hits++;
  });
  return { recall: hits / queries, hits, queries };
}

/** Answer recall@k: the share of queries with a row among their top k for which `holds(query, row)`. */
export function answerRecallAtK(
  rankings: readonly (readonly number[])[],
  holds: (query: number, row: number) => boolean,
  k: number,
): RecallAtK {
  let hits = 0;
  rankings.forEach((rows, i) => {
    if (rows.slice(0, k).some((r) => holds(i, r))) hits++;
  });
  return { recall: hits / rankings.length, hits, queries: rankings.length };
}

/**
 * The text the answer rule compares: Unicode compatibility form (NFKD) with combining marks dropped,
 * lower case, and every run of characters other than letters and digits one space, trimmed.
 */
export function normaliseAnswerText(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/**
 * The answer-match rule ("normalised substring on word boundaries"): the normalised answer occurs in
 * the normalised passage text as whole words. `passage` may be given already normalised (`normalised`).
 */
export function holdsAnswer(passage: string, answer: string, normalised = false): boolean {
  const a = normaliseAnswerText(answer);
  if (!a) return false;
  return ` ${normalised ? passage : normaliseAnswerText(passage)} `.includes(` ${a} `);
}

/** Probability that k of n passages drawn uniformly without replacement include one of `holding`. */
export function chanceOfHit(n: number, holding: number, k: number): number {
  let miss = 1;
  for (let i = 0; i < Math.min(k, n); i++) miss *= Math.max(0, n - holding - i) / (n - i);
  return 1 - miss;
}

/**
 * Recall@k of k uniformly random passages of n: the mean of chanceOfHit over the queries whose count of
 * relevant passages is known (null: not counted, as goldRecallAtK skips queries without a gold passage).
 */
export function chanceRecallAtK(n: number, relevant: readonly (number | null)[], k: number): number {
  const counted = relevant.filter((r): r is number => r !== null);
  return counted.reduce((s, r) => s + chanceOfHit(n, r, k), 0) / counted.length;
}

/** A share as the CLIs print it: `x.toFixed(digits)`, or "n/a" for an empty set's NaN. */
export function formatMetric(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : 'n/a';
}

/**
 * Each held-out query's own passage (the gold one, the passage its sentence was cut from): its row and
 * the tokens it is searched and read as, without the query's sentence (trivialExclusion 'sentence');
 * null when the query names no passage of `docs`.
 */
export function goldPassages(
  docs: DocumentStore,
  queries: readonly RealmQuery[],
): ({ row: number; tokens: ArrayLike<number> } | null)[] {
  const rowOf = new Map(docs.ids.map((id, row) => [id, row]));
  return queries.map((q) => {
    const row = q.sourceDocId === null ? undefined : rowOf.get(q.sourceDocId);
    if (row === undefined) return null;
    const cut =
      q.sourceSentence !== undefined && docs.withoutSentence ? docs.withoutSentence(row, q.sourceSentence) : docs.tokens[row];
    return { row, tokens: cut };
  });
}

/**
 * Gold-passage recall@k of held-out queries over `index` (every passage, the gold one searched without
 * the query's sentence): what the retriever finds, beside answer recall (any passage holding the answer).
 */
export async function goldPassageRecall(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  queries: readonly RealmQuery[],
  k = 5,
): Promise<RecallAtK> {
  const own = goldPassages(docs, queries);
  const rows = await topKRows(model, index, queries, k, 16, own);
  return goldRecallAtK(
    rows,
    own.map((o) => (o ? [o.row] : null)),
    k,
  );
}

/**
 * Each query's top `k` rows of `index` by Embed_input(x)·Embed_doc(z), best first, no passage excluded.
 * With `own` (per query: a row and the tokens to read it as, or null), that row is searched as those
 * tokens instead (trivialExclusion 'sentence': its passage without the query sentence), embedded with
 * the current Embed_doc, and put back in its place among the others.
 */
export async function topKRows(
  model: RealmModel,
  index: MipsIndex,
  queries: readonly RealmQuery[],
  k: number,
  batchSize = 16,
  own?: readonly ({ row: number; tokens: ArrayLike<number> } | null)[],
): Promise<number[][]> {
  const out: number[][] = [];
  const depth = Math.min(k, index.size);
  const cfg = model.config;
  for (let s = 0; s < queries.length; s += batchSize) {
    const batch = queries.slice(s, s + batchSize);
    const owned = own?.slice(s, s + batchSize) ?? batch.map(() => null);
    const found = tf.tidy(() => {
      const qEmb = model.embedInput.embedRows(
        batch.map((q) => cutQuery(q.inputIds, cfg.maxQueryLength)),
        cfg.maxQueryLength,
      ); // [B, d]
      const excluded = owned.map((o) => (o ? index.ids[o.row] : null));
      const { indices, scores } = index.search(qEmb, Math.min(depth, index.size - (own ? 1 : 0)), excluded); // [B, depth]
      const cut = owned.filter((o) => o !== null);
      const ownScores =
        cut.length > 0
          ? tf.sum(
              tf.mul(
                tf.gather(
                  qEmb,
                  owned.flatMap((o, i) => (o ? [i] : [])),
                ),
                model.embedDoc.embedRows(
                  cut.map((o) => o.tokens),
                  cfg.maxDocLength,
                ),
              ),
              -1,
            ) // [C]
          : tf.zeros([0]);
      return [indices, scores, ownScores];
    });
    const [rows, scores, ownScores] = (await Promise.all(found.map((t) => t.array()))) as [number[][], number[][], number[]];
    tf.dispose(found);
    let c = 0;
    rows.forEach((r, i) => {
      const o = owned[i];
      if (!o) return void out.push(r);
      const score = ownScores[c++];
      const at = scores[i].findIndex((x) => score > x);
      out.push([...r.slice(0, at < 0 ? r.length : at), o.row, ...r.slice(at < 0 ? r.length : at)].slice(0, depth));
    });
  }
  return out;
}
