// The page's ablation table (issue #35, docs/ablations.md): the same rows (ablation-rows.ts), the same
// runner (ablation-runner.ts) and the same Open-QA columns (ablation-qa.ts) as `npm run ablate`, on the
// active corpus in this browser, with the page's storage behind the runner's AblationStore:
//   settings 'ablation:latest'                     the id of the newest table
//   settings 'ablation:table:<table>'              the table: its settings, status and (row, seed) results
//   settings 'ablation:job:<table>:<job>'          a finished job's record (what the runner resumes from)
//   checkpoints ['ablation:<table>:<job>', 0]      a warm-start or pre-trained model (weights only)
// Pre-training refreshes the index through the page's index builder with the `every-R-steps` policy:
// an exact schedule (a rebuild at every R-th step, waited for when late), so a row's staleness does not
// depend on this machine's speed, as the runner's Node refresh does not.
import type { QaItem } from '../corpus/corpus-format';
import type { MaskingStrategy } from '../corpus/masking-strategies';
import { WordPieceTokenizer } from '../corpus/tokenizer';
import { createMipsIndex } from '../kernels/mips-index';
import { openQaExecutor, openQaZeroShotRecall, type AblationQaCorpus } from '../model/ablation-qa';
import { ABLATION_ROWS, ablationRow, realmRowConfig, type AblationRowId, type AblationScale } from '../model/ablation-rows';
import {
  planAblation,
  runAblation,
  type AblationJobRecord,
  type AblationProgress,
  type AblationStore,
} from '../model/ablation-runner';
import { ablationTable, type AblationRowResult, type AblationTableRow } from '../model/ablation-table';
import type { RealmCheckpoint } from '../model/trainer';
import type { RealmStore } from '../storage/db';
import { AsyncRefresher } from '../workers/async-refresher';
import type { BuilderSupervisor } from '../workers/index-builder-client';
import { loadRunData } from './run-data';

/** What the panel shows, from the model (ui takes values from app only). */
export { ABLATION_ROWS } from '../model/ablation-rows';
export { ablationCsv, ablationMarkdown, ablationRowTexts } from '../model/ablation-table';

/** What the panel chooses: rows, seeds and the table's (small) step counts. */
export interface AblationsSettings {
  rows: AblationRowId[];
  seeds: number;
  ictSteps: number;
  mlmSteps: number;
  realmSteps: number;
  /** R: the normal refresh interval (the stale row uses 30 R). */
  refreshEvery: number;
  finetuneSteps: number;
  finetuneBatch: number;
}

/** A short table for the page's first run: the tiny preset, a few hundred steps in all. */
export const DEFAULT_ABLATIONS_SETTINGS: AblationsSettings = {
  rows: ABLATION_ROWS.map((r) => r.id),
  seeds: 1,
  ictSteps: 40,
  mlmSteps: 40,
  realmSteps: 30,
  refreshEvery: 5,
  finetuneSteps: 20,
  finetuneBatch: 4,
};

export interface StoredAblationTable {
  id: string;
  corpusId: string;
  createdAt: number;
  updatedAt: number;
  settings: AblationsSettings;
  status: 'running' | 'done' | 'stopped' | 'failed';
  results: AblationRowResult[];
  /** Wall time of the last invocation that finished it (seconds). */
  seconds?: number;
  /** How many jobs the table plans (warm start, pre-trainings, recall and fine-tuning jobs). */
  plannedJobs?: number;
  error?: string;
}

/** The name a running table holds the page's GPU under (studio-store's pageJob). */
export const ABLATION_TABLE_JOB = 'The ablation table';

const LATEST_KEY = 'ablation:latest';
const tableKey = (id: string) => `ablation:table:${id}`;
const jobKey = (table: string, job: string) => `ablation:job:${table}:${job}`;
const modelRunId = (table: string, key: string) => `ablation:${table}:${key}`;

/** The runner's store over the page's IndexedDB (storage/db.ts), one table's records and models. */
export class IdbAblationStore implements AblationStore {
  constructor(
    private readonly store: RealmStore,
    readonly tableId: string,
  ) {}

  async record(jobId: string): Promise<AblationJobRecord | null> {
    return (await this.store.getSetting<AblationJobRecord>(jobKey(this.tableId, jobId))) ?? null;
  }

  async saveRecord(r: AblationJobRecord): Promise<void> {
    await this.store.putSetting(jobKey(this.tableId, r.jobId), r);
  }

