import { describe, expect, it } from 'vitest';
import { signTest } from './stats';

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
});
