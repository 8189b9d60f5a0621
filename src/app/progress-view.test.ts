import { describe, expect, it } from 'vitest';
import { formatAmount, plural, speedView, stepsLeftByPhase } from './progress-view';

describe('plural', () => {
  it('says 1 step, 0 steps, 2 steps, and takes an irregular plural', () => {
    expect(plural(1, 'step')).toBe('1 step');
    expect(plural(0, 'step')).toBe('0 steps');
    expect(plural(2, 'step')).toBe('2 steps');
    expect(plural(1200, 'passage')).toBe('1,200 passages');
    expect(plural(3, 'index', 'indexes')).toBe('3 indexes');
  });
});

describe('stepsLeftByPhase', () => {
  const c = { ictSteps: 10, mlmSteps: 20, realmSteps: 30 };
  it('splits the steps left by phase', () => {
    expect(stepsLeftByPhase(c, 0)).toEqual({ ict: 10, mlm: 20, realm: 30 });
    expect(stepsLeftByPhase(c, 15)).toEqual({ ict: 0, mlm: 15, realm: 30 });
    expect(stepsLeftByPhase(c, 60)).toEqual({ ict: 0, mlm: 0, realm: 0 });
  });
});

describe('speedView', () => {
  const r = { stepsPerSecond: 10.24, etaSeconds: 10, note: null };
  it('shows nothing for a run that is not training', () => {
    for (const status of ['stopped', 'done', 'paused', 'failed', 'idle'])
      expect(speedView(status, r)).toEqual({ rate: '–', etaSeconds: null, eta: '' });
  });
  it('shows the rate and ETA while training, and says why an ETA is unknown', () => {
    expect(speedView('running', r)).toEqual({ rate: '10.24', etaSeconds: 10, eta: '10 s' });
    expect(speedView('running', { stepsPerSecond: 1, etaSeconds: null, note: 'unknown: slow' }).eta).toBe('unknown: slow');
    expect(speedView('running', { stepsPerSecond: 2, etaSeconds: 75, note: 'REALM not timed yet' }).eta).toBe(
      '1 min 15 s (REALM not timed yet)',
    );
  });
});

describe('formatAmount', () => {
  it('prints bytes and counts', () => {
    expect(formatAmount(1500, 'bytes')).toBe('2 KB');
    expect(formatAmount(12, 'passages')).toBe('12 passages');
  });
});
