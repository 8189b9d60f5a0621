import { describe, expect, it } from 'vitest';
import { formatEta, ProgressMeter, StepRateMeter } from './progress';

describe('ProgressMeter', () => {
  it('measures rate and ETA from its start', () => {
    let t = 1000;
    const m = new ProgressMeter('index-build', 'chunks', 300, () => t);
    t += 2000; // 2 s later, 100 done: 50/s, 200 left -> 4 s
    const p = m.at(100);
    expect(p.rate).toBeCloseTo(50);
    expect(p.etaSeconds).toBeCloseTo(4);
    expect(p.unit).toBe('chunks');
  });
  it('has no ETA when the total is unknown or nothing is done', () => {
    let t = 0;
    const m = new ProgressMeter('import', 'bytes', 0, () => t);
    t = 1000;
    expect(m.at(10).etaSeconds).toBeNull();
    expect(new ProgressMeter('x', 'y', 10, () => 0).at(0).etaSeconds).toBeNull();
  });
});

describe('formatEta', () => {
  it('formats seconds, minutes and hours', () => {
    expect(formatEta(null)).toBe('–');
    expect(formatEta(42.4)).toBe('42 s');
    expect(formatEta(185)).toBe('3 min 05 s');
    expect(formatEta(3720)).toBe('1 h 02 min');
  });
});

describe('StepRateMeter', () => {
  /** Steps of `phase` every `ms` milliseconds from `t`; returns the time of the last. */
  function steps(m: StepRateMeter, phase: string, n: number, ms: number, t: number): number {
    for (let i = 0; i < n; i++) m.record(phase, (t += ms));
    return t;
  }

  it('measures the rate over the recent steps of the current phase, not the whole run', () => {
    const m = new StepRateMeter(20);
    m.restart(0);
    let t = steps(m, 'mlm', 100, 250, 0); // 4 steps/s
    t = steps(m, 'realm', 30, 600, t); // then 1.67 steps/s
    const r = m.at('realm', { realm: 70 }, t + 100);
    expect(r.stepsPerSecond).toBeCloseTo(1000 / 600, 6);
    expect(r.etaSeconds).toBeCloseTo((70 * 600) / 1000, 6);
    expect(r.note).toBeNull();
    // A whole-run average would say (130 steps in 43 s) about 3 steps/s.
    expect(r.stepsPerSecond!).toBeLessThan(2);
  });

  it('keeps a window: a slow spell long ago no longer counts', () => {
    const m = new StepRateMeter(5);
    m.restart(0);
    let t = steps(m, 'ict', 5, 5000, 0);
    t = steps(m, 'ict', 5, 100, t);
    expect(m.at('ict', { ict: 10 }, t).stepsPerSecond).toBeCloseTo(10, 6);
  });

  it('times each phase apart and says when a later phase is not timed yet', () => {
    const m = new StepRateMeter();
    m.restart(0);
    const t = steps(m, 'ict', 10, 100, 0);
    const r = m.at('ict', { ict: 5, mlm: 0, realm: 10 }, t);
    expect(r.etaSeconds).toBeCloseTo(1.5, 6); // 15 steps at the ICT rate
    expect(r.note).toBe('REALM not timed yet');
  });

  it('makes the ETA unknown while the step in progress is much slower than usual', () => {
    const m = new StepRateMeter();
    m.restart(0);
    const t = steps(m, 'realm', 10, 1000, 0);
    expect(m.at('realm', { realm: 10 }, t + 2500).etaSeconds).toBeCloseTo(10, 6);
    const slow = m.at('realm', { realm: 10 }, t + 140_000);
    expect(slow.etaSeconds).toBeNull();
    expect(slow.note).toMatch(/unknown: this step has taken 140 s, usually 1.0 s/);
  });

  it('does not count the time a run stood paused', () => {
    const m = new StepRateMeter();
    m.restart(0);
    let t = steps(m, 'mlm', 4, 500, 0);
    m.restart(t + 600_000); // paused ten minutes, then resumed
    t = steps(m, 'mlm', 2, 500, t + 600_000);
    expect(m.at('mlm', { mlm: 4 }, t).stepsPerSecond).toBeCloseTo(2, 6);
  });

  it('has no rate before a step is timed', () => {
    const m = new StepRateMeter();
    expect(m.at('ict', { ict: 3 }, 0)).toEqual({ stepsPerSecond: null, etaSeconds: null, note: 'measuring…' });
    m.record('ict', 10); // the first step ever has nothing to be timed from
    expect(m.at('ict', { ict: 3 }, 20).stepsPerSecond).toBeNull();
  });
});
