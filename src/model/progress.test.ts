import { describe, expect, it } from 'vitest';
import { formatEta, ProgressMeter } from './progress';

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
