// Statistics for the learning benches' paired before/after readings (research/recall-shift.ts,
// research/recall-pool.ts): the exact sign test on queries gained and lost, and the rise of recall@5 beyond
// the query-swap control.
import { binomialDistribution } from 'simple-statistics';
import { utilitySummary } from '../bench/retrieval-stats';

/**
 * Two-sided exact sign test: the probability, were gains and losses equally likely, of a split of
 * `gained + lost` changes at least as uneven as the one seen. Ties (queries that did not change) are
 * left out, as the sign test does. 1 when nothing changed.
 */
export function signTest(gained: number, lost: number): number {
  const n = gained + lost;
  if (n === 0) return 1;
  const pmf = binomialDistribution(n, 0.5); // [n + 1]: P(exactly i gains)
  if (!pmf) throw new Error(`signTest: counts must be whole numbers >= 0, not ${gained} and ${lost}`);
  const tail = pmf.slice(0, Math.min(gained, lost) + 1).reduce((a, b) => a + b, 0);
  return Math.min(1, 2 * tail);
}

/**
 * Per query, the change of its recall@5 hit (0 or 1) minus the change of its swappedRecallAtK share,
 * summarised: the part of a rise in recall@5 that a retriever returning the same passages for every
 * query would not get. Its mean is the change of recall@5 minus the change of the swapped recall.
 */
export function queryDependentRise(
  before: readonly (number | null)[],
  after: readonly (number | null)[],
  swappedBefore: readonly number[],
  swappedAfter: readonly number[],
) {
  const hit = (r: number | null) => (r !== null && r <= 5 ? 1 : 0);
  return utilitySummary(before.map((r, i) => hit(after[i]) - hit(r) - (swappedAfter[i] - swappedBefore[i])));
}
