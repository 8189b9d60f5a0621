// The Charts panel's data: which metrics are charted and what they mean, and column buffers built from
// `run.history` that grow by appending (a chart of thousands of steps does not rebuild its arrays on
// every tick). No DOM here: the panel turns these columns into uPlot data.
import type { EvalMetrics, Phase, StepMetrics } from '../model/metrics';

interface ChartMetric<R> {
  key: keyof R & string;
  /** Short label on the chart. */
  label: string;
  /** One or two sentences for a newcomer: what the number is and which way is good. */
  explain: string;
  /** Fixed axis range when the metric has one (shares in [0, 1]). */
  range?: [number, number];
}

/** Per-step metrics, one chart each. */
export const STEP_METRICS: ChartMetric<StepMetrics>[] = [
  {
    key: 'loss',
    label: 'Loss',
    explain:
      'Training loss of each step: -log p(y|x), the marginal over retrieved documents, in REALM; the ICT or MLM loss in the warm-ups. Lower is better.',
  },
  {
    key: 'mlmAccuracy',
    label: 'MLM accuracy',
    explain:
      'Share of masked tokens whose most likely prediction is right (under the marginal p(y|x) in REALM). Higher is better.',
    range: [0, 1],
  },
  {
    key: 'meanPNull',
    label: 'Mean p(null)',
    explain:
      'Mean retrieval probability p(z|x) of the null document (no passage). Falling means the model finds the retrieved passages more useful than nothing. REALM phase only.',
    range: [0, 1],
  },
  {
    key: 'meanRetrievalUtility',
    label: 'Retrieval utility',
    explain:
      'Mean log p(y|x) - log p(y|null, x) in nats: how much the retrieved passages raise the probability of the right answer over the null document alone. Above 0 means retrieval helps. REALM phase only.',
  },
  {
    key: 'retrievalEntropy',
    label: 'Retrieval entropy',
    explain:
      'Mean entropy of p(z|x) over the k candidates, in nats: high when the model spreads its belief over many passages, 0 when it is sure of one. REALM phase only.',
  },
];

/** Held-out evaluation, every E steps, on one chart. */
export const EVAL_METRICS: ChartMetric<EvalMetrics>[] = [
  {
    key: 'clozeAccuracy',
    label: 'Cloze accuracy',
    explain: 'Share of held-out cloze sentences (never trained on) whose masked span the model fills exactly, with retrieval.',
    range: [0, 1],
  },
  {
    key: 'clozeAccuracyNullOnly',
    label: 'Cloze, null only',
    explain:
      'The same held-out cloze accuracy with the null document alone, i.e. without retrieval: the gap to the line above is what retrieval adds.',
    range: [0, 1],
  },
  {
    key: 'recallAt5',
    label: 'Recall@5',
    explain: 'Share of held-out sentences with a passage that contains the answer among the top 5 retrieved.',
    range: [0, 1],
  },
  {
    key: 'goldRecallAt5',
    label: 'Gold recall@5',
    explain:
      'Share of held-out sentences whose own passage (the one the sentence was cut from, searched without the sentence) is among the top 5 retrieved: what the retriever finds, beside Recall@5 (any passage holding the answer).',
    range: [0, 1],
  },
];

/** A chart value: a finite number, or null for "no value here" (uPlot draws a gap). */
export function chartValue(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Column buffers for records with a `step`: x (the step) and one column per key. `sync` appends the
 * records not seen yet; it starts over when the source is a different array or has shrunk.
 */
export class SeriesColumns<R extends { step: number }> {
  readonly x: number[] = [];
  readonly ys: (number | null)[][];
  private source: readonly R[] | null = null;
  /** Bumped whenever the columns change (an append or a reset). */
  revision = 0;

  constructor(readonly keys: readonly (keyof R & string)[]) {
    this.ys = keys.map(() => []);
  }

  get length(): number {
    return this.x.length;
  }

  /** Appends the records of `records` past the ones already held; returns true when anything changed. */
  sync(records: readonly R[] | null | undefined): boolean {
    const list = records ?? [];
    if (list !== this.source || list.length < this.x.length) {
      const hadData = this.x.length > 0;
      this.source = list;
      this.x.length = 0;
      for (const y of this.ys) y.length = 0;
      if (hadData) this.revision++;
    }
    if (list.length === this.x.length) return false;
    for (let i = this.x.length; i < list.length; i++) {
      const r = list[i];
      this.x.push(r.step);
      this.keys.forEach((k, j) => this.ys[j].push(chartValue(r[k])));
    }
    this.revision++;
    return true;
  }

  /** Number of non-null values of column `j`. */
  countValues(j: number): number {
    let n = 0;
    for (const v of this.ys[j]) if (v !== null) n++;
    return n;
  }
}

/** A contiguous range of steps trained in one phase: [firstStep, lastStep]. */
export interface PhaseSpan {
  phase: Phase;
  firstStep: number;
  lastStep: number;
}

/** The phases of a run's steps in order, for shading the charts and marking the boundaries. */
export function phaseSpans(steps: readonly Pick<StepMetrics, 'phase' | 'step'>[]): PhaseSpan[] {
  const spans: PhaseSpan[] = [];
  for (const s of steps) {
    const last = spans.at(-1);
    if (last && last.phase === s.phase) last.lastStep = s.step;
    else spans.push({ phase: s.phase, firstStep: s.step, lastStep: s.step });
  }
  return spans;
}

export const PHASE_LABEL: Record<Phase, string> = { ict: 'ICT', mlm: 'MLM', realm: 'REALM' };

export const PHASE_EXPLAIN: Record<Phase, string> = {
  ict: 'ICT warm start: the retriever learns to find the passage a sentence was cut from (Inverse Cloze Task).',
  mlm: 'MLM warm-up: the reader learns to fill masked tokens without retrieval.',
  realm:
    'REALM: the reader fills masked spans from retrieved passages, and the retriever learns from how much each passage helped.',
};

/** Formats a chart value for the legend: shares as percentages, other values with 3 significant digits. */
export function formatMetric(v: number | null | undefined, range?: [number, number]): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (range && range[0] === 0 && range[1] === 1) return `${(v * 100).toFixed(1)}%`;
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e4 || a < 1e-3)) return v.toExponential(2);
  return v.toPrecision(3);
}

/**
 * Two runs' values of one metric on one step axis, to overlay them: the sorted union of both runs'
 * steps, and each run's value at each step (null where that run has none). Both inputs ascend by step.
 */
export function overlaySteps(
  ax: readonly number[],
  ay: readonly (number | null)[],
  bx: readonly number[],
  by: readonly (number | null)[],
): [number[], (number | null)[], (number | null)[]] {
  const x: number[] = [];
  const ya: (number | null)[] = [];
  const yb: (number | null)[] = [];
  let i = 0;
  let j = 0;
  while (i < ax.length || j < bx.length) {
    const a = i < ax.length ? ax[i] : Infinity;
    const b = j < bx.length ? bx[j] : Infinity;
    const s = Math.min(a, b);
    x.push(s);
    ya.push(a === s ? ay[i++] : null);
    yb.push(b === s ? by[j++] : null);
  }
  return [x, ya, yb];
}
