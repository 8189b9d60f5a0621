// Main-thread client of the index builder. Creates the worker; if a Worker cannot be created or fails
// to start, runs the same IndexBuilder class on the main thread and says so.
import * as Comlink from 'comlink';
import type { BackendReport } from '../model/backend';
import { IndexBuilder, type IndexBuilderInit } from './index-builder';

/** The builder's API as the main thread sees it: every method is async, in both modes. */
export type IndexBuilderApi = Comlink.Remote<IndexBuilder> | IndexBuilder;

export interface IndexBuilderHandle {
  api: IndexBuilderApi;
  mode: 'worker' | 'main-thread';
  /** Why the builder runs on the main thread, when it does. */
  fallbackReason?: string;
  backend: BackendReport;
  terminate(): void;
}

const START_TIMEOUT_MS = 30_000;

/** Starts the builder in a module worker; `forceMainThread` tests the fallback (`?worker=off`). */
export async function startIndexBuilder(
  init: IndexBuilderInit,
  opts: { forceMainThread?: boolean } = {},
): Promise<IndexBuilderHandle> {
  let reason = opts.forceMainThread ? 'the worker was turned off with ?worker=off' : '';
  if (!reason) {
    let worker: Worker | null = null;
    try {
      worker = new Worker(new URL('./index-builder.worker.ts', import.meta.url), { type: 'module', name: 'index-builder' });
      const w = worker;
      const api = Comlink.wrap<IndexBuilder>(w);
      const failed = new Promise<never>((_, reject) => {
        w.addEventListener('error', (e) => reject(new Error(e.message || 'the worker script failed to load')));
        setTimeout(() => reject(new Error(`the worker did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
      });
      const backend = await Promise.race([api.init(init), failed]);
      return { api, mode: 'worker', backend, terminate: () => w.terminate() };
    } catch (e) {
      worker?.terminate();
      reason = `a Web Worker could not be started (${(e as Error).message})`;
    }
  }
  const builder = new IndexBuilder();
  const backend = await builder.init(init);
  return { api: builder, mode: 'main-thread', fallbackReason: reason, backend, terminate: () => {} };
}

/** Marks a typed array to be moved (not copied) to the builder; the sender's copy is detached. */
export function moved<T extends ArrayBufferView>(x: T): T {
  return Comlink.transfer(x, [x.buffer as ArrayBuffer]);
}
