import { describe, expect, it } from 'vitest';
import { queryDependentRise, signTest } from './stats';

// Plain-number binomial coefficients, independent of simple-statistics.
const choose = (n: number, k: number): number => (k === 0 ? 1 : (choose(n, k - 1) * (n - k + 1)) / k);

describe('bench statistics', () => {
  it('signTest: the two-sided exact binomial tail, against binomial coefficients', () => {
    // 9 of 10 one way: 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024
    expect(signTest(9, 1)).toBeCloseTo(22 / 1024, 12);
    expect(signTest(1, 9)).toBeCloseTo(22 / 1024, 12);
    // 14 gained, 8 lost: 2 * sum_{i<=8} C(22,i) / 2^22
    let tail = 0;
    for (let i = 0; i <= 8; i++) tail += choose(22, i);
    expect(signTest(14, 8)).toBeCloseTo((2 * tail) / 2 ** 22, 12);
    expect(signTest(14, 8)).toBeGreaterThan(0.2);
    // an even split and no change at all are not evidence either way
    expect(signTest(5, 5)).toBe(1);
    expect(signTest(0, 0)).toBe(1);
    // 10 of 10: 2 / 1024
    expect(signTest(10, 0)).toBeCloseTo(2 / 1024, 12);
    expect(() => signTest(1.5, 1)).toThrow(/whole numbers/);
  });

  it('queryDependentRise: the change of each recall@5 hit minus the change of its swapped recall', () => {
    // Ranks (null: no answer passage anywhere): q0 6 -> 2 (gained), q1 1 -> 1, q2 3 -> 9 (lost), q3 none.
    const before = [6, 1, 3, null];
    const after = [2, 1, 9, null];
    // Swapped recall before -> after: q0 +0.5, q1 0, q2 -0.25, q3 +0.25.
    const r = queryDependentRise(before, after, [0.25, 0.5, 0.5, 0], [0.75, 0.5, 0.25, 0.25]);
    // per query: 1 - 0.5, 0 - 0, -1 + 0.25, 0 - 0.25 = 0.5, 0, -0.75, -0.25
    expect(r.mean).toBeCloseTo(-0.125, 12);
    expect([r.helped, r.hurt]).toEqual([1, 2]);
    // A rise onto hubs, swapped recall rising with every hit gained, leaves nothing beyond the control.
    expect(queryDependentRise([6, 7], [2, 3], [0, 0], [1, 1]).mean).toBe(0);
  });
});
