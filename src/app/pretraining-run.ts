// The pre-training run in the page: ICT warm start -> MLM warm-up -> REALM with index refresh
// through the index builder (a Web Worker, or the main thread as a fallback). Not a React component:
// hooks and panels subscribe to its events. Start, pause, resume, stop; a checkpoint every C steps and
// on pause; step metrics appended to the run log at each checkpoint, so a reload loses at most one
// checkpoint interval and resumes from the last checkpoint with its stored index. A run keeps its
// newest `keepCheckpoints` checkpoints and the one with the best held-out cloze accuracy; the others
// are pruned in the transaction that writes a new one (docs/reliability.md).
//
// GPU errors never pass silently: the first step of each phase runs inside WebGPU error scopes, and
// any error the page's device reports stops the run with a `GpuComputeError`. When the page's device
// is lost, the run starts a new one, restores its last checkpoint and carries on (with a notice);
// after MAX_DEVICE_LOSSES losses without a checkpoint in between it stops with `GpuDeviceLostError`.
import * as tf from '@tensorflow/tfjs';
import { createMipsIndex } from '../kernels/mips-index';
import type { RealmConfig } from '../model/config';
import type { TrainingData } from '../corpus/data';
import {
  GpuComputeError,
  GpuDeviceLostError,
  pageGpuMonitor,
  reinitialiseWebgpu,
  type DeviceLoss,
  type GpuErrorMonitor,
} from '../platform/gpu-guard';
import { guardedWasmStep } from '../platform/wasm-kernels';
import type { EvalMetrics, RefreshRecord, StepMetrics } from '../model/metrics';
import type { Progress } from '../model/progress';
import { RealmTrainer, type RealmCheckpoint } from '../model/trainer';
import type { NamedWeights } from '../model/bert';
import type { CheckpointRecord, RealmStore, RunLogRecord, RunRecord } from '../storage/db';
import { AsyncRefresher, type BuildEvent, type RefreshPolicy } from '../workers/async-refresher';
import type { PinLogEntry, PinPointLogRecord } from './pin-log';
import type { BuilderSupervisor } from '../workers/index-builder-client';
import type { BuildVocabulary } from '../workers/index-builder';
import { initModelWeights } from '../model/checkpoint';
import type { WarmStartRef } from './warm-start-loader';

export type RunStatus = 'idle' | 'running' | 'paused' | 'stopped' | 'done' | 'failed';

export interface RunSettings {
  runId: string;
  corpusId: string;
  config: RealmConfig;
  policy: RefreshPolicy;
  /** Checkpoint every C steps (and on pause). */
  checkpointEvery: number;
  /** Evaluate held-out cloze accuracy and recall@5 every E steps (0: never). */
  evalEvery: number;
  /** Checkpoints kept: the newest this many, plus the best by held-out cloze accuracy (default 2; runs stored before it had none). */
  keepCheckpoints?: number;
  /** The warm start the model started from (its vocabulary tokenizes the corpus); absent for a cold run. */
  warmStart?: WarmStartRef;
}

/** What a run started from a warm start needs besides its settings. */
export interface RunModelStart {
  /** The model's vocabulary when it is not the corpus's: the index builder tokenizes the chunks with it. */
  vocab?: BuildVocabulary;
  /** A new run only: weights to start from (initModelWeights; step 0, a fresh optimiser). */
  init?: RealmCheckpoint;
}

/** Newest checkpoints a run keeps when its settings do not say (the best held-out one is kept besides). */
export const DEFAULT_KEEP_CHECKPOINTS = 2;

interface BuildEndEvent extends BuildEvent {
  ok: boolean;
  error?: string;
  chunks?: number;
  durationMs?: number;
}

export interface RunEvents {
  step?: (m: StepMetrics) => void;
  refresh?: (r: RefreshRecord) => void;
  buildStart?: (e: BuildEvent) => void;
  buildEnd?: (e: BuildEndEvent) => void;
  buildProgress?: (p: Progress) => void;
  evaluated?: (e: EvalMetrics) => void;
  checkpoint?: (step: number) => void;
  status?: (s: RunStatus) => void;
  error?: (e: Error) => void;
  /** Something the user should know that did not stop the run (a GPU device loss survived). */
  notice?: (message: string) => void;
}

