// The ablation table's maths (docs/ablations.md): per row of REALM's Table 2, exact match and zero-shot
// recall@5 as mean ± standard error over seeds, the difference from the REALM row with a paired t-test
// over seeds (seed s of a row against seed s of REALM: they share the warm start and the data order),
// the paper's figures and differences beside them, and whether the direction matches the paper's.
// Exported as markdown and CSV. Figures are shares in [0, 1]; the table prints them in percent, as the
// paper does.
import { ABLATION_ROWS, type AblationRow, type AblationRowId } from './ablation-rows';

/** One finished (row, seed): dev exact match (null until Open-QA fine-tuning has run) and zero-shot recall@5. */
export interface AblationRowResult {
  rowId: AblationRowId;
  seed: number;
  em: number | null;
  recallAt5: number | null;
}

/** Mean and standard error (sample standard deviation / √n) over seeds; se is NaN for n < 2. */
export interface SeedSummary {
  mean: number;
  se: number;
  n: number;
}

export function summarise(xs: readonly number[]): SeedSummary {
  const n = xs.length;
  if (n === 0) return { mean: NaN, se: NaN, n };
  const mean = xs.reduce((s, x) => s + x, 0) / n;
  if (n < 2) return { mean, se: NaN, n };
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n), n };
}

/**
 * P(|T| < t) for Student's t with an integer number of degrees of freedom `df`: the finite sums of
 * Abramowitz & Stegun 26.7.3 (odd df) and 26.7.4 (even df) in θ = atan(|t| / √df). Exact up to
 * rounding; a paired test over n seeds has df = n - 1, always a whole number.
 */
