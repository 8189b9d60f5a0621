import { describe, expect, it } from 'vitest';
import {
  ablationCsv,
  ablationMarkdown,
  ablationTable,
  pairedTTest,
  studentTCdf,
  summarise,
  type AblationRowResult,
} from './ablation-table';

// Reference values from SciPy 1.17.1: scipy.stats.t.cdf(t, df), scipy.stats.ttest_rel(a, b),
// numpy.mean and scipy.stats.sem (ddof=1), computed on this machine when the test was written.
const T_CDF: [t: number, df: number, cdf: number][] = [
  [1.0, 2, 0.7886751345948129],
  [-2.0, 3, 0.06966298427942152],
  [0.5, 7, 0.6837964321553578],
  [2.5, 4, 0.966616727594006],
  [-0.3, 1, 0.4072264209222577],
  [3.0, 10, 0.9933281724887152],
  [1.96, 30, 0.9703288435519748],
];

describe('Student t CDF', () => {
  it.each(T_CDF)('t = %f, df = %i matches scipy.stats.t.cdf', (t, df, cdf) => {
    expect(studentTCdf(t, df)).toBeCloseTo(cdf, 12);
  });

  it('is 1/2 at 0, symmetric, and 0/1 at the infinities', () => {
    expect(studentTCdf(0, 2)).toBe(0.5);
    expect(studentTCdf(1.3, 5) + studentTCdf(-1.3, 5)).toBeCloseTo(1, 14);
    expect(studentTCdf(Infinity, 2)).toBe(1);
    expect(studentTCdf(-Infinity, 2)).toBe(0);
  });

  it('matches the closed forms of df 1 (Cauchy) and df 2', () => {
    for (const t of [-7, -1, 0.2, 3]) {
      expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 14);
      expect(studentTCdf(t, 2)).toBeCloseTo(0.5 + t / (2 * Math.sqrt(2 + t * t)), 14);
    }
  });

  it('rejects a fractional or zero df', () => {
    expect(() => studentTCdf(1, 2.5)).toThrow(/whole number/);
    expect(() => studentTCdf(1, 0)).toThrow(/whole number/);
  });
});

describe('summarise and pairedTTest', () => {
  it('mean ± standard error as numpy.mean and scipy.stats.sem', () => {
    const s = summarise([0.4, 0.35, 0.38]);
    expect(s.mean).toBeCloseTo(0.37666666666666665, 14);
    expect(s.se).toBeCloseTo(0.014529663145135591, 14);
    expect(summarise([0.5]).se).toBeNaN();
    expect(summarise([]).n).toBe(0);
  });

  it('t and p as scipy.stats.ttest_rel', () => {
    const r = pairedTTest([0.31, 0.3, 0.36], [0.4, 0.35, 0.38]);
    expect(r.t).toBeCloseTo(-2.6303837968857167, 12);
    expect(r.p).toBeCloseTo(0.11922898789891152, 12);
    expect(r.df).toBe(2);
    expect(r.mean).toBeCloseTo(-0.053333333333333344, 14);
    expect(r.se).toBeCloseTo(0.02027587510099407, 14);
    const s = pairedTTest([0.1, 0.12, 0.11], [0.3, 0.25, 0.2]);
    expect(s.t).toBeCloseTo(-4.355197117867787, 12);
    expect(s.p).toBeCloseTo(0.04888729131853955, 12);
  });

  it('equal pairs give p = 1, a constant nonzero difference p = 0, one pair no test', () => {
    expect(pairedTTest([0.2, 0.3], [0.2, 0.3])).toMatchObject({ t: 0, p: 1 });
    expect(pairedTTest([0.75, 0.5], [0.5, 0.25])).toMatchObject({ t: Infinity, p: 0 });
    expect(pairedTTest([0.3], [0.2]).p).toBeNaN();
    expect(() => pairedTTest([1, 2], [1])).toThrow(/as many/);
  });
});

