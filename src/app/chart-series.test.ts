import { describe, expect, it } from 'vitest';
import type { EvalMetrics, StepMetrics } from '../model/metrics';
import { chartValue, EVAL_METRICS, formatMetric, overlaySteps, phaseSpans, SeriesColumns, STEP_METRICS } from './chart-series';

function step(i: number, phase: StepMetrics['phase']): StepMetrics {
  const realm = phase === 'realm';
  return {
    phase,
    step: i,
    phaseStep: i,
    loss: 10 / i,
    mlmAccuracy: i / 100,
    meanPNull: realm ? 0.5 : NaN,
    meanRetrievalUtility: realm ? 0.01 * i : NaN,
    retrievalEntropy: realm ? 1 : NaN,
    indexVersion: 0,
    staleness: 0,
    learningRate: 1e-3,
    gradNorm: 1,
    stepMs: 5,
    time: i,
  };
}

describe('SeriesColumns', () => {
  const keys = STEP_METRICS.map((m) => m.key);

  it('appends only new records, with non-finite values as gaps', () => {
    const history: StepMetrics[] = [step(1, 'ict'), step(2, 'mlm')];
    const cols = new SeriesColumns<StepMetrics>(keys);
    expect(cols.sync(history)).toBe(true);
    expect(cols.x).toEqual([1, 2]);
    expect(cols.ys[keys.indexOf('meanPNull')]).toEqual([null, null]);
    const rev = cols.revision;
    expect(cols.sync(history)).toBe(false);
    expect(cols.revision).toBe(rev);
    history.push(step(3, 'realm'));
    const xBefore = cols.x;
    expect(cols.sync(history)).toBe(true);
    expect(cols.x).toBe(xBefore); // same array, grown in place
    expect(cols.x).toEqual([1, 2, 3]);
    expect(cols.ys[keys.indexOf('loss')]).toEqual([10, 5, 10 / 3]);
    expect(cols.ys[keys.indexOf('meanPNull')]).toEqual([null, null, 0.5]);
    expect(cols.countValues(keys.indexOf('meanPNull'))).toBe(1);
  });

  it('starts over on a new run (a different array) or a shorter one', () => {
    const cols = new SeriesColumns<StepMetrics>(keys);
    cols.sync([step(1, 'ict'), step(2, 'ict')]);
    cols.sync([step(7, 'realm')]);
    expect(cols.x).toEqual([7]);
    cols.sync(null);
    expect(cols.length).toBe(0);
  });

  it('keeps up with thousands of steps, appending each tick in constant work', () => {
    const history: StepMetrics[] = [];
    const cols = new SeriesColumns<StepMetrics>(keys);
    const t0 = performance.now();
    for (let i = 1; i <= 5000; i++) {
      history.push(step(i, i < 100 ? 'ict' : 'realm'));
      cols.sync(history);
    }
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(cols.length).toBe(5000);
    expect(cols.x[4999]).toBe(5000);
  });

  it('reads evaluation records by their own keys', () => {
    // A run stored before #31 has no gold recall: a gap (null), not 0.
    const evals: EvalMetrics[] = [
      { step: 4, clozeAccuracy: 0.25, clozeAccuracyNullOnly: 0.1, recallAt5: 0.5, time: 0 },
      { step: 8, clozeAccuracy: 0.5, clozeAccuracyNullOnly: 0.1, recallAt5: 0.5, goldRecallAt5: 0.75, time: 1 },
    ];
    const cols = new SeriesColumns<EvalMetrics>(EVAL_METRICS.map((m) => m.key));
    cols.sync(evals);
    expect(cols.ys).toEqual([
      [0.25, 0.5],
      [0.1, 0.1],
      [0.5, 0.5],
      [null, 0.75],
    ]);
  });
});

describe('helpers', () => {
  it('phaseSpans groups consecutive steps of one phase', () => {
    const steps = [step(1, 'ict'), step(2, 'ict'), step(3, 'mlm'), step(4, 'realm'), step(5, 'realm')];
    expect(phaseSpans(steps)).toEqual([
      { phase: 'ict', firstStep: 1, lastStep: 2 },
      { phase: 'mlm', firstStep: 3, lastStep: 3 },
      { phase: 'realm', firstStep: 4, lastStep: 5 },
    ]);
    expect(phaseSpans([])).toEqual([]);
  });

  it('chartValue keeps finite numbers only', () => {
    expect([chartValue(1.5), chartValue(NaN), chartValue(Infinity), chartValue(undefined), chartValue(0)]).toEqual([
      1.5,
      null,
      null,
      null,
      0,
    ]);
  });

  it('formatMetric shows shares as percentages', () => {
    expect(formatMetric(0.256, [0, 1])).toBe('25.6%');
    expect(formatMetric(2.3456)).toBe('2.35');
    expect(formatMetric(-0.0001234)).toBe('-1.23e-4');
    expect(formatMetric(NaN)).toBe('–');
    expect(formatMetric(null)).toBe('–');
  });

  it('every charted metric has a label and an explanation', () => {
    for (const m of [...STEP_METRICS, ...EVAL_METRICS]) {
      expect(m.label.length).toBeGreaterThan(2);
      expect(m.explain.length).toBeGreaterThan(30);
    }
  });
});

describe('overlaySteps', () => {
  it('puts two runs on one step axis, with gaps where a run has no step', () => {
    const [x, a, b] = overlaySteps([1, 2, 3], [0.5, 0.4, 0.3], [2, 3, 4, 5], [0.9, 0.8, 0.7, null]);
    expect(x).toEqual([1, 2, 3, 4, 5]);
    expect(a).toEqual([0.5, 0.4, 0.3, null, null]);
    expect(b).toEqual([null, 0.9, 0.8, 0.7, null]);
    expect(overlaySteps([], [], [1], [2])).toEqual([[1], [null], [2]]);
  });
});
