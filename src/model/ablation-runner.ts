// The ablation runner (issue #35, docs/ablations.md): plans the rows of REALM's Table 2 × seeds as jobs
// that share their prefixes, runs them with the app's trainer, and keeps every finished job in a store so
// that a table stopped half-way goes on where it stopped.
//
//   warm-start                 ICT (retriever) + MLM (reader): ORQA's starting point, one for the table
//   pretrain/<key>/seed-<s>    REALM pre-training from the warm start, one per distinct pre-training diff
//                              (the two encoder-swap rows reuse REALM's)
//   recall/<row>/seed-<s>      the row's model (retriever and reader from the warm start or the pre-trained
//                              model), zero-shot recall@5 on the QA dev questions
//   qa/<row>/seed-<s>          the same model fine-tuned on the QA training set, dev exact match
//                              (through a QaExecutor: Open-QA fine-tuning, issue #34)
//
// Seed-major order: every row of seed 1 before seed 2, so a partial table already has whole rows.
// Storage is behind `AblationStore` (files in Node, IndexedDB in the page); src/model does no I/O.
import { documentStore, type DocumentStore, type TrainingData } from '../corpus/data';
import type { MaskingStrategy } from '../corpus/masking-strategies';
import {
  ABLATION_ROWS,
  pretrainingKey,
  rowPretrainingConfig,
  warmStartConfig,
  type AblationRow,
  type AblationRowId,
  type AblationScale,
} from './ablation-rows';
import type { AblationRowResult } from './ablation-table';
import type { NamedWeights } from './bert';
import { initModelWeights } from './checkpoint';
import type { IndexFactory, IndexRefresher } from './index-refresh';
import type { RealmConfig } from './config';
import { formatEta, type Progress } from './progress';
import { RealmModel } from './realm-model';
import { RealmTrainer, type RealmCheckpoint } from './trainer';

/**
 * Open-QA fine-tuning and evaluation of one row's model (issue #34): fine-tune a copy on the corpus's QA
 * training set with `seed`, then return exact match on its dev set. The model comes as a checkpoint
 * (weights only, `extra.config` its config) whose retriever and reader the row has already chosen, as
 * `openQaModel(checkpoint, seed)` takes it. The runner never makes EM up: without an executor the table's
 * EM column stays empty.
 */
export interface QaExecutor {
  /** Fine-tuning steps of one row (the ETA's unit). */
  readonly steps: number;
  finetuneAndEvaluate(
    model: RealmCheckpoint,
    opts: { rowId: AblationRowId; seed: number; onStep?: (done: number) => void },
  ): Promise<{ em: number; questions: number }>;
}

/** Zero-shot retrieval recall@5 of a row's model over the corpus's documents (ablation-qa.ts openQaZeroShotRecall). */
export type ZeroShotRecallFn = (model: RealmModel, docs: DocumentStore) => Promise<{ recall: number; queries: number }>;

/** What a finished job leaves in the store. */
export interface AblationJobRecord {
  jobId: string;
  /** The job's settings as planned; a stored record with other settings is not reused. */
  planKey: string;
  seconds: number;
  finishedAt: number;
  /** recall jobs: zero-shot recall@5 and the questions asked; qa jobs: dev exact match and questions. */
  recallAt5?: number;
  em?: number;
  questions?: number;
}

/** Where the runner keeps finished jobs and pre-trained models (files in Node, IndexedDB in the page). */
export interface AblationStore {
  record(jobId: string): Promise<AblationJobRecord | null>;
  saveRecord(record: AblationJobRecord): Promise<void>;
  model(key: string): Promise<RealmCheckpoint | null>;
  saveModel(key: string, checkpoint: RealmCheckpoint): Promise<void>;
}

/** The work folder holds a table planned with other settings (the message says what to do). */
export class AblationWorkMismatchError extends Error {
  constructor(jobId: string) {
    super(
      `the work folder already holds job "${jobId}" run with other settings: give a new --work folder, or delete that one to start the table again`,
    );
    this.name = 'AblationWorkMismatchError';
  }
}

