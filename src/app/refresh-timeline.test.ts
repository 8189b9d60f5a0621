import { describe, expect, it } from 'vitest';
import { buildTimeline, secondTicks, stepsDuringBuilds, timeScale } from './refresh-timeline';
import type { RunEvent } from './studio-store';

/** An event log written by hand: 2 ICT steps, 2 MLM steps, then REALM steps with two async builds. */
function log(): RunEvent[] {
  const ev: RunEvent[] = [];
  let t = 1000;
  const at = (e: Omit<RunEvent, 'time'>) => ev.push({ ...e, time: (t += 100) });
  at({ type: 'status', step: 0, detail: 'running' });
  at({ type: 'step', step: 1, detail: 'ict', version: 0, staleness: 0 });
  at({ type: 'step', step: 2, detail: 'ict', version: 0, staleness: 0 });
  at({ type: 'step', step: 3, detail: 'mlm', version: 0, staleness: 0 });
  at({ type: 'step', step: 4, detail: 'mlm', version: 0, staleness: 0 });
  // First index: built at step 4 (snapshot), swapped in at step 4.
  at({ type: 'build-start', step: 4, version: 1, snapshotStep: 4 }); // t=1600
  at({ type: 'build-end', step: 4, version: 1, snapshotStep: 4, detail: 'ok' });
  at({ type: 'swap', step: 4, version: 1, staleness: 0 }); // t=1800
  at({ type: 'step', step: 5, detail: 'realm', version: 1, staleness: 1 });
  at({ type: 'build-start', step: 5, version: 2, snapshotStep: 5 }); // t=2000
  at({ type: 'step', step: 6, detail: 'realm', version: 1, staleness: 2 });
  at({ type: 'step', step: 7, detail: 'realm', version: 1, staleness: 3 });
  at({ type: 'build-end', step: 7, version: 2, snapshotStep: 5, detail: 'ok' });
  at({ type: 'swap', step: 7, version: 2, staleness: 2 }); // t=2400
  at({ type: 'step', step: 8, detail: 'realm', version: 2, staleness: 3 });
  at({ type: 'build-start', step: 8, version: 3, snapshotStep: 8 }); // t=2600
  at({ type: 'step', step: 9, detail: 'realm', version: 2, staleness: 4 });
  at({ type: 'build-end', step: 9, version: 3, snapshotStep: 8, detail: 'Error: device lost' });
  at({ type: 'status', step: 9, detail: 'paused' });
  at({ type: 'status', step: 9, detail: 'running' });
  at({ type: 'step', step: 10, detail: 'realm', version: 2, staleness: 5 }); // t=3100
  return ev;
}

describe('buildTimeline', () => {
  it('makes one trainer span per phase run, broken at a pause', () => {
    const t = buildTimeline(log(), null, 5000);
    expect(t.spans.map((s) => [s.phase, s.firstStep, s.lastStep])).toEqual([
      ['ict', 1, 2],
      ['mlm', 3, 4],
      ['realm', 5, 9],
      ['realm', 10, 10],
    ]);
    // A span starts where the previous step ended (no gap between phases), except after a pause.
    expect(t.spans[1].start).toBe(t.spans[0].end);
    expect(t.spans[3].start).toBe(t.spans[3].end);
    expect(t.stepTimes.length).toBe(10);
  });

  it('makes one builder bar per build, from snapshot to swap, with its state', () => {
    const t = buildTimeline(log(), null, 5000);
    expect(t.bars.map((b) => ({ v: b.version, s: b.snapshotStep, w: b.swapStep, state: b.state, len: b.end - b.start }))).toEqual(
      [
        { v: 1, s: 4, w: 4, state: 'swapped', len: 200 },
        { v: 2, s: 5, w: 7, state: 'swapped', len: 400 },
        { v: 3, s: 8, w: undefined, state: 'failed', len: 200 },
      ],
    );
    expect(t.bars[2].error).toBe('Error: device lost');
    // The trainer stepped while builds 2 and 3 ran: the point of the asynchronous refresh.
    expect(stepsDuringBuilds(t)).toEqual([0, 2, 1]);
  });

  it('plots the staleness of REALM steps only', () => {
    const t = buildTimeline(log(), null, 5000);
    expect(t.staleness.map((p) => [p.step, p.staleness, p.version])).toEqual([
      [5, 1, 1],
      [6, 2, 1],
      [7, 3, 1],
      [8, 3, 2],
      [9, 4, 2],
      [10, 5, 2],
    ]);
    expect(t.maxStaleness).toBe(5);
    expect(t.t0).toBe(1100);
    expect(t.t1).toBe(3100);
  });

  it('runs a build in flight up to now, also before its start event is logged', () => {
    const ev = log().slice(0, 10); // ends just after build-start of v2 (t=2000)
    const t = buildTimeline(ev, { version: 2, snapshotStep: 5, start: 2000, progress: null }, 2600);
    expect(t.bars.at(-1)).toMatchObject({ version: 2, state: 'building', start: 2000, end: 2600 });
    expect(t.t1).toBe(2600);
    const early = buildTimeline(ev.slice(0, 9), { version: 2, snapshotStep: 5, start: 2000, progress: null }, 2300);
    expect(early.bars.map((b) => [b.version, b.state])).toEqual([
      [1, 'swapped'],
      [2, 'building'],
    ]);
  });

  it('draws a swap with no build start from the snapshot step', () => {
    const ev: RunEvent[] = [
      { type: 'step', step: 11, detail: 'realm', version: 4, staleness: 1, time: 10 },
      { type: 'step', step: 12, detail: 'realm', version: 4, staleness: 2, time: 20 },
      { type: 'swap', step: 12, version: 5, staleness: 1, time: 25 },
    ];
    const t = buildTimeline(ev, null, 30);
    expect(t.bars).toEqual([{ version: 5, snapshotStep: 11, start: 10, end: 25, state: 'swapped', swapStep: 12 }]);
  });

  it('is empty but well formed with no events', () => {
    const t = buildTimeline([], null, 42);
    expect(t).toMatchObject({ spans: [], bars: [], staleness: [], t0: 42, t1: 43 });
  });
});

describe('axis helpers', () => {
  it('maps time linearly', () => {
    const x = timeScale(100, 200, 0, 500);
    expect([x(100), x(150), x(200)]).toEqual([0, 250, 500]);
  });
  it('chooses round second ticks', () => {
    expect(secondTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(secondTicks(95)).toEqual([0, 20, 40, 60, 80]);
    expect(secondTicks(0.5)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5]);
    expect(secondTicks(0)).toEqual([0]);
  });
});