export function studentTCentralProbability(t: number, df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a whole number >= 1, got ${df}`);
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 1;
  const theta = Math.atan(Math.abs(t) / Math.sqrt(df));
  const c2 = Math.cos(theta) ** 2;
  const s = Math.sin(theta);
  if (df % 2 === 1) {
    // 2/π (θ + sinθ (cosθ + 2/3 cos³θ + ... + 2·4···(df-3) / (1·3···(df-2)) cos^(df-2)θ))
    if (df === 1) return (2 * theta) / Math.PI;
    let term = Math.cos(theta);
    let sum = term;
    for (let k = 3; k <= df - 2; k += 2) {
      term *= (c2 * (k - 1)) / k;
      sum += term;
    }
    return (2 / Math.PI) * (theta + s * sum);
  }
  // sinθ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + ... + 1·3···(df-3) / (2·4···(df-2)) cos^(df-2)θ)
  let term = 1;
  let sum = 1;
  for (let k = 2; k <= df - 2; k += 2) {
    term *= (c2 * (k - 1)) / k;
    sum += term;
  }
  return s * sum;
}

/** Student's t cumulative distribution function P(T <= t), integer df. */
export function studentTCdf(t: number, df: number): number {
  const central = studentTCentralProbability(t, df);
  return t >= 0 ? 0.5 + central / 2 : 0.5 - central / 2;
}

/** A paired difference over seeds: mean of (row − REALM), its standard error, t, df and the two-sided p. */
export interface PairedDifference {
  mean: number;
  se: number;
  t: number;
  df: number;
  /** Two-sided p-value; NaN with fewer than two pairs. */
  p: number;
  n: number;
}

/**
 * Paired t-test of a against b (same length, pair i = seed i): t = mean(d) / (sd(d) / √n), df = n − 1.
 * Identical differences (sd 0) give t = ±∞ and p = 0, or t = 0 and p = 1 when every difference is 0
 * (the two encoder-swap rows' recall@5 equals REALM's or the baseline's by construction).
 */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) throw new RangeError(`a paired test needs as many values on each side (${a.length} vs ${b.length})`);
  const d = a.map((x, i) => x - b[i]);
  const { mean, se, n } = summarise(d);
  const df = n - 1;
  if (n < 2) return { mean, se, t: NaN, df, p: NaN, n };
  if (se === 0) return mean === 0 ? { mean, se, t: 0, df, p: 1, n } : { mean, se, t: Math.sign(mean) * Infinity, df, p: 0, n };
  const t = mean / se;
  return { mean, se, t, df, p: 1 - studentTCentralProbability(t, df), n };
}

/** Differences smaller than this (in share units) count as none when comparing directions. */
export const SAME_DIRECTION_TOLERANCE = 1e-9;

/** -1, 0 or 1, with |x| below the tolerance as 0. */
function direction(x: number): -1 | 0 | 1 {
  return Math.abs(x) < SAME_DIRECTION_TOLERANCE ? 0 : x > 0 ? 1 : -1;
}

/** One metric of one row of the table. */
export interface MetricCell {
  /** Over the row's seeds, in [0, 1]; n = 0 when nothing was measured. */
  summary: SeedSummary;
  /** Row − REALM over the seeds both have; null for the REALM row itself. */
  difference: PairedDifference | null;
  /** The paper's figure (percent) and its difference from the paper's REALM row. */
  paper: number;
  paperDifference: number;
  /** Whether our mean difference has the paper's sign (0 counts as a sign); null for REALM or without data. */
  directionMatches: boolean | null;
}

export interface AblationTableRow {
  row: AblationRow;
  em: MetricCell;
  recallAt5: MetricCell;
}

function metricCell(
  row: AblationRow,
  realm: AblationRow,
  results: readonly AblationRowResult[],
  metric: 'em' | 'recallAt5',
): MetricCell {
  const valueOf = (id: AblationRowId, seed: number) => {
    const r = results.find((x) => x.rowId === id && x.seed === seed);
    const v = r?.[metric];
    return v === null || v === undefined ? null : v;
  };
  const mine = results.filter((r) => r.rowId === row.id && r[metric] !== null).map((r) => r.seed);
  const summary = summarise(mine.map((s) => valueOf(row.id, s)!));
  const paper = row.paper[metric];
  const paperDifference = paper - realm.paper[metric];
  if (row.id === realm.id) return { summary, difference: null, paper, paperDifference: 0, directionMatches: null };
  const paired = mine.filter((s) => valueOf(realm.id, s) !== null);
  const difference =
    paired.length > 0
      ? pairedTTest(
          paired.map((s) => valueOf(row.id, s)!),
          paired.map((s) => valueOf(realm.id, s)!),
        )
      : null;
  const directionMatches = difference ? direction(difference.mean) === direction(paperDifference) : null;
  return { summary, difference, paper, paperDifference, directionMatches };
}

/** The table, in Table 2's row order, from whatever results exist (rows without any have n = 0). */
export function ablationTable(
  results: readonly AblationRowResult[],
  rows: readonly AblationRow[] = ABLATION_ROWS,
): AblationTableRow[] {
  const realm = ABLATION_ROWS[0];
  return rows.map((row) => ({
    row,
    em: metricCell(row, realm, results, 'em'),
    recallAt5: metricCell(row, realm, results, 'recallAt5'),
  }));
}

const pct = (x: number, digits = 1) => (Number.isFinite(x) ? (100 * x).toFixed(digits) : 'n/a');
/** A signed difference in percent points; below the direction tolerance it is none (±0.0), as the direction column counts it. */
const signed = (x: number, digits = 1) => {
  if (!Number.isFinite(x)) return 'n/a';
  const d = direction(x / 100);
  return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${d === 0 ? (0).toFixed(digits) : Math.abs(x).toFixed(digits)}`;
};
const pValue = (p: number) => (!Number.isFinite(p) ? 'n/a' : p < 0.001 ? '<0.001' : p.toFixed(3));
const meanSe = (s: SeedSummary) => (s.n === 0 ? 'n/a' : s.n < 2 ? pct(s.mean) : `${pct(s.mean)} ± ${pct(s.se)}`);
const diffCell = (c: MetricCell) =>
  c.difference === null ? '–' : `${signed(100 * c.difference.mean)} (p ${pValue(c.difference.p)})`;
