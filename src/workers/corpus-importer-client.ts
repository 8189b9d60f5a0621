// Main-thread client of the corpus importer. Creates the worker; if a Worker cannot be created or
// fails to start, runs the same CorpusImporter class on the main thread and says so. A watchdog
// (worker-watchdog.ts) follows the worker for its whole life: if it dies or goes silent during an
// import, that import rejects with WorkerStoppedError and the handle is dead (`dead` is set); the
// owner then starts a new importer for the next job.
import * as Comlink from 'comlink';
import {
  CorpusImporter,
  type BundledCorpusOptions,
  type ImportFileOptions,
  type ImportOutcome,
  type ImportProgressCallback,
} from './corpus-importer';
import { WorkerWatchdog } from './worker-watchdog';

/** The importer's API as the main thread sees it: every method is async, in both modes. */
type CorpusImporterApi = Comlink.Remote<CorpusImporter> | CorpusImporter;

export interface CorpusImporterHandle {
  api: CorpusImporterApi;
  mode: 'worker' | 'main-thread';
  /** Why the importer runs on the main thread, when it does. */
  fallbackReason?: string;
  /** Imports a user's file; progress arrives through `onProgress` in both modes. */
  importFile(file: Blob, opts: ImportFileOptions, onProgress?: ImportProgressCallback): Promise<ImportOutcome>;
  installBundled(opts: BundledCorpusOptions, onProgress?: ImportProgressCallback): Promise<ImportOutcome>;
  cancel(jobId: string): Promise<void>;
  terminate(): void;
  /** Why the worker was declared dead (it stopped or went silent), or null while it is usable. */
  readonly dead: string | null;
  /** Test hook: the worker ends without a word, as when the browser kills it (the watchdog must notice). */
  killSilently(): void;
}

const START_TIMEOUT_MS = 30_000;

function handle(
  api: CorpusImporterApi,
  mode: 'worker' | 'main-thread',
  worker: { terminate: () => void; watchdog: WorkerWatchdog } | null,
  fallbackReason?: string,
): CorpusImporterHandle {
  const watchdog = worker?.watchdog;
  // A callback crosses into the worker as a Comlink proxy; on the main thread it is passed as it is.
  // Every progress report is a sign of life for the watchdog.
  const cb = (f?: ImportProgressCallback): ImportProgressCallback | undefined => {
    if (!watchdog) return f;
    return Comlink.proxy((p: Parameters<ImportProgressCallback>[0]) => {
      watchdog.alive();
      return f?.(p);
    });
  };
  const watch = <T>(job: Promise<T>) => (watchdog ? watchdog.watch(job) : job);
  return {
    api,
    mode,
    fallbackReason,
    importFile: (file, opts, onProgress) => watch(api.importFile(file, opts, cb(onProgress))),
    installBundled: (opts, onProgress) => watch(api.installBundled(opts, cb(onProgress))),
    cancel: async (jobId) => {
      if (watchdog?.deadReason) return;
      await watch(Promise.resolve(api.cancel(jobId)));
    },
    terminate: () => {
      watchdog?.stop();
      worker?.terminate();
    },
    get dead() {
      return watchdog?.deadReason ?? null;
    },
    killSilently: () => worker?.terminate(),
  };
}

/** Starts the importer in a module worker; `forceMainThread` tests the fallback (`?worker=off`). */
export async function startCorpusImporter(opts: { forceMainThread?: boolean } = {}): Promise<CorpusImporterHandle> {
  let reason = opts.forceMainThread ? 'the worker was turned off with ?worker=off' : '';
  if (!reason) {
    let worker: Worker | null = null;
    try {
      worker = new Worker(new URL('./corpus-importer.worker.ts', import.meta.url), { type: 'module', name: 'corpus-importer' });
      const w = worker;
      const api = Comlink.wrap<CorpusImporter>(w);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const failed = new Promise<never>((_, reject) => {
        w.addEventListener('error', (e) => reject(new Error(e.message || 'the worker script failed to load')));
        timer = setTimeout(
          () => reject(new Error(`the worker did not start within ${START_TIMEOUT_MS / 1000} s`)),
          START_TIMEOUT_MS,
        );
      });
      await Promise.race([api.ping(), failed]);
      clearTimeout(timer);
      const watchdog = new WorkerWatchdog(w, 'corpus importer', () => api.ping());
      return handle(api, 'worker', { terminate: () => w.terminate(), watchdog });
    } catch (e) {
      worker?.terminate();
      reason = `a Web Worker could not be started (${(e as Error).message})`;
    }
  }
  return handle(new CorpusImporter(), 'main-thread', null, reason);
}