/** What the run needs from the page's GPU; tests pass their own. */
export interface GpuWatch {
  monitor: GpuErrorMonitor;
  backend(): string;
  /** Starts a new device for the page's backend after a loss. */
  reinitialise(): Promise<void>;
}

export const PAGE_GPU: GpuWatch = {
  monitor: pageGpuMonitor,
  backend: () => tf.getBackend(),
  reinitialise: () => reinitialiseWebgpu(pageGpuMonitor),
};

/** Device losses in a row (no checkpoint written in between) after which the run stops. */
export const MAX_DEVICE_LOSSES = 3;

/** The step a run-log record belongs to, if it has one. */
function stepOfLog(kind: string, record: object): number | null {
  const r = record as Partial<StepMetrics & EvalMetrics & RefreshRecord>;
  if (kind === 'step' || kind === 'eval') return r.step ?? null;
  if (kind === 'refresh') return r.swapStep ?? null;
  return null;
}

/** The first index version a resumed run may use: one past every version its log names. */
export function nextIndexVersion(h: {
  refreshes: readonly { version: number }[];
  builds: readonly { version: number }[];
}): number {
  let v = 0;
  for (const r of h.refreshes) v = Math.max(v, r.version);
  for (const b of h.builds) v = Math.max(v, b.version);
  return v + 1;
}

/** Everything a run records, kept in memory for the charts and written to the run log. */
interface RunHistory {
  steps: StepMetrics[];
  refreshes: RefreshRecord[];
  builds: BuildEndEvent[];
  evals: EvalMetrics[];
}

export class PretrainingRun {
  status: RunStatus = 'idle';
  readonly history: RunHistory = { steps: [], refreshes: [], builds: [], evals: [] };
  private trainer: RealmTrainer;
  private readonly refresher: AsyncRefresher;
  /** The page's GPU (errors, loss, a new device); replaceable before `start` for tests. */
  gpu: GpuWatch = PAGE_GPU;
  /** Device losses since the last checkpoint was written. */
  deviceLosses = 0;
  private loop: Promise<void> | null = null;
  /** Step records not yet in the run log. */
  private unsaved: { kind: string; record: object }[] = [];
  private logSeq = 0;
  private lastCheckpointStep = -1;
  /** After a resume: the inspector's pin records from the run log, up to the restored checkpoint. */
  restoredPinLog: PinLogEntry[] = [];
  /** After a resume: the status the stored record had (e.g. 'running' when a reload cut it off). */
  restoredFrom: RunRecord['status'] | null = null;

  private constructor(
    readonly settings: RunSettings,
    private readonly data: TrainingData,
    private readonly store: RealmStore,
    readonly builder: BuilderSupervisor,
    private readonly events: RunEvents,
    firstVersion = 1,
    /** The model's vocabulary when it is not the corpus's (a warm start): the builder and the inspector read with it. */
    readonly modelVocab?: BuildVocabulary,
  ) {
    this.refresher = new AsyncRefresher({
      vocab: modelVocab,
      policy: settings.policy,
      firstVersion,
      every: Math.max(1, settings.config.refreshEvery),
      builder,
      corpusId: settings.corpusId,
      runId: settings.runId,
      factory: createMipsIndex,
      onBuildStart: (e) => events.buildStart?.(e),
      onBuildEnd: (e) => {
        this.history.builds.push(e);
        this.log('build', e);
        events.buildEnd?.(e);
      },
      onBuildProgress: (p) => events.buildProgress?.(p),
      onError: (e) => events.error?.(e),
    });
    this.trainer = this.makeTrainer();
  }

  private makeTrainer(): RealmTrainer {
    return new RealmTrainer({
      config: this.settings.config,
      data: this.data,
      refresher: this.refresher,
      indexFactory: createMipsIndex,
      onRefresh: (r) => {
        this.history.refreshes.push(r);
        this.log('refresh', r);
        this.events.refresh?.(r);
      },
    });
  }