export type AblationJob =
  | { kind: 'warm-start'; id: 'warm-start'; config: RealmConfig; units: number }
  | { kind: 'pretrain'; id: string; key: string; seed: number; config: RealmConfig; units: number }
  | { kind: 'recall'; id: string; row: AblationRow; seed: number; retrieverFrom: string; readerFrom: string; units: number }
  | { kind: 'qa'; id: string; row: AblationRow; seed: number; retrieverFrom: string; readerFrom: string; units: number };

export interface AblationPlanOptions {
  scale: AblationScale;
  seeds: readonly number[];
  /** Rows to run (default all seven); a row's prerequisites are planned with it. */
  rows?: readonly AblationRow[];
  /** With an executor: a qa job per row and seed. Without: recall only. */
  finetuneSteps?: number | null;
  /** A given warm start (e.g. the shipped one): the warm-start job only stores it (0 steps). */
  givenWarmStart?: boolean;
}

const WARM = 'warm-start';
const pretrainJobId = (key: string, seed: number) => `pretrain/${key}/seed-${seed}`;
/** Where an encoder of a row comes from: the warm start's model or the row's pre-trained one. */
const modelKeyFor = (row: AblationRow, source: 'realm' | 'baseline', seed: number) =>
  source === 'baseline' ? WARM : pretrainJobId(pretrainingKey(row)!, seed);

/** The jobs of a table, in run order (seed-major), each prerequisite before its users and planned once. */
export function planAblation(o: AblationPlanOptions): AblationJob[] {
  const rows = o.rows ?? ABLATION_ROWS;
  if (o.seeds.length === 0) throw new RangeError('an ablation table needs at least one seed');
  const warm = warmStartConfig(o.scale, o.seeds[0]);
  const jobs: AblationJob[] = [
    { kind: 'warm-start', id: WARM, config: warm, units: o.givenWarmStart ? 0 : warm.ictSteps + warm.mlmSteps },
  ];
  const planned = new Set<string>([WARM]);
  for (const seed of o.seeds)
    for (const row of rows) {
      const key = pretrainingKey(row);
      const needsPretraining = key !== null && (row.retriever === 'realm' || row.reader === 'realm');
      if (needsPretraining && !planned.has(pretrainJobId(key, seed))) {
        const config = rowPretrainingConfig(row, o.scale, seed)!;
        jobs.push({ kind: 'pretrain', id: pretrainJobId(key, seed), key, seed, config, units: config.realmSteps });
        planned.add(pretrainJobId(key, seed));
      }
      const from = { retrieverFrom: modelKeyFor(row, row.retriever, seed), readerFrom: modelKeyFor(row, row.reader, seed) };
      jobs.push({ kind: 'recall', id: `recall/${row.id}/seed-${seed}`, row, seed, ...from, units: 1 });
      if (o.finetuneSteps != null)
        jobs.push({ kind: 'qa', id: `qa/${row.id}/seed-${seed}`, row, seed, ...from, units: o.finetuneSteps });
    }
  return jobs;
}

/** The settings a job's record must match to be reused: its config, or its sources and the table's shape. */
function planKeyOf(job: AblationJob, scale: AblationScale): string {
  switch (job.kind) {
    case 'warm-start':
    case 'pretrain':
      return JSON.stringify({ kind: job.kind, config: job.config });
    default:
      return JSON.stringify({
        kind: job.kind,
        retrieverFrom: job.retrieverFrom,
        readerFrom: job.readerFrom,
        seed: job.seed,
        steps: job.units,
        scale,
      });
  }
}

/**
 * Seconds per unit of each job kind before any is measured, as measured on a 2-core machine (wasm, one
 * thread, the mini preset on the tiny corpus, the first full table; docs/ablations.md): an ICT step
 * 0.45 s, an MLM step 0.09 s, a REALM step with its refreshes 1.8 s, a recall job 1 s, a fine-tuning step
 * with its share of the EM evaluation 0.27 s.
 */
export const PRIOR_SECONDS = { ict: 0.45, mlm: 0.09, realm: 1.8, recall: 1, qa: 0.27 };

