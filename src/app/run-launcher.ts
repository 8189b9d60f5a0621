// What the Training panel asks of storage: the active corpus, a new run on it, a stored run resumed
// from its checkpoint, and the run a reload may offer to resume. The panel renders and dispatches.
import type { RunRecord } from '../storage/db';
import { initArchitecture } from '../model/checkpoint';
import type { RealmConfig } from '../model/config';
import type { Progress } from '../model/progress';
import { WarmStartError, type WarmStart } from '../model/warm-start';
import { PAGE_GPU, PretrainingRun, type RunEvents, type RunModelStart, type RunSettings } from './pretraining-run';
import { loadRunData, type VocabularyCoverage } from './run-data';
import { fetchWarmStart, fetchWarmStartVocab, warmStartRef, warmStartUrl } from './warm-start-loader';
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

/** What the page tells while a run is prepared, besides the run's own events. */
export interface LaunchEvents extends RunEvents {
  /** Fetching the warm start (bytes). */
  warmStartProgress?: (p: Progress) => void;
  /** The share of the corpus's words that the run's vocabulary spells as [UNK]. */
  coverage?: (c: VocabularyCoverage) => void;
}

/**
 * A new run on the active corpus with `settings`. `replace` is called once its training data is
 * loaded, just before the run is created: the place to dispose of the run it replaces.
 *
 * A warm run (`settings.start === 'warm'`) fetches the warm start at `warmStartAt` (the shipped one by
 * default), takes the model's architecture from it, tokenizes the corpus with its vocabulary and
 * starts from its weights. A bad warm start throws WarmStartError before anything is replaced.
 */
export async function createRun(
  rt: Runtime,
  settings: PlainRunSettings,
  events: LaunchEvents,
  replace: () => void,
  warmStartAt: string = warmStartUrl(),
): Promise<PretrainingRun> {
  const cid = await activeCorpusId(rt);
  // A checkpoint staged in the Runs panel sets the architecture and the starting weights of a cold run.
  const staged = stagedCheckpoint();
  if (staged && settings.start === 'warm')
    throw new Error(
      `${staged.name} is staged in the Runs panel, but this run starts from the warm start: set Start to cold to begin from the staged checkpoint.`,
    );
  let warm: WarmStart | null = null;
  let config: RealmConfig = settings.config;
  if (settings.start === 'warm') {
    warm = await fetchWarmStart(warmStartAt, events.warmStartProgress);
    config = { ...config, ...initArchitecture(warm.checkpoint, settings.asked) };
  }
  const data = await loadRunData(rt.store, cid, config, warm?.vocab);
  events.coverage?.(data.coverage);
  // The reader's output layer is the run's vocabulary (the corpus's, or the warm start's), not the preset's placeholder size.
  config = { ...config, vocabSize: data.vocabSize };
  const init = staged ? applyCheckpoint(staged, config, (await rt.store.getVocab(cid))?.tokens) : null;
  if (init) config = init.config;
  replace();
  const runSettings: RunSettings = {
    runId: `run-${Date.now().toString(36)}`,
    corpusId: cid,
    config,
    policy: settings.policy,
    checkpointEvery: settings.checkpointEvery,
    evalEvery: settings.evalEvery,
    keepCheckpoints: settings.keepCheckpoints,
    ...(warm ? { warmStart: warmStartRef(warmStartAt, warm) } : {}),
  };
  // The model's vocabulary is kept with the run: a resume reads the corpus with it, an export carries it.
  if (warm) await rt.store.putRunVocab(runSettings.runId, warm.vocab);
  const start: RunModelStart = warm
    ? { init: warm.checkpoint, vocab: { hash: warm.manifest.vocabulary.hash, tokens: warm.vocab } }
    : {};
  const run = await PretrainingRun.create(runSettings, data, rt.store, rt.builder, events, start);
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
export async function resumeRun(rt: Runtime, runId: string, events: LaunchEvents, replace: () => void): Promise<PretrainingRun> {
  const record = await rt.store.getRun(runId);
  if (!record) throw new Error(`Run ${runId} is gone from storage.`);
  const settings = record.config as unknown as RunSettings;
  // A warm run reads the corpus with its warm start's vocabulary: the one kept with the run, or (a run
  // stored without it) fetched again and checked to be the same.
  const ref = settings.warmStart;
  const vocab = ref ? ((await rt.store.getRunVocab(runId)) ?? (await fetchWarmStartVocab(ref))) : undefined;
  if (ref && vocab && vocab.length !== settings.config.vocabSize)
    throw new WarmStartError(
      `the warm start's vocabulary has ${vocab.length} pieces, the run's model ${settings.config.vocabSize}`,
    );
  const data = await loadRunData(rt.store, record.corpusId, settings.config, vocab);
  events.coverage?.(data.coverage);
  // A run that failed because the GPU device was lost needs a new device first.
  if (PAGE_GPU.monitor.lost) await PAGE_GPU.reinitialise();
  replace();
  return PretrainingRun.resume(
    runId,
    data,
    rt.store,
    rt.builder,
    events,
    ref && vocab ? { vocab: { hash: ref.vocabHash, tokens: vocab } } : {},
  );
}

/** The step of a run's last stored checkpoint, or null when it has none. */
export async function lastCheckpointStep(rt: Runtime, runId: string): Promise<number | null> {
  const steps = await rt.store.checkpointSteps(runId);
  return steps.length > 0 ? Math.max(...steps) : null;
}
