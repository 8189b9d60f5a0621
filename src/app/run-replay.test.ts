import { describe, expect, it } from 'vitest';
import type { StepMetrics } from '../model/metrics';
import { buildTimeline } from './refresh-timeline';
import { nextIndexVersion } from './pretraining-run';
import { eventsFromHistory } from './run-replay';

const step = (s: number, phase: StepMetrics['phase'], time: number, indexVersion = 0, staleness = 0) =>
  ({ step: s, phase, time, indexVersion, staleness }) as StepMetrics;

describe('eventsFromHistory', () => {
  // 2 MLM steps, then REALM: v1 built from step 2 and swapped at 3, v2 from step 4 swapped at 6, v3 failed.
  const history = {
    steps: [
      step(1, 'mlm', 1000),
      step(2, 'mlm', 2000),
      step(3, 'realm', 3000, 1, 1),
      step(4, 'realm', 4000, 1, 2),
      step(5, 'realm', 5000, 1, 3),
      step(6, 'realm', 6000, 2, 2),
    ],
    refreshes: [
      { version: 1, snapshotStep: 2, start: 2000, end: 2900, swapStep: 3, chunks: 10, durationMs: 900 },
      { version: 2, snapshotStep: 4, start: 4000, end: 5900, swapStep: 6, chunks: 10, durationMs: 1900 },
    ],
    builds: [
      { version: 1, snapshotStep: 2, time: 2800, step: 2, ok: true, durationMs: 800 },
      { version: 2, snapshotStep: 4, time: 5800, step: 5, ok: true, durationMs: 1800 },
      { version: 3, snapshotStep: 6, time: 6500, step: 6, ok: false, error: 'out of memory', durationMs: 400 },
      // A build from after the restored checkpoint is left out.
      { version: 4, snapshotStep: 9, time: 9000, step: 9, ok: true },
    ],
    evals: [
      { step: 4, clozeAccuracy: 0.1, clozeAccuracyNullOnly: 0.1, recallAt5: 0.2, time: 4100 },
      { step: 8, clozeAccuracy: 0.1, clozeAccuracyNullOnly: 0.1, recallAt5: 0.2, time: 8100 },
    ],
  };

  it('gives the refresh timeline its trainer spans, builder bars and staleness back', () => {
    const events = eventsFromHistory(history);
    expect(events.map((e) => e.time)).toEqual([...events.map((e) => e.time)].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({ type: 'status', detail: 'paused', step: 6 });
    expect(events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([4]);
    const t = buildTimeline(events, null, 10_000);
    expect(t.spans.map((s) => [s.phase, s.firstStep, s.lastStep])).toEqual([
      ['mlm', 1, 2],
      ['realm', 3, 6],
    ]);
    expect(t.bars.map((b) => [b.version, b.state, b.snapshotStep, b.swapStep])).toEqual([
      [1, 'swapped', 2, 3],
      [2, 'swapped', 4, 6],
      [3, 'failed', 6, undefined],
    ]);
    expect(t.bars[0]).toMatchObject({ start: 2000, end: 2900 });
    expect(t.bars[2]).toMatchObject({ start: 6100, end: 6500, error: 'out of memory' });
    expect(t.staleness.map((p) => p.staleness)).toEqual([1, 2, 3, 2]);
    expect(t.maxStaleness).toBe(3);
  });

  it('a step after the replay starts a new span', () => {
    const events = eventsFromHistory(history);
    events.push({ type: 'status', step: 6, time: 20_000, detail: 'running' });
    events.push({ type: 'step', step: 7, time: 21_000, detail: 'realm', version: 2, staleness: 3 });
    const t = buildTimeline(events, null, 22_000);
    expect(t.spans.at(-1)).toMatchObject({ firstStep: 7, lastStep: 7, start: 21_000 });
  });

  it('is empty for a run with no steps, and the next version follows every logged one', () => {
    expect(eventsFromHistory({ steps: [], refreshes: [], builds: [], evals: [] })).toEqual([]);
    expect(nextIndexVersion(history)).toBe(5);
    expect(nextIndexVersion({ refreshes: [], builds: [] })).toBe(1);
  });
});
