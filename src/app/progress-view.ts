// Progress as the panels print it: amounts (bytes in KB/MB/GB, else counts with their unit) and ETAs.
import { formatEta, StepRateMeter } from '../model/progress';

export { formatEta, StepRateMeter };

/** "12.3 MB", "870 KB", "512 B" for bytes; "1,234 passages" otherwise. */
export function formatAmount(n: number, unit: string): string {
  if (unit === 'bytes') {
    if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
    if (n >= 1e3) return `${(n / 1e3).toFixed(0)} KB`;
    return `${Math.round(n)} B`;
  }
  return `${Math.round(n).toLocaleString('en')} ${unit}`;
}

/** "1 step", "2 steps", "0 steps"; `many` for irregular plurals. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** Steps still to take in each phase after `step` steps, for an ETA per phase. */
export function stepsLeftByPhase(
  c: { ictSteps: number; mlmSteps: number; realmSteps: number },
  step: number,
): Record<string, number> {
  const ends = { ict: c.ictSteps, mlm: c.ictSteps + c.mlmSteps, realm: c.ictSteps + c.mlmSteps + c.realmSteps };
  const starts = { ict: 0, mlm: ends.ict, realm: ends.mlm };
  const left: Record<string, number> = {};
  for (const p of ['ict', 'mlm', 'realm'] as const) left[p] = Math.max(0, ends[p] - Math.max(step, starts[p]));
  return left;
}

/** What the Training panel's speed line says for a run in `status`. */
export interface SpeedView {
  /** "1.73" steps/s, or "–". */
  rate: string;
  /** Seconds left for the bar, or null (unknown, or the run is not training). */
  etaSeconds: number | null;
  /** The ETA in words: "35 s", "unknown: …", or '' when the run is not training. */
  eta: string;
}

export function speedView(
  status: string,
  r: { stepsPerSecond: number | null; etaSeconds: number | null; note: string | null },
): SpeedView {
  if (status !== 'running') return { rate: '–', etaSeconds: null, eta: '' };
  const rate = r.stepsPerSecond === null ? '–' : r.stepsPerSecond.toFixed(2);
  if (r.etaSeconds === null) return { rate, etaSeconds: null, eta: r.note ?? 'unknown' };
  return { rate, etaSeconds: r.etaSeconds, eta: `${formatEta(r.etaSeconds)}${r.note ? ` (${r.note})` : ''}` };
}
