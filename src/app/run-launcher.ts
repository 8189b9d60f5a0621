// What the Training panel asks of storage: the active corpus, a new run on it, a stored run resumed
// from its checkpoint, and the run a reload may offer to resume. The panel renders and dispatches.
import type { RunRecord } from '../storage/db';
import { PAGE_GPU, PretrainingRun, type RunEvents } from './pretraining-run';
import { loadRunData } from './run-data';
import { planRunStorage, storagePlanNotice } from './run-storage';
import type { PlainRunSettings } from './run-settings';
import type { Runtime } from './runtime';
import { applyCheckpoint, clearStagedCheckpoint, stagedCheckpoint } from './hf-transfer';

/** A stored run that can carry on training, and the step of its last checkpoint. */
export interface ResumeOffer {
  run: RunRecord;
  checkpointStep: number;
}

/** Statuses a stored run can carry on from: cut off by a reload ('running'), paused, or failed. */
const RESUMABLE: readonly RunRecord['status'][] = ['running', 'paused', 'failed'];

/** The newest resumable run with a checkpoint (on `corpusId` when given), or null. */
async function resumableRun(rt: Runtime, corpusId: string | undefined): Promise<ResumeOffer | null> {
  const runs = (await rt.store.listRuns())
    .filter((r) => RESUMABLE.includes(r.status) && (!corpusId || r.corpusId === corpusId))
    .sort((a, b) => b.updatedAt - a.updatedAt);
  for (const run of runs) {
    const steps = await rt.store.checkpointSteps(run.id);
    if (steps.length > 0) return { run, checkpointStep: Math.max(...steps) };
  }
  return null;
}

/** The run a reload offers to resume: the resumable run on the active corpus. */
export async function resumeOffer(rt: Runtime): Promise<ResumeOffer | null> {
  return resumableRun(rt, await rt.store.activeCorpusId());
}

/** The offer in words: what happened to the run, and where it carries on from. */
export function resumeOfferText(o: ResumeOffer): string {
  const { id, step, status } = o.run;
  const what =
    status === 'running'
      ? `Run ${id} was cut off at step ${step} (the page closed while it trained).`
      : status === 'failed'
        ? `Run ${id} failed at step ${step}.`
        : `Run ${id} is paused at step ${step}.`;
  return o.checkpointStep === step ? what : `${what} Its last checkpoint is at step ${o.checkpointStep}.`;
}

async function activeCorpusId(rt: Runtime): Promise<string> {
  const id = await rt.store.activeCorpusId();
  if (!id) throw new Error('No corpus is active yet: load the bundled corpus or import one in the Corpus panel.');
  return id;
}

/**
 * A new run on the active corpus with `settings`. `replace` is called once its training data is
 * loaded, just before the run is created: the place to dispose of the run it replaces.
 */
export async function createRun(
  rt: Runtime,
  settings: PlainRunSettings,
  events: RunEvents,
  replace: () => void,
): Promise<PretrainingRun> {
  const cid = await activeCorpusId(rt);
  const data = await loadRunData(rt.store, cid, settings.config);
  // The reader's output layer is the corpus vocabulary, not the preset's placeholder size.
  let config = { ...settings.config, vocabSize: data.vocabSize };
  // A checkpoint staged in the Runs panel sets the architecture and the starting weights.
  const staged = stagedCheckpoint();
  const init = staged ? applyCheckpoint(staged, config, (await rt.store.getVocab(cid))?.tokens) : null;
  if (init) config = init.config;
  replace();
  const run = await PretrainingRun.create(
    {
      runId: `run-${Date.now().toString(36)}`,
      corpusId: cid,
      config,
      policy: settings.policy,
      checkpointEvery: settings.checkpointEvery,
      evalEvery: settings.evalEvery,
      keepCheckpoints: settings.keepCheckpoints,
    },
    data,
    rt.store,
    rt.builder,
    events,
  );
  if (init && staged) {
    run.initialiseWeights(init.weights);
    clearStagedCheckpoint();
    events.notice?.(`Started from ${staged.name}${init.notes.length ? ` (${init.notes.join('; ')})` : ''}.`);
  }
  // How much its checkpoints take, whether that fits, and (first run of the page) persistent storage.
  const plan = await planRunStorage(run.settings.config, settings.keepCheckpoints);
  events.notice?.(storagePlanNotice(plan, settings.keepCheckpoints).message);
  return run;
}

/** The stored run `runId`, restored from its checkpoint; `replace` as for createRun. */
export async function resumeRun(rt: Runtime, runId: string, events: RunEvents, replace: () => void): Promise<PretrainingRun> {
  const record = await rt.store.getRun(runId);
  if (!record) throw new Error(`Run ${runId} is gone from storage.`);
  const settings = record.config as unknown as { config: Parameters<typeof loadRunData>[2] };
  const data = await loadRunData(rt.store, record.corpusId, settings.config);
  // A run that failed because the GPU device was lost needs a new device first.
  if (PAGE_GPU.monitor.lost) await PAGE_GPU.reinitialise();
  replace();
  return PretrainingRun.resume(runId, data, rt.store, rt.builder, events);
}

/** The step of a run's last stored checkpoint, or null when it has none. */
export async function lastCheckpointStep(rt: Runtime, runId: string): Promise<number | null> {
  const steps = await rt.store.checkpointSteps(runId);
  return steps.length > 0 ? Math.max(...steps) : null;
}
