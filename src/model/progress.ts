// One progress type for every long task (import, tokenization, warm-up, index build, training,
// evaluation). The UI renders it as a bar with an ETA.

export interface Progress {
  /** What is running, e.g. 'import', 'tokenize', 'ict', 'mlm', 'realm', 'index-build', 'eval'. */
  task: string;
  /** Units done so far and the total (total 0 when unknown). */
  done: number;
  total: number;
  /** What a unit is: 'bytes', 'passages', 'chunks', 'steps', ... */
  unit: string;
  /** Units per second, averaged since the start. */
  rate: number;
  /** Seconds left, or null when unknown. */
  etaSeconds: number | null;
  /** Optional detail, e.g. "12,345 passages, 3 bad lines". */
  detail?: string;
}

/** Builds Progress records for one task, with the rate and ETA measured from construction. */
export class ProgressMeter {
  private readonly start: number;

  constructor(
    readonly task: string,
    readonly unit: string,
    public total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.start = now();
  }

  at(done: number, detail?: string): Progress {
    const seconds = (this.now() - this.start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const left = this.total - done;
    const etaSeconds = this.total > 0 && rate > 0 ? Math.max(0, left / rate) : null;
    return { task: this.task, done, total: this.total, unit: this.unit, rate, etaSeconds, detail };
  }
}

/** "1 h 02 min", "3 min 05 s", "42 s", or "–" for unknown. */
export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** How many recent steps of a phase the training rate is measured over. */
export const RATE_WINDOW = 20;
/** A step in progress this many times longer than the phase's recent mean makes the ETA unknown. */
export const SLOW_STEP_FACTOR = 3;

/** What the Training panel shows of a run's speed. */
export interface TrainingRate {
  /** Steps per second of the current phase over its last RATE_WINDOW steps; null before two steps. */
  stepsPerSecond: number | null;
  /** Seconds left, or null when unknown (no rate yet, or the step in progress is much slower than usual). */
  etaSeconds: number | null;
  /** Why the ETA is unknown or only partly measured, in a few words. */
  note: string | null;
}

/**
 * Training speed from a moving window of recent steps, one window per phase (an ICT step and a
 * REALM step differ several-fold). Fed the wall time at which each step ended; a pause or resume
 * calls `restart` so the time spent stopped never counts as a step.
 */
export class StepRateMeter {
  private readonly windows = new Map<string, number[]>();
  private lastTime: number | null = null;

  constructor(private readonly window = RATE_WINDOW) {}

  /** A step of `phase` ended at `time` (ms). */
  record(phase: string, time: number): void {
    if (this.lastTime !== null && time >= this.lastTime) {
      const w = this.windows.get(phase) ?? [];
      w.push(time - this.lastTime);
      if (w.length > this.window) w.shift();
      this.windows.set(phase, w);
    }
    this.lastTime = time;
  }

  /** Training (re)starts at `time`: the next step is timed from here. */
  restart(time: number): void {
    this.lastTime = time;
  }

  /** Mean milliseconds per step of `phase` over its window, or null before its first timed step. */
  meanStepMs(phase: string): number | null {
    const w = this.windows.get(phase);
    if (!w || w.length === 0) return null;
    return w.reduce((a, b) => a + b, 0) / w.length;
  }

  /**
   * The rate and ETA at `now` (ms) in `phase`, with `left` the steps still to take in each phase (the
   * current one included). Phases not timed yet are timed as the current one, and the note says so.
   */
  at(phase: string, left: Record<string, number>, now: number): TrainingRate {
    const mean = this.meanStepMs(phase);
    if (mean === null || mean <= 0) return { stepsPerSecond: null, etaSeconds: null, note: 'measuring…' };
    const stepsPerSecond = 1000 / mean;
    const inProgress = this.lastTime === null ? 0 : now - this.lastTime;
    if (inProgress > SLOW_STEP_FACTOR * mean && inProgress > 1000)
      return {
        stepsPerSecond,
        etaSeconds: null,
        note: `unknown: this step has taken ${(inProgress / 1000).toFixed(0)} s, usually ${(mean / 1000).toFixed(1)} s`,
      };
    let ms = 0;
    const guessed: string[] = [];
    for (const [p, steps] of Object.entries(left)) {
      if (steps <= 0) continue;
      const m = this.meanStepMs(p);
      if (m === null && p !== phase) guessed.push(p.toUpperCase());
      ms += steps * (m ?? mean);
    }
    const note = guessed.length > 0 ? `${guessed.join(' and ')} not timed yet` : null;
    return { stepsPerSecond, etaSeconds: ms / 1000, note };
  }
}