  async model(key: string): Promise<RealmCheckpoint | null> {
    return (await this.store.latestCheckpoint(modelRunId(this.tableId, key))) ?? null;
  }

  async saveModel(key: string, c: RealmCheckpoint): Promise<void> {
    await this.store.putCheckpoint({ ...c, runId: modelRunId(this.tableId, key), step: 0 }, { keepLatest: 1 });
  }
}

/** The newest table in this browser, if any. */
export async function latestAblationTable(store: RealmStore): Promise<StoredAblationTable | null> {
  const id = await store.getSetting<string>(LATEST_KEY);
  return id ? ((await store.getSetting<StoredAblationTable>(tableKey(id))) ?? null) : null;
}

/** A stored table as the Runs panel lists it: a group of runs (its warm start and pre-trainings) and jobs. */
export interface AblationGroup {
  table: StoredAblationTable;
  /** Its finished jobs' records, in key order. */
  jobs: AblationJobRecord[];
}

/** Every ablation table stored in this browser with its finished jobs, newest first. */
export async function listAblationGroups(store: RealmStore): Promise<AblationGroup[]> {
  const tables = await store.settingsWithPrefix<StoredAblationTable>(tableKey(''));
  const groups = await Promise.all(
    tables.map(async ([, table]) => ({
      table,
      jobs: (await store.settingsWithPrefix<AblationJobRecord>(jobKey(table.id, ''))).map(([, r]) => r),
    })),
  );
  return groups.sort((a, b) => b.table.createdAt - a.table.createdAt);
}

/**
 * Deletes a table with everything it stored, in one transaction (all or nothing): the table, its job
 * records and its models (the warm start's and every pre-training's checkpoint and index embeddings),
 * and the latest-table key when it names this table.
 */
export async function deleteAblationGroup(store: RealmStore, tableId: string): Promise<void> {
  const latest = (await store.getSetting<string>(LATEST_KEY)) === tableId ? [LATEST_KEY] : [];
  await store.deleteRunGroup(modelRunId(tableId, ''), jobKey(tableId, ''), [tableKey(tableId), ...latest]);
}

/** The table's rows (Table 2's order) with their statistics, from a stored table. */
export function tableRows(t: StoredAblationTable): AblationTableRow[] {
  return ablationTable(
    t.results,
    t.settings.rows.map((id) => ablationRow(id)),
  );
}

/** Checks the settings; a message says what is wrong. */
export function checkAblationsSettings(s: AblationsSettings): void {
  if (s.rows.length === 0) throw new Error('Choose at least one row of the table.');
  const whole = (name: string, x: number, min: number) => {
    if (!(Number.isInteger(x) && x >= min && x <= 100_000)) throw new Error(`${name} must be a whole number from ${min}.`);
  };
  whole('Seeds', s.seeds, 1);
  if (s.seeds > 20) throw new Error('Seeds: at most 20 in the page.');
  whole('ICT steps', s.ictSteps, 1);
  whole('MLM steps', s.mlmSteps, 1);
  whole('REALM steps', s.realmSteps, 1);
  whole('Refresh every', s.refreshEvery, 1);
  whole('Fine-tuning steps', s.finetuneSteps, 1);
  whole('Fine-tuning batch', s.finetuneBatch, 1);
}

export interface AblationsRunEnv {
  store: RealmStore;
  builder: BuilderSupervisor;
}

/**
 * Runs (or goes on with) a table on the active corpus: a new table unless `resume` names a stored one with
 * the same settings. Every finished job is in IndexedDB before the next starts; a stop or a reload keeps
 * them, and running the same table again skips them.
 */