/** Seconds a job is expected to take: measured seconds per unit of its kind when known, else the prior. */
function expectedSeconds(job: AblationJob, measured: ReadonlyMap<AblationJob['kind'], number>): number {
  const rate = measured.get(job.kind);
  if (rate !== undefined) return rate * job.units;
  switch (job.kind) {
    case 'warm-start':
      return job.units === 0 ? 0 : job.config.ictSteps * PRIOR_SECONDS.ict + job.config.mlmSteps * PRIOR_SECONDS.mlm;
    case 'pretrain':
      return job.units * PRIOR_SECONDS.realm;
    case 'recall':
      return PRIOR_SECONDS.recall;
    case 'qa':
      return job.units * PRIOR_SECONDS.qa;
  }
}

/** The whole table's expected seconds before it starts (the CLI's budget line). */
export function estimateAblationSeconds(jobs: readonly AblationJob[]): number {
  return jobs.reduce((s, j) => s + expectedSeconds(j, new Map()), 0);
}

/**
 * Seconds left of the table while `job` (one of `pending`, the jobs still to run, in order) has taken
 * `unitsInJob` steps in `elapsed` seconds (null: it has finished). The running job's own pace, once it
 * has taken a step, prices the rest of it and, until a job of its kind has finished (`measured`:
 * seconds per step by kind), the jobs of its kind still to come; otherwise the priors.
 */
export function tableEtaSeconds(
  pending: readonly AblationJob[],
  job: AblationJob,
  unitsInJob: number | null,
  elapsed: number,
  measured: ReadonlyMap<AblationJob['kind'], number>,
): number {
  const pace = unitsInJob !== null && unitsInJob > 0 ? elapsed / unitsInJob : undefined;
  const rates = new Map(measured);
  if (pace !== undefined && !rates.has(job.kind)) rates.set(job.kind, pace);
  const remaining = pending.slice(pending.indexOf(job) + 1).reduce((s, j) => s + expectedSeconds(j, rates), 0);
  if (unitsInJob === null) return remaining;
  const inJob = pace !== undefined ? (job.units - unitsInJob) * pace : Math.max(0, expectedSeconds(job, rates) - elapsed);
  return remaining + inJob;
}

export interface AblationProgress extends Progress {
  /** The job running, its place in the plan, and the plan's length. */
  jobId: string;
  jobIndex: number;
  jobs: number;
  /** Jobs found finished in the store (not rerun). */
  reused: number;
}

export interface AblationRunOptions extends AblationPlanOptions {
  store: AblationStore;
  /** Training data masked with `masking`; the tokenizer must be the warm start's. */
  data(masking: MaskingStrategy, seed: number): TrainingData | Promise<TrainingData>;
  /** Zero-shot recall@5 on the QA dev questions (ablation-qa.ts openQaZeroShotRecall). */
  zeroShotRecall: ZeroShotRecallFn;
  /** Open-QA fine-tuning; null: recall only (the EM column stays empty). */
  executor: QaExecutor | null;
  /** A given warm start (weights of the scale's architecture), instead of training one. */
  warmStart?: RealmCheckpoint;
  /**
   * The index refresh of a warm-start or pre-training job (the page: the builder worker's every-R-steps
   * policy, an exact schedule); default the trainer's SyncRefresher(config.refreshEvery).
   */
  refresher?: (job: { id: string; config: RealmConfig }) => IndexRefresher;
  /** The MIPS index the trainer builds (the page: its WGSL kernel on webgpu); default the trainer's. */
  indexFactory?: IndexFactory;
  onProgress?: (p: AblationProgress) => void;
  /** Checked between steps; a stop leaves every finished job in the store. */
  signal?: AbortSignal;
  now?: () => number;
}

/** The stop the caller asked for (signal) while a job ran; finished jobs are kept. */
export class AblationStoppedError extends Error {
  constructor() {
    super('the ablation table was stopped; run the same command again to go on from the last finished job');
    this.name = 'AblationStoppedError';
  }
}