describe('ablationTable', () => {
  const results: AblationRowResult[] = [];
  const add = (rowId: AblationRowResult['rowId'], em: number[], r5: number[]) =>
    em.forEach((e, i) => results.push({ rowId, seed: i + 1, em: e, recallAt5: r5[i] }));
  add('realm', [0.4, 0.35, 0.38], [0.3, 0.25, 0.2]);
  add('baseline', [0.31, 0.3, 0.36], [0.1, 0.12, 0.11]);
  add('realm-retriever-baseline-encoder', [0.45, 0.36, 0.44], [0.3, 0.25, 0.2]);
  const table = ablationTable(results);

  it('rows in Table 2 order, REALM without a difference', () => {
    expect(table.map((t) => t.row.id)).toEqual([
      'realm',
      'realm-retriever-baseline-encoder',
      'baseline-retriever-realm-encoder',
      'baseline',
      'random-uniform-masks',
      'random-span-masks',
      'stale-30x',
    ]);
    expect(table[0].em.difference).toBeNull();
    expect(table[0].em.directionMatches).toBeNull();
  });

  it('baseline: scipy-checked difference and both directions as the paper (lower EM, lower R@5)', () => {
    const b = table[3];
    expect(b.em.summary.mean).toBeCloseTo((0.31 + 0.3 + 0.36) / 3, 14);
    expect(b.em.difference!.p).toBeCloseTo(0.11922898789891152, 12);
    expect(b.recallAt5.difference!.p).toBeCloseTo(0.04888729131853955, 12);
    expect(b.recallAt5.summary.se).toBeCloseTo(0.005773502691896255, 14);
    expect(b.em.paperDifference).toBeCloseTo(31.3 - 38.2, 12);
    expect(b.em.directionMatches).toBe(true);
    expect(b.recallAt5.directionMatches).toBe(true);
  });

  it("a swap row whose EM rose where the paper's fell does not match; equal R@5 matches the paper's 0", () => {
    const s = table[1];
    expect(s.em.difference!.t).toBeCloseTo(2.6186146828319092, 12);
    expect(s.em.difference!.p).toBeCloseTo(0.1201173098718802, 12);
    expect(s.em.directionMatches).toBe(false);
    expect(s.recallAt5.difference).toMatchObject({ mean: 0, p: 1 });
    expect(s.recallAt5.directionMatches).toBe(true);
  });

  it('rows without results, and EM not yet measured, are n/a, never zero', () => {
    expect(table[4].em.summary.n).toBe(0);
    expect(table[4].em.directionMatches).toBeNull();
    const noEm = ablationTable([
      { rowId: 'realm', seed: 1, em: null, recallAt5: 0.2 },
      { rowId: 'baseline', seed: 1, em: null, recallAt5: 0.1 },
    ]);
    expect(noEm[3].em.summary.n).toBe(0);
    expect(noEm[3].recallAt5.difference!.mean).toBeCloseTo(-0.1, 14);
    expect(ablationMarkdown(noEm)).toContain(
      '| baseline (ORQA) | n/a | – | 31.3 (−6.9) | 10.0 | −10.0 (p n/a) | 13.9 (−24.6) | – / yes |',
    );
  });

  it('markdown: percent, mean ± SE, signed differences with p, the paper beside them', () => {
    const md = ablationMarkdown(table);
    expect(md).toContain('| REALM | 37.7 ± 1.5 | – | 38.2 | 25.0 ± 2.9 | – | 38.5 | – / – |');
    expect(md).toContain(
      '| baseline (ORQA) | 32.3 ± 1.9 | −5.3 (p 0.119) | 31.3 (−6.9) | 11.0 ± 0.6 | −14.0 (p 0.049) | 13.9 (−24.6) | yes / yes |',
    );
    expect(md).toContain(
      '| REALM retriever + baseline encoder | 41.7 ± 2.8 | +4.0 (p 0.120) | 37.4 (−0.8) | 25.0 ± 2.9 | ±0.0 (p 1.000) | 38.5 (±0.0) | no / yes |',
    );
    expect(md).toContain('3 seeds only large, consistent differences');
  });

  it('CSV: one header and seven rows, shares at full precision, empty cells for n/a', () => {
    const lines = ablationCsv(table).trimEnd().split('\n');
    expect(lines).toHaveLength(8);
    const head = lines[0].split(',');
    const base = Object.fromEntries(lines[4].split(',').map((v, i) => [head[i], v]));
    expect(base.row_id).toBe('baseline');
    expect(Number(base.em_p)).toBeCloseTo(0.11922898789891152, 12);
    expect(base.paper_em).toBe('0.313');
    expect(base.paper_em_diff).toBe('-0.069');
    expect(base.em_direction_matches).toBe('true');
    const empty = Object.fromEntries(lines[5].split(',').map((v, i) => [head[i], v]));
    expect(empty.em_mean).toBe('');
    expect(empty.em_seeds).toBe('0');
  });
});
