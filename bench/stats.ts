// Statistics for the learning benches' paired before/after readings (bench/recall-shift.ts,
// bench/recall-pool.ts): the exact sign test on queries gained and lost.
import { binomialDistribution } from 'simple-statistics';

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

