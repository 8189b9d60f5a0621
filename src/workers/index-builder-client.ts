// Main-thread client of the index builder. Creates the worker; if a Worker cannot be created or fails
// to start, runs the same IndexBuilder class on the main thread and says so. A watchdog
// (worker-watchdog.ts) follows the worker for its whole life (`error`, `messageerror`, and silence
// during a build); `BuilderSupervisor` restarts a builder whose worker died, went silent or lost its
// GPU, so that the trainer carries on, and a build under way fails instead of hanging.
import * as Comlink from 'comlink';
import type { BackendReport } from '../platform/backend';
import type { Progress } from '../model/progress';
import { IndexBuilder, type BuildRequest, type BuiltIndex, type IndexBuilderInit } from './index-builder';
import { WorkerWatchdog } from './worker-watchdog';

/** The builder's API as the main thread sees it: every method is async, in both modes. */
type IndexBuilderApi = Comlink.Remote<IndexBuilder> | IndexBuilder;

export interface IndexBuilderHandle {
  api: IndexBuilderApi;
  mode: 'worker' | 'main-thread';
  /** Why the builder runs on the main thread, when it does. */
  fallbackReason?: string;
  backend: BackendReport;
  /** Resolves with a reason if the worker dies after it started (never in main-thread mode). */
  crashed: Promise<string>;
  /** `job` (a call into the builder), failing if the worker dies or goes silent meanwhile. */
  watch<T>(job: Promise<T>): Promise<T>;
  /** Every progress report of a build is a sign of life. */
  alive(): void;
  terminate(): void;
  /** Test hook: the worker ends without a word, as when the browser kills it (the watchdog must notice). */
  killSilently(): void;
}

const START_TIMEOUT_MS = 30_000;

/** Starts the builder in a module worker; `forceMainThread` tests the fallback (`?worker=off`). */
async function startIndexBuilder(init: IndexBuilderInit, opts: { forceMainThread?: boolean } = {}): Promise<IndexBuilderHandle> {
  let reason = opts.forceMainThread ? 'the worker was turned off with ?worker=off' : '';
  if (!reason) {
    let worker: Worker | null = null;
    try {
      worker = new Worker(new URL('./index-builder.worker.ts', import.meta.url), { type: 'module', name: 'index-builder' });
      const w = worker;
      let onCrash: (reason: string) => void = () => {};
      const crashed = new Promise<string>((resolve) => (onCrash = resolve));
      const api = Comlink.wrap<IndexBuilder>(w);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const failed = new Promise<never>((_, reject) => {
        w.addEventListener('error', (e) => {
          const why = e.message || 'the worker script failed';
          onCrash(why);
          reject(new Error(why));
        });
        timer = setTimeout(
          () => reject(new Error(`the worker did not start within ${START_TIMEOUT_MS / 1000} s`)),
          START_TIMEOUT_MS,
        );
      });
      failed.catch(() => {});
      const backend = await Promise.race([api.init(init), failed]);
      clearTimeout(timer);
      const watchdog = new WorkerWatchdog(w, 'index-builder', () => api.backendName());
      void watchdog.died.then(onCrash);
      return {
        api,
        mode: 'worker',
        backend,
        crashed,
        watch: (job) => watchdog.watch(job),
        alive: () => watchdog.alive(),
        terminate: () => {
          watchdog.stop();
          onCrash('terminated');
          w.terminate();
        },
        killSilently: () => w.terminate(),
      };
    } catch (e) {
      worker?.terminate();
      reason = `a Web Worker could not be started (${(e as Error).message})`;
    }
  }
  const builder = new IndexBuilder();
  const backend = await builder.init(init);
  return {
    api: builder,
    mode: 'main-thread',
    fallbackReason: reason,
    backend,
    crashed: new Promise<string>(() => {}),
    watch: (job) => job,
    alive: () => {},
    terminate: () => builder.cancel(),
    killSilently: () => {},
  };
}

/** Marks a typed array to be moved (not copied) to the builder; the sender's copy is detached. */
export function moved<T extends ArrayBufferView>(x: T): T {
  return Comlink.transfer(x, [x.buffer as ArrayBuffer]);
}

/** The builder's worker died (or was killed) during a build. */
export class BuilderCrashedError extends Error {
  constructor(reason: string) {
    super(`The index-builder worker stopped (${reason}); it is being restarted and training goes on with the current index.`);
    this.name = 'BuilderCrashedError';
  }
}

/**
 * Owns the current builder handle. `build()` moves the weights to the builder and rejects with
 * BuilderCrashedError if the worker dies meanwhile; the supervisor then starts a fresh builder.
 */
export class BuilderSupervisor {
  restarts = 0;
  private restarting: Promise<void> | null = null;
  /** The last restart failed: the handle is a dead builder, so the next build restarts first. */
  private restartFailed = false;

  private constructor(
    public handle: IndexBuilderHandle,
    private readonly init: IndexBuilderInit,
    private readonly opts: { forceMainThread?: boolean },
  ) {
    this.watch();
  }

  static async start(init: IndexBuilderInit, opts: { forceMainThread?: boolean } = {}): Promise<BuilderSupervisor> {
    return new BuilderSupervisor(await startIndexBuilder(init, opts), init, opts);
  }

  get mode(): 'worker' | 'main-thread' {
    return this.handle.mode;
  }

  private watch(): void {
    const h = this.handle;
    h.crashed.then(() => {
      if (this.handle === h) this.restart().catch(() => {}); // the next build tries again, and reports a failure
    });
  }

  /** Replaces the builder with a fresh one (after a crash or a lost GPU device). */
  restart(): Promise<void> {
    this.restarting ??= (async () => {
      this.handle.terminate();
      try {
        this.handle = await startIndexBuilder(this.init, this.opts);
      } catch (e) {
        this.restartFailed = true;
        throw e;
      }
      this.restartFailed = false;
      this.restarts++;
      this.watch();
    })().finally(() => (this.restarting = null));
    return this.restarting;
  }

  async build(req: BuildRequest, onProgress?: (p: Progress) => void): Promise<BuiltIndex> {
    if (this.restarting) await this.restarting;
    else if (this.restartFailed) await this.restart();
    const h = this.handle;
    const payload: BuildRequest = { ...req, yieldBetweenBatches: h.mode === 'main-thread' };
    const message = Comlink.transfer(
      payload,
      req.weights.map((w) => w.data),
    );
    const progress = onProgress
      ? Comlink.proxy((p: Progress) => {
          h.alive();
          onProgress(p);
        })
      : undefined;
    const crash = h.crashed.then((why) => Promise.reject(new BuilderCrashedError(why)));
    try {
      return await Promise.race([h.watch(h.api.build(message, progress)), crash]);
    } catch (e) {
      if ((e as Error).name === 'WorkerStoppedError') throw new BuilderCrashedError((e as { reason: string }).reason);
      // The restart's own failure reaches the next build, which waits for it.
      if ((e as Error).name === 'GpuDeviceLostError') this.restart().catch(() => {});
      throw e;
    }
  }

  cancel(version?: number): void {
    // A cancel that a dead worker never answers is not an error: the watchdog handles the worker.
    Promise.resolve(this.handle.api.cancel(version)).catch(() => {});
  }

  /** Test and UI hook: kill the worker as if it had crashed. */
  kill(): void {
    this.handle.terminate();
  }

  /** Test hook: the worker ends without a word (the browser killed it); only the watchdog can tell. */
  killSilently(): void {
    this.handle.killSilently();
  }

  terminate(): void {
    this.handle.terminate();
  }
}
