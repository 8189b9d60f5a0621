// Starts what the app runs on: the tfjs backend of the page, the index builder (worker or fallback)
// and the storage connection. The UI renders the resulting report; the test hook exposes it.
import * as tf from '@tensorflow/tfjs';
import { parseBackendRequest, selectBackend, type BackendReport } from '../platform/backend';
import { pageGpuMonitor, webgpuDevice } from '../platform/gpu-guard';
import { WASM_PATHS } from '../platform/wasm-assets';

/** The backends the page can run on, in the order it prefers them when the URL names none. */
export { BACKEND_ORDER } from '../platform/backend';
import { RealmStore } from '../storage/db';
import { corpusControllerFor } from './corpus-controller';
import { BuilderSupervisor, moved } from '../workers/index-builder-client';
import { WATCHDOG_TIMES } from '../workers/worker-watchdog';

export interface Runtime {
  backend: BackendReport;
  /** The index builder (a worker, or the main thread when no worker can start), restarted if it dies. */
  builder: BuilderSupervisor;
  store: RealmStore;
}

/** What the start-up is doing, in order: the page shows it while the backend starts. */
export const START_STAGES = {
  backend: 'Choosing the backend: looking for a WebGPU adapter (on a software adapter, timing webgpu against wasm)',
  storage: "Opening this browser's storage (corpora, checkpoints, runs)",
  builder: 'Starting the index builder in a Web Worker',
} as const;
export type StartStage = keyof typeof START_STAGES;

export async function startRuntime(search: string, onStage: (stage: StartStage) => void = () => {}): Promise<Runtime> {
  const params = new URLSearchParams(search);
  const { request, note } = parseBackendRequest(params.get('backend'));
  onStage('backend');
  const backend = await selectBackend({ request, wasmPaths: WASM_PATHS, notes: note ? [note] : [] });
  // Every WebGPU error and a device loss on the page's device reach the run loop (see gpu-guard).
  pageGpuMonitor.attach(webgpuDevice());
  onStage('storage');
  const store = await RealmStore.open();
  onStage('builder');
  const builder = await BuilderSupervisor.start(
    { backend: backend.backend },
    { forceMainThread: params.get('worker') === 'off' },
  );
  return { backend, builder, store };
}

/**
 * `window.__realm`: a small console and test hook. Tests read state through it instead of scraping
 * text. It only exposes what the UI can already do.
 */
export function makeTestHook(rt: Runtime) {
  return {
    backend: () => tf.getBackend(),
    backendReport: () => rt.backend,
    /** GPU errors (validation, out-of-memory) seen on the page's device since the page started. */
    gpuErrors: () => pageGpuMonitor.all,
    /** Destroys the page's WebGPU device, as a driver reset would (a run should survive it). */
    loseDevice: () => {
      const device = pageGpuMonitor.attached;
      if (!device) return false;
      device.destroy();
      return true;
    },
    workerMode: () => rt.builder.mode,
    workerFallbackReason: () => rt.builder.handle.fallbackReason ?? null,
    workerBackend: () => rt.builder.handle.api.backendName(),
    /** Sends `values` to the builder by transfer; returns what came back and whether our copy was detached. */
    async roundTrip(values: number[], scale: number) {
      const sent = new Float32Array(values);
      const back = await rt.builder.handle.api.scale(moved(sent), scale);
      return { detached: sent.byteLength === 0, values: Array.from(back) };
    },
    /** Per weight of a run's stored checkpoint at `step`: [sum, sum of squares, first value, last value] (null: none). */
    checkpointDigest: async (runId: string, step: number) => {
      const c = (await rt.store.getCheckpoints(runId)).find((x) => x.step === step);
      if (!c) return null;
      return Object.fromEntries(
        c.weights.map((w) => {
          const v = new Float32Array(w.data);
          let sum = 0;
          let sq = 0;
          for (const x of v) {
            sum += x;
            sq += x * x;
          }
          return [w.name, [sum, sq, v[0], v[v.length - 1]]];
        }),
      );
    },
    putSetting: (key: string, value: unknown) => rt.store.putSetting(key, value),
    getSetting: (key: string) => rt.store.getSetting(key),
    // Corpora (see CorpusPanel): what is stored, which one is active, and the import under way.
    listCorpora: async () =>
      (await rt.store.listCorpora()).map(({ id, name, source, status, stats }) => ({ id, name, source, status, stats })),
    activeCorpus: async () => (await rt.store.activeCorpusId()) ?? null,
    countChunks: (corpusId: string) => rt.store.countChunks(corpusId),
    /** The running import ('import' or 'bundled') with its progress task, or null when idle. */
    corpusJob: () => {
      const s = corpusControllerFor(rt.store).state.getState();
      return s.job ? { kind: s.job.kind, label: s.job.label, task: s.job.progress?.task ?? null } : null;
    },
    /** Whether the corpus panel has finished its start-up (cleanup, and loading the tiny corpus on first start). */
    corpusStarted: () => corpusControllerFor(rt.store).state.getState().started,
    /** 'worker' or 'main-thread' once the corpus importer has started, else null. */
    corpusImporterMode: () => corpusControllerFor(rt.store).state.getState().importerMode,
    // Fault injection (docs/reliability.md): workers that die without a word, and shorter watchdogs.
    /** Ends the importer's worker as the browser would kill it: no event, only the watchdog can tell. */
    killImporterSilently: () => corpusControllerFor(rt.store).killImporterSilently(),
    /** The same for the index builder's worker. */
    killBuilderSilently: () => rt.builder.killSilently(),
    builderRestarts: () => rt.builder.restarts,
    /** Sets how long a worker may stay silent during a job, and how often it is pinged (ms). */
    setWatchdogTimes: (silenceMs: number, pingEveryMs: number) => Object.assign(WATCHDOG_TIMES, { silenceMs, pingEveryMs }),
  };
}

export type RealmTestHook = ReturnType<typeof makeTestHook>;

export function installTestHook(rt: Runtime): void {
  (globalThis as unknown as { __realm: RealmTestHook }).__realm = makeTestHook(rt);
}
