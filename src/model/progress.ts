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
