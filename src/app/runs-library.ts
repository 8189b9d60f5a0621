// What the Runs panel asks of storage: the stored runs with their loss curves, a run exported to or
// imported from a `.realm.zip`, a run deleted, the browser's storage quota. The panel renders and dispatches.
import { requestPersistentStorage, RunExistsError, storageStatus, type RunSummary, type StorageStatus } from '../storage/db';
import type { StepMetrics } from '../model/metrics';
import { exportRunArchive, importRunArchive } from './run-archive';
import { exportRunForTransformers, hfArchiveName, readCheckpointZip, stageCheckpoint } from './hf-transfer';
import { lossSeries, type LossPoint } from './runs-view';
import type { Runtime } from './runtime';

export { requestPersistentStorage, RunExistsError, storageStatus };

/** Loss curves by run id, each with the log count it was read at (a run's log is read again only when it grew). */
export type LossCache = Map<string, { logCount: number; points: LossPoint[] }>;

/** The stored runs and the storage status; `cache` is brought up to date with their loss curves. */
export async function readRuns(rt: Runtime, cache: LossCache): Promise<{ summaries: RunSummary[]; status: StorageStatus }> {
  const [summaries, status] = await Promise.all([rt.store.listRunSummaries(), storageStatus()]);
  await Promise.all(
    summaries.map(async ({ run, logCount }) => {
      if (cache.get(run.id)?.logCount === logCount) return;
      cache.set(run.id, { logCount, points: lossSeries(await rt.store.getRunLogs(run.id)) });
    }),
  );
  const ids = new Set(summaries.map((s) => s.run.id));
  for (const id of cache.keys()) if (!ids.has(id)) cache.delete(id);
  return { summaries, status };
}

export const exportRunFile = (rt: Runtime, runId: string) => exportRunArchive(rt.store, runId);

/** The run's model as Hugging Face checkpoint folders, zipped (docs/scale-out.md). */
export const exportRunTransformersFile = (rt: Runtime, runId: string) => exportRunForTransformers(rt.store, runId);
export { hfArchiveName, readCheckpointZip, stageCheckpoint };
export type { ImportTarget } from '../model/hf-layout';

export const importRunFile = (rt: Runtime, bytes: Uint8Array, opts: { ifExists?: 'fail' | 'copy' }) =>
  importRunArchive(rt.store, bytes, opts);

export const deleteStoredRun = (rt: Runtime, runId: string) => rt.store.deleteRun(runId);

/** What storage holds of a run: its record, how many log records and checkpoints (the test hook's view). */
export async function storedRun(rt: Runtime, runId: string) {
  const [run, logs, checkpoints] = await Promise.all([
    rt.store.getRun(runId),
    rt.store.getRunLogs(runId),
    rt.store.checkpointSteps(runId),
  ]);
  return {
    run: run !== undefined,
    logs: logs.length,
    checkpoints: checkpoints.length,
    finalMetrics: run?.finalMetrics ?? null,
    step: run?.step ?? null,
  };
}

export const storedRunIds = async (rt: Runtime) => (await rt.store.listRunSummaries()).map((s) => s.run.id);

/** A stored run's step metrics from its run log, in step order (to overlay on the charts). */
export async function storedRunSteps(rt: Runtime, runId: string): Promise<StepMetrics[]> {
  const logs = await rt.store.getRunLogs(runId);
  const byStep = new Map<number, StepMetrics>();
  // One record per step (the last, should a step have been logged twice).
  for (const l of logs)
    if (l.kind === 'step') byStep.set((l.record as unknown as StepMetrics).step, l.record as unknown as StepMetrics);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}
