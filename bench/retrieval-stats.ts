// Retrieval statistics for the learning benchmark and the research scripts: recall@k's controls
// (chance, the answer prior, the query swap) and the summary of per-query utilities. Not part of the
// app: the page's evaluation is src/model/evaluate.ts.
import { containsSpan, trivialCandidate, type ClozeQuery, type DocumentStore } from '../src/corpus/data';
import { chanceOfHit } from '../src/model/evaluate';

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

export { chanceOfHit };
