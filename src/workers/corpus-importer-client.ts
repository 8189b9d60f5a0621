// Main-thread client of the corpus importer. Creates the worker; if a Worker cannot be created or
// fails to start, runs the same CorpusImporter class on the main thread and says so.
import * as Comlink from 'comlink';
import {
  CorpusImporter,
  type BundledCorpusOptions,
  type ImportFileOptions,
  type ImportOutcome,
  type ImportProgressCallback,
} from './corpus-importer';

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
}

const START_TIMEOUT_MS = 30_000;

function handle(
  api: CorpusImporterApi,
  mode: 'worker' | 'main-thread',
  terminate: () => void,
  fallbackReason?: string,
): CorpusImporterHandle {
  // A callback crosses into the worker as a Comlink proxy; on the main thread it is passed as it is.
  const cb = (f?: ImportProgressCallback) => (f && mode === 'worker' ? Comlink.proxy(f) : f);
  return {
    api,
    mode,
    fallbackReason,
    importFile: (file, opts, onProgress) => api.importFile(file, opts, cb(onProgress)),
    installBundled: (opts, onProgress) => api.installBundled(opts, cb(onProgress)),
    cancel: async (jobId) => {
      await api.cancel(jobId);
    },
    terminate,
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
      const failed = new Promise<never>((_, reject) => {
        w.addEventListener('error', (e) => reject(new Error(e.message || 'the worker script failed to load')));
        setTimeout(() => reject(new Error(`the worker did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      });
      await Promise.race([api.ping(), failed]);
      return handle(api, 'worker', () => w.terminate());
    } catch (e) {
      worker?.terminate();
      reason = `a Web Worker could not be started (${(e as Error).message})`;
    }
  }
  return handle(new CorpusImporter(), 'main-thread', () => {}, reason);
}