  /**
   * A new run: stores its record, ready to start. Started from weights (`start.init`, a warm start),
   * it stores them as its step-0 checkpoint at once, so a reload or a lost GPU device comes back to
   * them, never to random weights.
   */
  static async create(
    settings: RunSettings,
    data: TrainingData,
    store: RealmStore,
    builder: BuilderSupervisor,
    events: RunEvents = {},
    start: RunModelStart = {},
  ) {
    const run = new PretrainingRun(settings, data, store, builder, events, 1, start.vocab);
    if (start.init) {
      try {
        initModelWeights(run.trainer.model, start.init);
      } catch (e) {
        run.dispose();
        throw e;
      }
      const c: CheckpointRecord = await run.trainer.checkpoint(settings.runId);
      await store.putCheckpoint(c, { keepLatest: settings.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS });
      run.lastCheckpointStep = c.step;
    }
    await run.saveRecord('paused');
    return run;
  }

  /**
   * Restores a stored run from its last checkpoint, and from its stored index when that index was built
   * by this run (otherwise the first REALM step rebuilds it). Also reloads the logged metrics. A run that
   * was training, paused or failed comes back paused (`start` carries on); a finished or stopped run
   * keeps its status, to be looked at.
   */
  static async resume(
    runId: string,
    data: TrainingData,
    store: RealmStore,
    builder: BuilderSupervisor,
    events: RunEvents = {},
    start: Pick<RunModelStart, 'vocab'> = {},
  ): Promise<PretrainingRun> {
    const record = await store.getRun(runId);
    if (!record) throw new Error(`Run ${runId} is not in this browser's storage; start a new run.`);
    const settings = record.config as unknown as RunSettings;
    const logs = await store.getRunLogs(runId);
    // Versions this run's log already names are not used again (the timeline tells builds apart by version).
    const firstVersion = nextIndexVersion({
      refreshes: logs.filter((l) => l.kind === 'refresh').map((l) => l.record as unknown as RefreshRecord),
      builds: logs.filter((l) => l.kind === 'build').map((l) => l.record as unknown as BuildEndEvent),
    });
    const run = new PretrainingRun(settings, data, store, builder, events, firstVersion, start.vocab);
    run.restoredFrom = record.status;
    try {
      await run.restoreFromStore(record.id, logs);
    } catch (e) {
      // A half-restored model holds its weights and optimiser slots (GPU memory on webgpu): free them.
      run.dispose();
      throw e;
    }
    run.setStatus(record.status === 'done' || record.status === 'stopped' ? record.status : 'paused');
    return run;
  }

  /** Starts the encoders from imported weights (a Hugging Face checkpoint), before the first step. */
  initialiseWeights(weights: NamedWeights): void {
    if (this.trainer.stepCount > 0) throw new Error('initial weights can only be loaded before the first step');
    this.trainer.model.setWeights(weights);
  }

  /** Reloads the run log and restores the latest checkpoint (with this run's stored index). */
  private async restoreFromStore(runId: string, logs: RunLogRecord[]): Promise<void> {
    const { store, settings } = this;
    this.logSeq = logs.reduce((next, l) => Math.max(next, l.seq + 1), 0);
    const checkpoint = await store.latestCheckpoint(runId);
    const restoredStep = checkpoint?.step ?? 0;
    for (const l of logs) {
      const r = l.record as never;
      if (l.kind === 'step' && (r as StepMetrics).step <= restoredStep) this.history.steps.push(r);
      if (l.kind === 'refresh' && (r as RefreshRecord).swapStep < restoredStep) this.history.refreshes.push(r);
      if (l.kind === 'build' && (r as BuildEndEvent).snapshotStep <= restoredStep) this.history.builds.push(r);
      if (l.kind === 'eval' && (r as EvalMetrics).step <= restoredStep) this.history.evals.push(r);
      if (l.kind === 'pin') this.restoredPinLog.push({ kind: l.kind, record: r });
      if (l.kind === 'pin-point' && (r as PinPointLogRecord).point.step <= restoredStep)
        this.restoredPinLog.push({ kind: l.kind, record: r });
    }
    if (checkpoint) {
      this.trainer.restore(checkpoint as RealmCheckpoint);
      this.lastCheckpointStep = checkpoint.step;
      const stored = await store.latestEmbeddings(settings.corpusId, runId);
      if (stored && stored.snapshotStep <= checkpoint.step && stored.ids) {
        this.refresher.seed(createMipsIndex(stored.version, stored.vectors, stored.ids, stored.dim), stored.snapshotStep);
      }
    }
  }

