// The watchdog of a Web Worker behind Comlink, for its whole life. A worker can die without a word:
// the browser kills it (out of memory, a crash), or a message to it cannot be read; a Comlink call
// to a dead worker never settles, so whoever awaits it would hang. The watchdog listens for `error`
// and `messageerror` from start to end, and while a job runs it pings the worker: when the worker
// says nothing (no answer, no progress) for `silenceMs`, it is declared dead. Then the job rejects
// with WorkerStoppedError, the worker is terminated, and `died` resolves so that the owner can clear
// the job and start a fresh worker.

/** How long a worker may stay silent during a job, and how often it is pinged meanwhile. */
export interface WatchdogTimes {
  /** A running job whose worker gives no sign of life (answer or progress) for this long fails (ms). */
  silenceMs: number;
  /** Pings sent to the worker this often while a job runs (ms). */
  pingEveryMs: number;
}

/**
 * The times every watchdog reads at each tick. 60 s of silence: longer than any single synchronous
 * stretch of either worker (training a vocabulary on the 4 MB sample, one embedding batch).
 * Tests shorten them (the page's test hook `setWatchdogTimes`).
 */
export const WATCHDOG_TIMES: WatchdogTimes = { silenceMs: 60_000, pingEveryMs: 2_000 };

/** A worker stopped or went silent during a job; the job is abandoned. */
export class WorkerStoppedError extends Error {
  constructor(
    readonly worker: string,
    readonly reason: string,
  ) {
    super(`The ${worker} worker stopped (${reason}).`);
    this.name = 'WorkerStoppedError';
  }
}

/** What the watchdog needs of a Worker (a Worker, or an EventTarget in tests). */
type WatchedWorker = Pick<Worker, 'addEventListener' | 'terminate'>;

export class WorkerWatchdog {
  /** Resolves with the reason once the worker is declared dead (never rejects). */
  readonly died: Promise<string>;
  private declareDead: (reason: string) => void = () => {};
  private reason: string | null = null;
  private lastSign = Date.now();
  private jobs = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;

  constructor(
    private readonly worker: WatchedWorker,
    /** What the worker is, in messages: 'corpus importer', 'index builder'. */
    private readonly name: string,
    /** A cheap call that the worker answers when its event loop is free. */
    private readonly ping: () => Promise<unknown>,
    private readonly times: WatchdogTimes = WATCHDOG_TIMES,
  ) {
    this.died = new Promise<string>((resolve) => (this.declareDead = resolve));
    worker.addEventListener('error', (e) => {
      const message = (e as ErrorEvent).message;
      this.fail(`it failed with an uncaught error${message ? `: ${message}` : ''}`);
    });
    worker.addEventListener('messageerror', () => this.fail('a message from it could not be read'));
    worker.addEventListener('message', () => this.alive());
  }

  /** Whether the worker was declared dead, and why. */
  get deadReason(): string | null {
    return this.reason;
  }

  /** Something came from the worker (an answer, a progress report): it is alive. */
  alive(): void {
    this.lastSign = Date.now();
  }

  /** `job` (a call into the worker), failing with WorkerStoppedError if the worker dies or goes silent first. */
  async watch<T>(job: Promise<T>): Promise<T> {
    if (this.reason !== null) {
      job.catch(() => {});
      throw new WorkerStoppedError(this.name, this.reason);
    }
    if (this.jobs++ === 0) this.startTicking();
    const dead = this.died.then((reason) => Promise.reject(new WorkerStoppedError(this.name, reason)));
    try {
      return await Promise.race([job, dead]);
    } finally {
      if (--this.jobs === 0) this.stopTicking();
    }
  }

  /** The owner ends the worker on purpose: no more checks (and no death is declared). */
  stop(): void {
    this.stopped = true;
    this.stopTicking();
  }

  /** Declares the worker dead (once), terminates it and fails the jobs. */
  fail(reason: string): void {
    if (this.reason !== null || this.stopped) return;
    this.reason = reason;
    this.stopTicking();
    try {
      this.worker.terminate();
    } catch {
      // already gone
    }
    this.declareDead(reason);
  }

  private startTicking(): void {
    this.lastSign = Date.now();
    this.timer = setInterval(() => this.tick(), Math.max(10, this.times.pingEveryMs));
  }

  private stopTicking(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private tick(): void {
    const silent = Date.now() - this.lastSign;
    if (silent > this.times.silenceMs) {
      this.fail(`it gave no sign of life for ${Math.round(silent / 100) / 10} s during a job`);
      return;
    }
    this.ping().then(
      () => this.alive(),
      () => {},
    );
  }
}