/** Weights of a row's model: Embed_input and Embed_doc from `retriever`, the reader (and the rest) from `reader`. */
export function composeWeights(retriever: NamedWeights, reader: NamedWeights): NamedWeights {
  const isRetriever = (name: string) => name.startsWith('embed_input/') || name.startsWith('embed_doc/');
  const fromRetriever = retriever.filter((w) => isRetriever(w.name));
  const fromReader = reader.filter((w) => !isRetriever(w.name));
  const names = new Set(fromRetriever.map((w) => w.name));
  const missing = reader.filter((w) => isRetriever(w.name) && !names.has(w.name));
  if (missing.length > 0)
    throw new Error(`the retriever's model lacks ${missing[0].name}: both models must share one architecture`);
  return [...fromRetriever, ...fromReader];
}

/** Runs the plan's jobs that the store does not hold yet; returns every (row, seed) result of the plan. */
export async function runAblation(o: AblationRunOptions): Promise<AblationRowResult[]> {
  const now = o.now ?? (() => performance.now());
  if (o.executor && o.finetuneSteps == null) o = { ...o, finetuneSteps: o.executor.steps };
  if (!o.executor && o.finetuneSteps != null) throw new Error('finetuneSteps needs a QaExecutor to run the fine-tuning');
  const jobs = planAblation({ ...o, givenWarmStart: o.warmStart !== undefined });
  const pending: AblationJob[] = [];
  const records = new Map<string, AblationJobRecord>();
  for (const job of jobs) {
    const r = await o.store.record(job.id);
    const modelMissing = r && (job.kind === 'warm-start' || job.kind === 'pretrain') && !(await o.store.model(job.id));
    if (r && r.planKey !== planKeyOf(job, o.scale)) throw new AblationWorkMismatchError(job.id);
    if (r && !modelMissing) records.set(job.id, r);
    else pending.push(job);
  }
  const measured = new Map<AblationJob['kind'], number>();
  const spent = new Map<AblationJob['kind'], { seconds: number; units: number }>();
  const start = now();
  let doneUnits = 0;
  const totalUnits = pending.reduce((s, j) => s + j.units, 0);
  /** Progress of the table: `unitsInJob` steps of `job` done (null: the job has finished). */
  const report = (job: AblationJob, unitsInJob: number | null, jobStart: number, detail: string) => {
    const elapsed = (now() - jobStart) / 1000;
    const eta = tableEtaSeconds(pending, job, unitsInJob, elapsed, measured);
    const seconds = (now() - start) / 1000;
    const done = doneUnits + (unitsInJob ?? 0);
    o.onProgress?.({
      task: 'ablation',
      done,
      total: totalUnits,
      unit: 'steps',
      rate: seconds > 0 ? done / seconds : 0,
      etaSeconds: eta,
      detail: `${job.id}: ${detail}`,
      jobId: job.id,
      jobIndex: jobs.indexOf(job),
      jobs: jobs.length,
      reused: jobs.length - pending.length,
    });
  };
  const stopCheck = () => {
    if (o.signal?.aborted) throw new AblationStoppedError();
  };
  // The latest training data asked for (the rows of one seed share it; the table holds one at a time).
  let dataCache: { key: string; data: TrainingData } | null = null;
  const dataFor = async (masking: MaskingStrategy, seed: number) => {
    const key = `${masking}/${seed}`;
    if (dataCache?.key !== key) dataCache = { key, data: await o.data(masking, seed) };
    return dataCache.data;
  };
  const modelCache = new Map<string, RealmCheckpoint>();
  const loadModel = async (key: string) => {
    let m = modelCache.get(key);
    if (!m) {
      m = (await o.store.model(key)) ?? undefined;
      if (!m) throw new Error(`the work folder lacks the model "${key}": delete its record to run that job again`);
      modelCache.set(key, m);
    }
    return m;
  };
  const train = async (trainer: RealmTrainer, job: AblationJob, jobStart: number) => {
    let steps = 0;
    while (!trainer.done) {
      stopCheck();
      const m = await trainer.step();
      if (!m) break;
      steps++;
      report(
        job,
        steps,
        jobStart,
        `${m.phase} step ${m.phaseStep}/${trainer.phaseAt(trainer.stepCount - 1)?.phaseSteps ?? '?'}, loss ${m.loss.toFixed(3)}`,
      );
    }
  };
  /** The row's model: Embed_input and Embed_doc from one stored model, the reader from the other. */
  const rowModel = async (job: Extract<AblationJob, { kind: 'recall' | 'qa' }>): Promise<RealmCheckpoint> => {
    const retriever = await loadModel(job.retrieverFrom);
    const reader = await loadModel(job.readerFrom);
    const config = { ...(reader.extra?.config as RealmConfig), seed: job.seed };
    return {
      runId: job.id,
      step: 0,
      createdAt: Date.now(),
      phase: 'done',
      weights: composeWeights(retriever.weights, reader.weights),
      optimizer: [],
      rngState: [],
      indexVersion: 0,
      extra: { config, retrieverFrom: job.retrieverFrom, readerFrom: job.readerFrom },
    };
  };

  for (const job of pending) {
    stopCheck();
    // Seed-major order: a new seed's jobs use the warm start and that seed's models only.
    if (job.kind !== 'warm-start')
      for (const key of modelCache.keys()) if (key !== WARM && !key.endsWith(`/seed-${job.seed}`)) modelCache.delete(key);
    const jobStart = now();
    report(job, 0, jobStart, 'starting');
    const record: AblationJobRecord = { jobId: job.id, planKey: planKeyOf(job, o.scale), seconds: 0, finishedAt: 0 };
    if (job.kind === 'warm-start' || job.kind === 'pretrain') {
      const masking = job.config.masking;
      const data = await dataFor(masking, job.kind === 'warm-start' ? job.config.seed : job.seed);
      const trainer = new RealmTrainer({
        config: job.config,
        data,
        refresher: o.refresher?.({ id: job.id, config: job.config }),
        indexFactory: o.indexFactory,
      });
      try {
        if (job.kind === 'warm-start' && o.warmStart) initModelWeights(trainer.model, o.warmStart);
        else if (job.kind === 'pretrain') initModelWeights(trainer.model, await loadModel(WARM));
        if (job.kind === 'pretrain' || !o.warmStart) await train(trainer, job, jobStart);
        const c = await trainer.checkpoint(job.id);
        c.optimizer = []; // the table reuses weights only
        await o.store.saveModel(job.id, c);
        modelCache.set(job.id, c);
      } finally {
        trainer.dispose();
      }
    } else if (job.kind === 'recall') {
      const m = await rowModel(job);
      const config = m.extra!.config as RealmConfig;
      const data = await dataFor(config.masking, job.seed);
      const model = new RealmModel(config, () => 0);
      try {
        model.setWeights(m.weights);
        const r = await o.zeroShotRecall(model, documentStore(data.passages, config.maxDocLength));
        Object.assign(record, { recallAt5: r.recall, questions: r.queries });
      } finally {
        model.dispose();
      }
    } else {
      const m = await rowModel(job);
      const r = await o.executor!.finetuneAndEvaluate(m, {
        rowId: job.row.id,
        seed: job.seed,
        onStep: (done) => {
          stopCheck();
          report(job, done, jobStart, `fine-tuning step ${done}/${job.units}`);
        },
      });
      Object.assign(record, { em: r.em, questions: r.questions });
    }
    record.seconds = (now() - jobStart) / 1000;
    record.finishedAt = Date.now();
    await o.store.saveRecord(record);
    records.set(job.id, record);
    const s = spent.get(job.kind) ?? { seconds: 0, units: 0 };
    s.seconds += record.seconds;
    s.units += job.units;
    spent.set(job.kind, s);
    if (s.units > 0) measured.set(job.kind, s.seconds / s.units);
    doneUnits += job.units;
    report(job, null, jobStart, `done in ${formatEta(record.seconds)}`);
  }
  return resultsOf(jobs, records);
}

/** (row, seed) results from the jobs' records: EM from qa jobs (null when not run), recall@5 from recall jobs. */
function resultsOf(jobs: readonly AblationJob[], records: Map<string, AblationJobRecord>): AblationRowResult[] {
  const out: AblationRowResult[] = [];
  for (const job of jobs) {
    if (job.kind !== 'recall') continue;
    const qa = records.get(`qa/${job.row.id}/seed-${job.seed}`);
    out.push({
      rowId: job.row.id,
      seed: job.seed,
      recallAt5: records.get(job.id)?.recallAt5 ?? null,
      em: qa?.em ?? null,
    });
  }
  return out;
}