  get step(): number {
    return this.trainer.stepCount;
  }

  get totalSteps(): number {
    return this.trainer.totalSteps;
  }

  get phase() {
    return this.trainer.phaseAt();
  }

  /** The trainer, for the inspector and evaluation (read-only use). */
  get realmTrainer(): RealmTrainer {
    return this.trainer;
  }

  get refreshing(): boolean {
    return this.refresher.building;
  }

  start(): void {
    if (this.status === 'running' || this.status === 'done' || this.status === 'stopped') return;
    this.setStatus('running');
    this.loop = this.runLoop();
  }

  /**
   * Pauses after the current step and writes a checkpoint. Never rejects: a checkpoint that cannot be
   * written (a full disk) is reported through `events.error`, and the run stays paused in memory with
   * its last stored checkpoint intact, so a later pause or stop can try again.
   */
  async pause(): Promise<void> {
    if (this.status !== 'running') return;
    this.setStatus('paused');
    await this.loop;
    await this.checkpointOrReport('paused');
  }

  resume(): void {
    if (this.status === 'paused') this.start();
  }

  /** Stops for good (a checkpoint is kept, so it can still be exported). Never rejects (see `pause`). */
  async stop(): Promise<void> {
    const wasRunning = this.status === 'running';
    this.setStatus('stopped');
    if (wasRunning) await this.loop;
    await this.checkpointOrReport('stopped');
    this.refresher.dispose();
  }

  /** A checkpoint whose failure is told to the user instead of being thrown at a button handler. */
  private async checkpointOrReport(what: 'paused' | 'stopped'): Promise<void> {
    try {
      await this.checkpoint();
    } catch (e) {
      const err = e as Error;
      const kept = this.lastCheckpointStep >= 0 ? `its checkpoint at step ${this.lastCheckpointStep}` : 'no checkpoint';
      const wrapped = new Error(
        `The run ${what} at step ${this.trainer.stepCount}, but its checkpoint could not be saved (${err.message}). ` +
          `Storage still holds ${kept}; ${what === 'paused' ? 'pause again or stop to retry' : 'free some space and export the run to keep it'}.`,
      );
      wrapped.name = err.name === 'StorageFullError' ? err.name : 'CheckpointNotSavedError';
      this.events.error?.(wrapped);
    }
  }

  /** Frees the run's tensors and its index (a run that failed or was replaced may still hold one). */
  dispose(): void {
    this.refresher.dispose();
    this.trainer.dispose();
  }

  /**
   * One step; the first of each phase (and the first after a start or a recovery) inside WebGPU error
   * scopes. Throws GpuComputeError when the device reported any error since the last step.
   */
  private async guardedStep(scoped: boolean): Promise<StepMetrics | null> {
    const at = this.trainer.phaseAt();
    const where = `at step ${this.trainer.stepCount + 1}${at ? ` (${at.phase.toUpperCase()} step ${at.phaseStep + 1})` : ''}`;
    const monitor = this.gpu.monitor;
    // On wasm, a step that would overflow the 4 GiB heap stops with WasmHeapExhaustedError instead of aborting.
    const { batchSize, ictBatchSize, hidden } = this.settings.config;
    const batch = at?.phase === 'ict' ? ictBatchSize : batchSize;
    const step = () => guardedWasmStep(`${where} with batch ${batch}, hidden ${hidden}`, () => this.trainer.step());
    const m = scoped ? (await monitor.scoped(step)).value : await step();
    const errors = monitor.take();
    if (errors.length > 0) throw new GpuComputeError(this.gpu.backend(), where, errors);
    return m;
  }

