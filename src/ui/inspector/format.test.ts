import { describe, expect, it } from 'vitest';
import { formatProb, formatSigned, pieceName } from './format';

describe('inspector number formats', () => {
  it('prints small probabilities in scientific notation instead of 0.000', () => {
    expect(formatProb(0.5983)).toBe('0.598');
    expect(formatProb(0.001)).toBe('0.001');
    expect(formatProb(0.000213)).toBe('2.1e-4');
    expect(formatProb(0)).toBe('0.000');
    expect(formatProb(null)).toBe('–');
    expect(formatProb(NaN)).toBe('–');
  });
  it('prints utilities with their sign, small ones in scientific notation', () => {
    expect(formatSigned(0.4012)).toBe('+0.40');
    expect(formatSigned(-1.5)).toBe('−1.50');
    expect(formatSigned(-0.00042)).toBe('−4.2e-4');
    expect(formatSigned(0)).toBe('0');
    expect(formatSigned(null)).toBe('–');
  });
  it('names ids past the corpus vocabulary', () => {
    expect(pieceName(['a', 'b'], 1)).toBe('b');
    expect(pieceName(['a', 'b'], 7768)).toBe('(unused id 7768)');
  });
});