export async function runAblationsTable(
  env: AblationsRunEnv,
  settings: AblationsSettings,
  opts: {
    resume?: StoredAblationTable | null;
    signal?: AbortSignal;
    onProgress?: (p: AblationProgress) => void;
    onTable?: (t: StoredAblationTable) => void;
  } = {},
): Promise<StoredAblationTable> {
  checkAblationsSettings(settings);
  const { store } = env;
  const corpusId = await store.activeCorpusId();
  if (!corpusId) throw new Error('No corpus is active yet: load one in the Corpus panel first.');
  const vocab = await store.getVocab(corpusId);
  if (!vocab) throw new Error(`Corpus "${corpusId}" has no vocabulary: re-import it in the Corpus panel.`);
  const sets = await store.getEvalSets(corpusId);
  const train = (sets?.qaTrain ?? []) as QaItem[];
  const dev = (sets?.qaDev ?? []) as QaItem[];
  if (train.length === 0 || dev.length === 0)
    throw new Error(`Corpus "${corpusId}" has no QA training or dev questions: the table fine-tunes and evaluates on them.`);
  const tokenizer = new WordPieceTokenizer(vocab.tokens);
  const scale: AblationScale = {
    preset: 'tiny',
    overrides: {
      vocabSize: tokenizer.size,
      ictSteps: settings.ictSteps,
      mlmSteps: settings.mlmSteps,
      realmSteps: settings.realmSteps,
      refreshEvery: settings.refreshEvery,
    },
  };
  const same =
    opts.resume && opts.resume.corpusId === corpusId && JSON.stringify(opts.resume.settings) === JSON.stringify(settings);
  const now = Date.now();
  let table: StoredAblationTable = same
    ? { ...opts.resume!, status: 'running', error: undefined, updatedAt: now }
    : { id: `t${now.toString(36)}`, corpusId, createdAt: now, updatedAt: now, settings, status: 'running', results: [] };
  const save = async (patch: Partial<StoredAblationTable>) => {
    table = { ...table, ...patch, updatedAt: Date.now() };
    await store.putSetting(tableKey(table.id), table);
    opts.onTable?.(table);
  };
  const plan = {
    scale,
    seeds: Array.from({ length: settings.seeds }, (_, i) => i + 1),
    rows: settings.rows.map((id) => ablationRow(id)),
    finetuneSteps: settings.finetuneSteps,
  };
  await save({ plannedJobs: planAblation(plan).length });
  await store.putSetting(LATEST_KEY, table.id);
  const t0 = performance.now();
  try {
    const qaCorpus: AblationQaCorpus = { passages: await evidencePassages(store, corpusId), tokenizer, train, dev };
    const results = await runAblation({
      ...plan,
      store: new IdbAblationStore(store, table.id),
      data: async (masking: MaskingStrategy, seed: number) =>
        loadRunData(store, corpusId, { ...realmRowConfig(scale), masking, seed }),
      zeroShotRecall: openQaZeroShotRecall(qaCorpus),
      executor: openQaExecutor(qaCorpus, { steps: settings.finetuneSteps, batchSize: settings.finetuneBatch }),
      refresher: (job) =>
        new AsyncRefresher({
          policy: 'every-R-steps',
          every: Math.max(1, job.config.refreshEvery),
          builder: env.builder,
          corpusId,
          runId: modelRunId(table.id, job.id),
          factory: createMipsIndex,
        }),
      indexFactory: createMipsIndex,
      signal: opts.signal,
      onProgress: opts.onProgress,
    });
    await save({ status: 'done', results, seconds: (performance.now() - t0) / 1000 });
  } catch (e) {
    const stopped = opts.signal?.aborted === true;
    const results = await finishedResults(new IdbAblationStore(store, table.id), settings).catch(() => table.results);
    await save({ status: stopped ? 'stopped' : 'failed', results, error: stopped ? undefined : (e as Error).message });
    if (!stopped) throw e;
  }
  return table;
}

/** The (row, seed) results of the jobs a stopped table finished (EM or R@5 null where not run yet). */
async function finishedResults(store: IdbAblationStore, settings: AblationsSettings): Promise<AblationRowResult[]> {
  const out: AblationRowResult[] = [];
  for (let seed = 1; seed <= settings.seeds; seed++)
    for (const rowId of settings.rows) {
      const recall = await store.record(`recall/${rowId}/seed-${seed}`);
      const qa = await store.record(`qa/${rowId}/seed-${seed}`);
      if (recall || qa) out.push({ rowId, seed, recallAt5: recall?.recallAt5 ?? null, em: qa?.em ?? null });
    }
  return out;
}

/** The corpus's passages in index order (row i = chunk seq i), as the QA evidence reads them. */
async function evidencePassages(store: RealmStore, corpusId: string) {
  const count = await store.countChunks(corpusId);
  const out: { id: string; title: string; text: string }[] = [];
  for (let from = 0; from < count; from += 512)
    for (const c of await store.getChunks(corpusId, from, 512)) out.push({ id: c.id, title: c.title, text: c.text });
  return out;
}