  /**
   * The page's device was lost: start a new one, rebuild the trainer on it from the last checkpoint
   * (what came after it is dropped from the history), and tell the user. Throws after too many.
   */
  private async recoverFromDeviceLoss(loss: DeviceLoss): Promise<void> {
    this.deviceLosses++;
    const lostAt = this.trainer.stepCount;
    if (this.deviceLosses >= MAX_DEVICE_LOSSES) throw new GpuDeviceLostError(this.deviceLosses, loss);
    await this.gpu.reinitialise();
    const checkpoint = await this.store.latestCheckpoint(this.settings.runId);
    try {
      this.trainer.dispose(); // its tensors lived on the lost device
    } catch {
      // nothing to free on a device that is gone
    }
    this.trainer = this.makeTrainer();
    const restored = checkpoint?.step ?? 0;
    if (checkpoint) this.trainer.restore(checkpoint as RealmCheckpoint);
    this.lastCheckpointStep = checkpoint ? checkpoint.step : -1;
    const keep = <T extends { step?: number; swapStep?: number }>(xs: T[], at: (x: T) => number) => {
      const kept = xs.filter((x) => at(x) <= restored);
      xs.splice(0, xs.length, ...kept);
    };
    keep(this.history.steps, (x) => x.step);
    keep(this.history.evals, (x) => x.step);
    keep(this.history.refreshes, (x) => x.swapStep);
    this.unsaved = this.unsaved.filter((l) => (stepOfLog(l.kind, l.record) ?? 0) <= restored);
    this.events.notice?.(
      `The GPU device was lost (${loss.reason}${loss.message ? `: ${loss.message}` : ''}) at step ${lostAt}. ` +
        `WebGPU restarted with a new device and the run carries on from its checkpoint at step ${restored} ` +
        `(loss ${this.deviceLosses} of ${MAX_DEVICE_LOSSES - 1} allowed without a checkpoint in between).`,
    );
  }

  private async runLoop(): Promise<void> {
    const { checkpointEvery, evalEvery } = this.settings;
    let scoped = true;
    while (this.status === 'running') {
      try {
        const phaseStep = this.trainer.phaseAt()?.phaseStep;
        const m = await this.guardedStep(scoped || phaseStep === 0);
        scoped = false;
        // A lost device can hand back a step computed from nothing: recover before recording it.
        if (this.gpu.monitor.lost) throw new Error('the GPU device was lost during the step');
        if (!m) {
          // The last step's evaluation is the final one when the cadence already landed on it.
          if (this.history.evals.at(-1)?.step !== this.trainer.stepCount) await this.evaluate();
          // 'done' first, so the last checkpoint stores the run record as done.
          this.setStatus('done');
          await this.checkpoint();
          break;
        }
        this.history.steps.push(m);
        this.log('step', m);
        this.events.step?.(m);
        if (evalEvery > 0 && m.step % evalEvery === 0) await this.evaluate();
        if (checkpointEvery > 0 && m.step % checkpointEvery === 0) await this.checkpoint();
        // Let the page paint and the worker's messages arrive between steps.
        await new Promise((r) => setTimeout(r, 0));
      } catch (e) {
        // A step that failed because the device went away: carry on with a new one.
        let failure = e as Error;
        const loss = e instanceof GpuComputeError ? null : await this.gpu.monitor.waitForLoss(1000);
        if (loss && this.status === 'running') {
          try {
            await this.recoverFromDeviceLoss(loss);
            scoped = true;
            continue;
          } catch (again) {
            failure = again as Error;
          }
        }
        this.setStatus('failed');
        this.events.error?.(failure);
        await this.saveRecord('failed').catch(() => {});
        break;
      }
    }
  }