const paperCell = (c: MetricCell, isRealm: boolean) =>
  isRealm ? c.paper.toFixed(1) : `${c.paper.toFixed(1)} (${signed(c.paperDifference)})`;
const matchCell = (m: boolean | null) => (m === null ? '–' : m ? 'yes' : 'no');

/** The table's cells of one row as text (the page's table shows what the markdown says). */
export function ablationRowTexts(t: AblationTableRow) {
  const isRealm = t.row.id === 'realm';
  const cell = (c: MetricCell) => ({
    value: meanSe(c.summary),
    difference: diffCell(c),
    paper: paperCell(c, isRealm),
    direction: matchCell(c.directionMatches),
  });
  return { em: cell(t.em), recallAt5: cell(t.recallAt5) };
}

/**
 * Markdown: EM and R@5 in percent as mean ± standard error over seeds, the difference from REALM with the
 * paired t-test's two-sided p, the paper's figure with its difference, and whether the directions match.
 */
export function ablationMarkdown(table: readonly AblationTableRow[]): string {
  const seeds = Math.max(0, ...table.map((t) => Math.max(t.em.summary.n, t.recallAt5.summary.n)));
  const lines = [
    '| row | EM | Δ EM (p) | paper EM (Δ) | R@5 | Δ R@5 (p) | paper R@5 (Δ) | direction as paper (EM / R@5) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
    ...table.map((t) => {
      const isRealm = t.row.id === 'realm';
      return `| ${t.row.name} | ${meanSe(t.em.summary)} | ${diffCell(t.em)} | ${paperCell(t.em, isRealm)} | ${meanSe(t.recallAt5.summary)} | ${diffCell(t.recallAt5)} | ${paperCell(t.recallAt5, isRealm)} | ${matchCell(t.em.directionMatches)} / ${matchCell(t.recallAt5.directionMatches)} |`;
    }),
    '',
    `EM: exact match on the QA dev set after fine-tuning; R@5: zero-shot retrieval recall@5 (an answer's wordpieces in the body of a top-5 passage, as the reader reads it), in percent, mean ± standard error over ${seeds} seed${seeds === 1 ? '' : 's'}. ` +
      `Δ: row − REALM, paired over seeds, two-sided paired t-test (df = seeds − 1${seeds === 3 ? '; with 3 seeds only large, consistent differences reach p < 0.05' : ''}). ` +
      'Paper: REALM Table 2 (arXiv 2002.08909), NQ dev. "Direction as paper": the sign of our mean Δ equals the sign of the paper\'s Δ.',
  ];
  return lines.join('\n') + '\n';
}

const csvNumber = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '' : String(x));
const csvBool = (b: boolean | null) => (b === null ? '' : String(b));

/** CSV, one line per row, shares in [0, 1] at full precision (empty cells for n/a). */
export function ablationCsv(table: readonly AblationTableRow[]): string {
  const head = ['row_id', 'row'];
  for (const m of ['em', 'recall_at_5'])
    head.push(
      `${m}_mean`,
      `${m}_se`,
      `${m}_seeds`,
      `${m}_diff`,
      `${m}_diff_se`,
      `${m}_t`,
      `${m}_df`,
      `${m}_p`,
      `paper_${m}`,
      `paper_${m}_diff`,
      `${m}_direction_matches`,
    );
  const cells = (c: MetricCell) => [
    csvNumber(c.summary.mean),
    csvNumber(c.summary.se),
    String(c.summary.n),
    csvNumber(c.difference?.mean),
    csvNumber(c.difference?.se),
    csvNumber(c.difference?.t),
    csvNumber(c.difference?.df),
    csvNumber(c.difference?.p),
    String(Number((c.paper / 100).toFixed(6))),
    String(Number((c.paperDifference / 100).toFixed(6))),
    csvBool(c.directionMatches),
  ];
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return (
    [head, ...table.map((t) => [t.row.id, t.row.name, ...cells(t.em), ...cells(t.recallAt5)])]
      .map((r) => r.map(quote).join(','))
      .join('\n') + '\n'
  );
}