  private async evaluate(): Promise<void> {
    const e = await this.trainer.evaluate();
    const metrics: EvalMetrics = {
      step: e.step,
      clozeAccuracy: e.clozeAccuracy,
      clozeAccuracyNullOnly: e.clozeAccuracyNullOnly,
      recallAt5: e.recallAt5,
      goldRecallAt5: e.goldRecallAt5,
      time: e.time,
    };
    this.history.evals.push(metrics);
    this.log('eval', metrics);
    this.events.evaluated?.(metrics);
  }

  private log(kind: string, record: object): void {
    this.unsaved.push({ kind, record });
  }

  /**
   * Adds the inspector's pin record to the run log: with the next checkpoint while the run trains, at
   * once otherwise (a pin made while paused must not wait for a checkpoint that may never come).
   */
  async logPin(entry: PinLogEntry): Promise<void> {
    this.log(entry.kind, entry.record);
    if (this.status === 'running') return;
    try {
      await this.flushLogs();
    } catch (e) {
      this.events.error?.(
        new Error(
          `The pin was not saved with the run; it is kept and saved again with the next checkpoint. ${(e as Error).message}`,
        ),
      );
    }
  }

  /** Appends the records not yet in the run log; when that fails they stay unsaved, for the next try. */
  private async flushLogs(): Promise<void> {
    const pending = this.unsaved;
    if (pending.length === 0) return;
    const first = this.logSeq;
    const logs = pending.map((l, i) => ({
      runId: this.settings.runId,
      seq: first + i,
      kind: l.kind,
      record: l.record as Record<string, unknown>,
    }));
    this.unsaved = [];
    this.logSeq += logs.length;
    try {
      await this.store.appendRunLogs(logs);
    } catch (e) {
      // The transaction wrote nothing: keep the records, and their seqs if no other write took later ones.
      this.unsaved = [...pending, ...this.unsaved];
      if (this.logSeq === first + logs.length) this.logSeq = first;
      throw e;
    }
  }

  /**
   * Writes a checkpoint (when the step moved), the unsaved log records and the run record with the
   * current status (always, so a stop or the end is stored even right after a checkpoint); then tells
   * the listeners, who can read all of it back.
   */
  async checkpoint(): Promise<void> {
    const step = this.trainer.stepCount;
    await this.flushLogs();
    const stored = step !== this.lastCheckpointStep;
    if (stored) {
      const c: CheckpointRecord = await this.trainer.checkpoint(this.settings.runId);
      // Weights read from a lost device are not weights: never store them over a good checkpoint.
      if (this.gpu.monitor.lost) throw new Error('the GPU device was lost while the checkpoint was read');
      // The held-out metric of an evaluation at this very step ranks it for retention.
      const evaluated = this.history.evals.at(-1);
      if (evaluated?.step === step && Number.isFinite(evaluated.clozeAccuracy)) c.heldOut = evaluated.clozeAccuracy;
      await this.store.putCheckpoint(c, { keepLatest: this.settings.keepCheckpoints ?? DEFAULT_KEEP_CHECKPOINTS });
      this.lastCheckpointStep = step;
      this.deviceLosses = 0;
    }
    await this.saveRecord(this.status as RunRecord['status']);
    if (stored) this.events.checkpoint?.(step);
  }

  private async saveRecord(status: RunRecord['status']): Promise<void> {
    const last = this.history.steps.at(-1);
    const lastEval = this.history.evals.at(-1);
    const existing = await this.store.getRun(this.settings.runId);
    await this.store.putRun({
      id: this.settings.runId,
      createdAt: existing?.createdAt ?? Date.now(),
      updatedAt: Date.now(),
      corpusId: this.settings.corpusId,
      config: this.settings as unknown as Record<string, unknown>,
      status,
      step: this.trainer.stepCount,
      finalMetrics: {
        ...(last ? { loss: last.loss, mlmAccuracy: last.mlmAccuracy } : {}),
        ...(lastEval ? { clozeAccuracy: lastEval.clozeAccuracy, recallAt5: lastEval.recallAt5 } : {}),
      },
    });
  }

  private setStatus(s: RunStatus): void {
    this.status = s;
    this.events.status?.(s);
  }
}
