// The one module that imports idb. Everything persistent goes through the typed accessors here:
// corpora and their chunks, vocabularies, index embeddings (by index version), checkpoints, runs and
// their logs, and small settings. The schema has a version and an explicit upgrade path that keeps
// every stored record. Every write goes through `guard`, so a full disk is a StorageFullError that
// says what to do, never a raw QuotaExceededError.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

const DB_NAME = 'realm-webgpu';
/** Bump when a store or index changes; add a step to `upgrade` below for every bump. */
const DB_VERSION = 2;

/** A corpus as listed in the UI. Chunks of a corpus in `staging` are not yet usable. */
export interface CorpusRecord {
  id: string;
  name: string;
  /** 'bundled:tiny', 'bundled:default', or 'import:<file name>'. */
  source: string;
  status: 'staging' | 'ready';
  createdAt: number;
  /** Free-form statistics (passages, tokens, spans by type, ...). */
  stats: Record<string, number>;
  /** While staging: when the importer last wrote (ms since epoch); a stale staging corpus is a leftover. */
  updatedAt?: number;
  /** Records the import skipped (the first few hundred), with their 1-based line and the reason. */
  badRecords?: { line: number; reason: string }[];
}

/** Evaluation sets shipped with a corpus (cloze and QA), kept for later evaluation. */
export interface EvalSetsRecord {
  cloze: unknown[];
  qaTrain: unknown[];
  qaDev: unknown[];
}

/** Settings key of the corpus that training uses. */
export const ACTIVE_CORPUS_KEY = 'activeCorpus';
const evalSetsKey = (corpusId: string) => `evalSets:${corpusId}`;
/** Settings key of the vocabulary kept with an imported run (its corpus may not be in this browser). */
const runVocabKey = (runId: string) => `runVocab:${runId}`;
/** Settings key of a run's Open-QA fine-tuned checkpoint (the page's fine-tuning phase, issue #34). */
const finetuneKey = (runId: string) => `finetune:${runId}`;

/** One passage (block) of a corpus: at most 128 wordpieces, with its salient spans. */
export interface ChunkRecord {
  corpusId: string;
  /** Position in the corpus, 0-based and dense: the row of this chunk in the index. */
  seq: number;
  /** Hex SHA-1 of `title + "\n" + text`: the document id used to forbid trivial retrievals. */
  id: string;
  title: string;
  text: string;
  /** Wordpiece ids of `[CLS] title [SEP] body [SEP]`, filled in once the corpus is tokenized. */
  tokenIds?: Int32Array;
  /** Salient spans in character offsets of `text`. */
  spans?: { start: number; end: number; type: string }[];
  source?: string;
  /** The id the imported record had in its file (jsonl `id` / `doc_id`); every block of it keeps it. */
  docId?: string;
}

interface VocabRecord {
  corpusId: string;
  /** Wordpieces in id order. */
  tokens: string[];
}

/**
 * A document index built by the index builder: `Embed_doc(z)` for every chunk. Keyed by corpus, run
 * and index version (versions restart with every run, so one run never overwrites another's index).
 */
export interface EmbeddingRecord {
  corpusId: string;
  version: number;
  /** Trainer step whose parameters θ′ built this index. */
  snapshotStep: number;
  runId: string;
  createdAt: number;
  dim: number;
  count: number;
  /** [count, dim] row-major. */
  vectors: Float32Array;
  /** Document id of each row (rows follow chunk seq order). */
  ids?: string[];
}

export interface CheckpointRecord {
  runId: string;
  step: number;
  createdAt: number;
  phase: string;
  /** Named weight buffers (Float32 data) and their shapes. */
  weights: { name: string; shape: number[]; data: ArrayBuffer }[];
  /** Optimizer slots, serialised the same way as the weights. */
  optimizer: { name: string; shape: number[]; data: ArrayBuffer }[];
  rngState: number[];
  /** Index version the trainer was using when the checkpoint was taken. */
  indexVersion: number;
  /**
   * Held-out metric of the evaluation at this very step (cloze accuracy; higher is better), when
   * one ran: retention keeps the checkpoint with the best one.
   */
  heldOut?: number;
  extra?: Record<string, unknown>;
}

/** How many checkpoints of a run `putCheckpoint` keeps. */
export interface CheckpointRetention {
  /** The newest `keepLatest` checkpoints are kept (at least 1)... */
  keepLatest: number;
  // ...and the one with the best `heldOut`, so a run keeps at most keepLatest + 1.
}

export interface RunRecord {
  id: string;
  createdAt: number;
  updatedAt: number;
  corpusId: string;
  config: Record<string, unknown>;
  status: 'running' | 'paused' | 'stopped' | 'done' | 'failed';
  step: number;
  finalMetrics?: Record<string, number>;
}

export interface RunLogRecord {
  runId: string;
  seq: number;
  kind: string;
  record: Record<string, unknown>;
}

interface RealmSchema extends DBSchema {
  corpora: { key: string; value: CorpusRecord };
  chunks: { key: [string, number]; value: ChunkRecord; indexes: { byDocId: [string, string] } };
  vocabs: { key: string; value: VocabRecord };
  embeddings: { key: [string, string, number]; value: EmbeddingRecord; indexes: { byRun: string } };
  checkpoints: { key: [string, number]; value: CheckpointRecord; indexes: { byHeldOut: [string, number] } };
  runs: { key: string; value: RunRecord };
  runLogs: { key: [string, number]; value: RunLogRecord };
  settings: { key: string; value: unknown };
}

/** IndexedDB is full or the browser refused more space. Nothing already stored was lost. */
export class StorageFullError extends Error {
  constructor(what: string) {
    super(
      `Browser storage is full while saving ${what}. Nothing already stored was lost. ` +
        'Delete old runs or corpora in the Runs panel, or allow this site more storage, then try again.',
    );
    this.name = 'StorageFullError';
  }
}

/** IndexedDB cannot be opened at all (private mode, disabled storage, a blocked upgrade). */
class StorageUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `Browser storage (IndexedDB) is unavailable: ${detail}. ` +
        'Leave private browsing, allow site data, or close other tabs of this app, then reload.',
    );
    this.name = 'StorageUnavailableError';
  }
}

function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name ?? '';
  return name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message ?? ''));
}

async function guard<T>(what: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    if (isQuotaError(e)) throw new StorageFullError(what);
    throw e;
  }
}

type RealmDB = IDBPDatabase<RealmSchema>;

/**
 * Starts requests in one transaction and waits for all of them. A request that throws when it is
 * made (rather than failing later) rejects the whole at once, and the requests already started are
 * marked handled (the transaction's abort fails them; nobody needs to hear about that twice).
 */
function requests(makers: (() => Promise<unknown>)[]): Promise<unknown[]> {
  const started: Promise<unknown>[] = [];
  try {
    for (const make of makers) started.push(make());
  } catch (e) {
    for (const p of started) p.catch(() => {});
    return Promise.reject(e);
  }
  return Promise.all(started);
}

/**
 * Runs `body`'s requests in `tx` and waits for the commit. Any failure, a failed request or one that
 * throws when it is made, aborts the whole transaction: it writes all of its records or none.
 */
async function allOrNothing<T>(tx: { abort(): void; done: Promise<void> }, body: () => Promise<T>): Promise<T> {
  try {
    const [value] = await Promise.all([body(), tx.done]);
    return value;
  } catch (e) {
    try {
      tx.abort();
    } catch {
      // already finished or aborted
    }
    await tx.done.catch(() => {});
    throw e;
  }
}

/** Opens (and if needed creates or upgrades) the database. */
async function openRealmDB(name = DB_NAME): Promise<RealmDB> {
  let gaveUp = false;
  let onBlocked: (e: Error) => void = () => {};
  const blocked = new Promise<never>((_, reject) => (onBlocked = reject));
  try {
    const opening = openDB<RealmSchema>(name, DB_VERSION, {
      upgrade(db, oldVersion, _newVersion, transaction) {
        if (oldVersion < 1) {
          db.createObjectStore('corpora', { keyPath: 'id' });
          const chunks = db.createObjectStore('chunks', { keyPath: ['corpusId', 'seq'] });
          chunks.createIndex('byDocId', ['corpusId', 'id']);
          db.createObjectStore('vocabs', { keyPath: 'corpusId' });
          db.createObjectStore('embeddings', { keyPath: ['corpusId', 'version'] });
          db.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] });
          db.createObjectStore('runs', { keyPath: 'id' });
          db.createObjectStore('runLogs', { keyPath: ['runId', 'seq'] });
          db.createObjectStore('settings');
        }
        if (oldVersion < 2) {
          // Index embeddings were keyed [corpusId, version]; versions restart with every run, so one
          // run's index could overwrite or prune another's. Now [corpusId, runId, version]. The old
          // store is renamed, every record copied into the new one, and only then dropped: if any
          // copy fails the upgrade aborts and the database stays at version 1, records intact.
          const old = transaction.objectStore('embeddings');
          (old as unknown as { name: string }).name = 'embeddings-v1';
          const fresh = db.createObjectStore('embeddings', { keyPath: ['corpusId', 'runId', 'version'] });
          fresh.createIndex('byRun', 'runId');
          // Checkpoints by held-out metric (records without one are not in the index): retention
          // finds a run's best checkpoint without reading any weights.
          transaction.objectStore('checkpoints').createIndex('byHeldOut', ['runId', 'heldOut']);
          const copy = async () => {
            let cursor = await old.openCursor();
            while (cursor) {
              const e = cursor.value as EmbeddingRecord;
              await fresh.put({ ...e, runId: typeof e.runId === 'string' ? e.runId : '' });
              cursor = await cursor.continue();
            }
            db.deleteObjectStore('embeddings-v1' as 'embeddings');
          };
          copy().catch(() => {
            try {
              transaction.abort();
            } catch {
              // already aborted by the failed request
            }
          });
        }
        // Future versions: `if (oldVersion < 3) { ... }`, never editing the steps above.
      },
      blocked() {
        // Another tab holds an older version open and does not let go: say so instead of waiting.
        onBlocked(new Error('another tab of this app has an older version of its storage open'));
      },
    });
    // Opened after all (the other tab closed) when this page had given up: let the connection go.
    opening.then((db) => gaveUp && db.close()).catch(() => {});
    return await Promise.race([opening, blocked]);
  } catch (e) {
    gaveUp = true;
    throw new StorageUnavailableError((e as Error).message);
  }
}

/** Range over every key that starts with `prefix` in a compound [prefix, number] key. */
function prefixRange(prefix: string): IDBKeyRange {
  return IDBKeyRange.bound([prefix, -Infinity], [prefix, Infinity]);
}

/** Every string key that starts with `prefix` ('\uffff' sorts after every character our ids use). */
function startsWith(prefix: string): IDBKeyRange {
  return IDBKeyRange.bound(prefix, prefix + '\uffff');
}

/** Every [corpusId, runId, version] key of a corpus (an array sorts after every string and number). */
function corpusRange(corpusId: string): IDBKeyRange {
  return IDBKeyRange.bound([corpusId], [corpusId, []]);
}

/** Every [corpusId, runId, version] key of one run on a corpus. */
function runRange(corpusId: string, runId: string): IDBKeyRange {
  return IDBKeyRange.bound([corpusId, runId, -Infinity], [corpusId, runId, Infinity]);
}

/** Typed accessors. One instance per thread (page or worker); each holds its own connection. */
export class RealmStore {
  private constructor(readonly db: RealmDB) {}

  static async open(name = DB_NAME): Promise<RealmStore> {
    return new RealmStore(await openRealmDB(name));
  }

  close(): void {
    this.db.close();
  }

  // --- settings (small key/value pairs) ---
  async getSetting<T>(key: string): Promise<T | undefined> {
    return (await this.db.get('settings', key)) as T | undefined;
  }
  async putSetting(key: string, value: unknown): Promise<void> {
    await guard(`the setting "${key}"`, () => this.db.put('settings', value, key));
  }

  // --- corpora and chunks ---
  async listCorpora(): Promise<CorpusRecord[]> {
    return this.db.getAll('corpora');
  }
  async getCorpus(id: string): Promise<CorpusRecord | undefined> {
    return this.db.get('corpora', id);
  }
  async putCorpus(c: CorpusRecord): Promise<void> {
    await guard(`corpus "${c.name}"`, () => this.db.put('corpora', c));
  }
  /** Writes a batch of chunks in one transaction (all or nothing). */
  async putChunks(chunks: ChunkRecord[]): Promise<void> {
    await guard(`${chunks.length} corpus chunks`, async () => {
      const tx = this.db.transaction('chunks', 'readwrite');
      await allOrNothing(tx, () => requests(chunks.map((c) => () => tx.store.put(c))));
    });
  }
  async countChunks(corpusId: string): Promise<number> {
    return this.db.count('chunks', prefixRange(corpusId));
  }
  /** Chunks with seq in [from, from + count), in seq order. */
  async getChunks(corpusId: string, from: number, count: number): Promise<ChunkRecord[]> {
    const range = IDBKeyRange.bound([corpusId, from], [corpusId, from + count - 1]);
    return this.db.getAll('chunks', range);
  }
  async getChunkByDocId(corpusId: string, docId: string): Promise<ChunkRecord | undefined> {
    return this.db.getFromIndex('chunks', 'byDocId', [corpusId, docId]);
  }
  async putVocab(v: VocabRecord): Promise<void> {
    await guard('the vocabulary', () => this.db.put('vocabs', v));
  }
  async getVocab(corpusId: string): Promise<VocabRecord | undefined> {
    return this.db.get('vocabs', corpusId);
  }
  /**
   * Deletes a corpus with its chunks, vocabulary, embeddings and evaluation sets, in one transaction.
   * If it was the active corpus, no corpus is active afterwards.
   */
  async deleteCorpus(corpusId: string): Promise<void> {
    await guard(`the deletion of corpus "${corpusId}"`, async () => {
      const tx = this.db.transaction(['corpora', 'chunks', 'vocabs', 'embeddings', 'settings'], 'readwrite');
      const settings = tx.objectStore('settings');
      const clearActive = async () => {
        if ((await settings.get(ACTIVE_CORPUS_KEY)) === corpusId) await settings.delete(ACTIVE_CORPUS_KEY);
      };
      await allOrNothing(tx, () =>
        requests([
          () => tx.objectStore('corpora').delete(corpusId),
          () => tx.objectStore('chunks').delete(prefixRange(corpusId)),
          () => tx.objectStore('vocabs').delete(corpusId),
          () => tx.objectStore('embeddings').delete(corpusRange(corpusId)),
          () => settings.delete(evalSetsKey(corpusId)),
          clearActive,
        ]),
      );
    });
  }

  // --- importing through a staging corpus, and the active corpus ---
  /**
   * Makes a staged corpus usable and (unless `activate` is false) the active one, in one
   * transaction: either both happen or neither. `patch` sets final fields (stats, bad records).
   */
  async commitStagedCorpus(
    corpusId: string,
    patch: Partial<Omit<CorpusRecord, 'id' | 'status'>> = {},
    opts: { activate?: boolean } = {},
  ): Promise<CorpusRecord> {
    return guard(`corpus "${corpusId}"`, async () => {
      const tx = this.db.transaction(['corpora', 'settings'], 'readwrite');
      const corpora = tx.objectStore('corpora');
      return allOrNothing(tx, async () => {
        const staged = await corpora.get(corpusId);
        if (!staged || staged.status !== 'staging') {
          throw new Error(`Corpus "${corpusId}" is not being imported, so there is nothing to commit. Import it again.`);
        }
        const ready: CorpusRecord = { ...staged, ...patch, id: corpusId, status: 'ready' };
        delete ready.updatedAt;
        await corpora.put(ready);
        if (opts.activate !== false) await tx.objectStore('settings').put(corpusId, ACTIVE_CORPUS_KEY);
        return ready;
      });
    });
  }
  /** Records that a staging corpus is still being written (see `deleteStaleStaging`). */
  async touchStaging(corpusId: string, stats?: Record<string, number>): Promise<void> {
    await guard(`corpus "${corpusId}"`, async () => {
      const tx = this.db.transaction('corpora', 'readwrite');
      await allOrNothing(tx, async () => {
        const c = await tx.store.get(corpusId);
        if (c && c.status === 'staging') await tx.store.put({ ...c, stats: stats ?? c.stats, updatedAt: Date.now() });
      });
    });
  }
  /**
   * Deletes staging corpora nobody has written to for `olderThanMs` (left over from a tab closed
   * during an import). Returns their ids.
   */
  async deleteStaleStaging(olderThanMs: number, now = Date.now()): Promise<string[]> {
    const stale = (await this.listCorpora()).filter(
      (c) => c.status === 'staging' && now - (c.updatedAt ?? c.createdAt) >= olderThanMs,
    );
    for (const c of stale) await this.deleteCorpus(c.id);
    return stale.map((c) => c.id);
  }
  async activeCorpusId(): Promise<string | undefined> {
    return this.getSetting<string>(ACTIVE_CORPUS_KEY);
  }
  /** Makes a ready corpus the active one. */
  async setActiveCorpus(corpusId: string): Promise<void> {
    await guard('the active corpus', async () => {
      const tx = this.db.transaction(['corpora', 'settings'], 'readwrite');
      await allOrNothing(tx, async () => {
        const c = await tx.objectStore('corpora').get(corpusId);
        if (!c || c.status !== 'ready') {
          throw new Error(`Corpus "${corpusId}" is not ready to use. Pick a corpus from the list, or import it again.`);
        }
        await tx.objectStore('settings').put(corpusId, ACTIVE_CORPUS_KEY);
      });
    });
  }
  async putEvalSets(corpusId: string, sets: EvalSetsRecord): Promise<void> {
    await guard('the evaluation sets', () => this.db.put('settings', sets, evalSetsKey(corpusId)));
  }
  async getEvalSets(corpusId: string): Promise<EvalSetsRecord | undefined> {
    return (await this.db.get('settings', evalSetsKey(corpusId))) as EvalSetsRecord | undefined;
  }

  // --- index embeddings (by corpus, run and version) ---
  async putEmbeddings(e: EmbeddingRecord): Promise<void> {
    await guard(`index version ${e.version}`, () => this.db.put('embeddings', e));
  }
  async getEmbeddings(corpusId: string, runId: string, version: number): Promise<EmbeddingRecord | undefined> {
    return this.db.get('embeddings', [corpusId, runId, version]);
  }
  /** The newest stored index that run `runId` built on a corpus, if any. */
  async latestEmbeddings(corpusId: string, runId: string): Promise<EmbeddingRecord | undefined> {
    const cursor = await this.db.transaction('embeddings').store.openCursor(runRange(corpusId, runId), 'prev');
    return cursor?.value;
  }
  /** Keeps the newest `keep` index versions run `runId` built on a corpus and deletes the rest (of that run only). */
  async pruneEmbeddings(corpusId: string, runId: string, keep: number): Promise<void> {
    await guard('the index pruning', async () => {
      const tx = this.db.transaction('embeddings', 'readwrite');
      await allOrNothing(tx, async () => {
        let cursor = await tx.store.openKeyCursor(runRange(corpusId, runId), 'prev');
        let seen = 0;
        while (cursor) {
          if (++seen > keep) await tx.store.delete(cursor.primaryKey);
          cursor = await cursor.continue();
        }
      });
    });
  }

  // --- runs, logs and checkpoints ---
  async putRun(r: RunRecord): Promise<void> {
    await guard(`run ${r.id}`, () => this.db.put('runs', r));
  }
  async getRun(id: string): Promise<RunRecord | undefined> {
    return this.db.get('runs', id);
  }
  async listRuns(): Promise<RunRecord[]> {
    return this.db.getAll('runs');
  }
  async appendRunLogs(logs: RunLogRecord[]): Promise<void> {
    await guard('run logs', async () => {
      const tx = this.db.transaction('runLogs', 'readwrite');
      await allOrNothing(tx, () => requests(logs.map((l) => () => tx.store.put(l))));
    });
  }
  async getRunLogs(runId: string): Promise<RunLogRecord[]> {
    return this.db.getAll('runLogs', prefixRange(runId));
  }
  /**
   * Stores a checkpoint. With `retention`, in the same transaction, deletes the run's other
   * checkpoints except the newest `keepLatest` and the one with the best held-out metric: the
   * write and the pruning happen together or not at all (a full disk deletes nothing).
   * Returns the steps deleted.
   */
  async putCheckpoint(c: CheckpointRecord, retention?: CheckpointRetention): Promise<number[]> {
    return guard(`the checkpoint at step ${c.step}`, async () => {
      const tx = this.db.transaction('checkpoints', 'readwrite');
      const pruned: number[] = [];
      const write = async () => {
        await tx.store.put(c);
        if (!retention) return;
        const keepLatest = Math.max(1, Math.floor(retention.keepLatest));
        const steps = (await tx.store.getAllKeys(prefixRange(c.runId))).map((k) => k[1]); // oldest first
        // The best held-out metric sorts last in the index; among equals, the latest step.
        const best = await tx.store.index('byHeldOut').openKeyCursor(prefixRange(c.runId), 'prev');
        const keep = new Set(steps.slice(-keepLatest));
        if (best) keep.add(best.primaryKey[1]);
        for (const step of steps) {
          if (keep.has(step)) continue;
          await tx.store.delete([c.runId, step]);
          pruned.push(step);
        }
      };
      await allOrNothing(tx, write);
      return pruned;
    });
  }
  async latestCheckpoint(runId: string): Promise<CheckpointRecord | undefined> {
    const cursor = await this.db.transaction('checkpoints').store.openCursor(prefixRange(runId), 'prev');
    return cursor?.value;
  }
  /**
   * Deletes a run with everything it owns, in one transaction: its record, logs, checkpoints, the index
   * embeddings it built (whatever their corpus) and the vocabulary kept with an imported run.
   */
  async deleteRun(runId: string): Promise<void> {
    await this.deleteRunsWhere(`the deletion of run ${runId}`, IDBKeyRange.only(runId), prefixRange(runId), [
      runVocabKey(runId),
      finetuneKey(runId),
    ]);
  }
  /**
   * Deletes a group of runs in one transaction: every run whose id starts with `runIdPrefix` (its record,
   * logs, checkpoints and the index embeddings it built) and every setting whose key starts with
   * `settingsPrefix` or is one of `settingKeys` (an ablation table's job records, and the table itself).
   * All or nothing.
   */
  async deleteRunGroup(runIdPrefix: string, settingsPrefix: string, settingKeys: string[] = []): Promise<void> {
    if (!runIdPrefix || !settingsPrefix) throw new RangeError('deleteRunGroup needs two non-empty prefixes');
    await this.deleteRunsWhere(
      `the deletion of the runs "${runIdPrefix}…"`,
      startsWith(runIdPrefix),
      IDBKeyRange.bound([runIdPrefix], [runIdPrefix + '\uffff']),
      [startsWith(settingsPrefix), ...settingKeys],
    );
  }
  /**
   * One transaction, all or nothing: the runs whose ids are in `ids`, their logs and checkpoints (keys in
   * `perRun`, a range over [runId, n] keys), the index embeddings they built, and the `settings` named.
   */
  private async deleteRunsWhere(
    what: string,
    ids: IDBKeyRange,
    perRun: IDBKeyRange,
    settings: (string | IDBKeyRange)[],
  ): Promise<void> {
    await guard(what, async () => {
      const tx = this.db.transaction(['runs', 'runLogs', 'checkpoints', 'embeddings', 'settings'], 'readwrite');
      const deleteEmbeddings = async () => {
        const embeddings = tx.objectStore('embeddings');
        let cursor = await embeddings.index('byRun').openKeyCursor(ids);
        while (cursor) {
          await embeddings.delete(cursor.primaryKey);
          cursor = await cursor.continue();
        }
      };
      await allOrNothing(tx, () =>
        requests([
          () => tx.objectStore('runs').delete(ids),
          () => tx.objectStore('runLogs').delete(perRun),
          () => tx.objectStore('checkpoints').delete(perRun),
          ...settings.map((k) => () => tx.objectStore('settings').delete(k)),
          deleteEmbeddings,
        ]),
      );
    });
  }
  /** The settings whose keys start with `prefix`, as [key, value] pairs in key order. */
  async settingsWithPrefix<T>(prefix: string): Promise<[string, T][]> {
    const tx = this.db.transaction('settings');
    const range = startsWith(prefix);
    const [keys, values] = await Promise.all([tx.store.getAllKeys(range), tx.store.getAll(range), tx.done]);
    return keys.map((k, i) => [String(k), values[i] as T]);
  }
  /** Steps of a run's stored checkpoints, oldest first (reads keys only, not the weights). */
  async checkpointSteps(runId: string): Promise<number[]> {
    const keys = await this.db.getAllKeys('checkpoints', prefixRange(runId));
    return keys.map((k) => k[1]);
  }
  /** Every checkpoint of a run, oldest first. */
  async getCheckpoints(runId: string): Promise<CheckpointRecord[]> {
    return this.db.getAll('checkpoints', prefixRange(runId));
  }
  /**
   * The runs for the Runs panel, newest first, each with its latest checkpoint step, how many log
   * records it has, and whether its corpus is in this browser (a run can only resume on its corpus).
   */
  async listRunSummaries(): Promise<RunSummary[]> {
    const [runs, corpora] = await Promise.all([this.listRuns(), this.listCorpora()]);
    const corpusStatus = new Map(corpora.map((c) => [c.id, c.status]));
    const summaries = await Promise.all(
      runs.map(async (run): Promise<RunSummary> => {
        const [steps, logCount, vocab] = await Promise.all([
          this.checkpointSteps(run.id),
          this.db.count('runLogs', prefixRange(run.id)),
          this.getRunVocab(run.id),
        ]);
        return {
          run,
          checkpointStep: steps.length > 0 ? steps[steps.length - 1] : null,
          checkpointCount: steps.length,
          logCount,
          corpus: corpusStatus.get(run.corpusId) ?? 'missing',
          hasOwnVocab: vocab !== undefined,
        };
      }),
    );
    return summaries.sort((a, b) => b.run.createdAt - a.run.createdAt || (a.run.id < b.run.id ? 1 : -1));
  }
  /** The vocabulary kept with an imported run (for runs whose corpus may not be in this browser), or a warm run's model vocabulary. */
  async getRunVocab(runId: string): Promise<string[] | undefined> {
    return (await this.db.get('settings', runVocabKey(runId))) as string[] | undefined;
  }
  /**
   * The run's Open-QA fine-tuned checkpoint (phase `finetune`: weights with the span head, AdamW, step,
   * RNG, question order), kept beside the run's pre-training checkpoints, one per run; deleted with the run.
   */
  async getFinetuneCheckpoint(runId: string): Promise<CheckpointRecord | undefined> {
    return (await this.db.get('settings', finetuneKey(runId))) as CheckpointRecord | undefined;
  }
  /** Stores (replaces) the run's fine-tuned checkpoint in one write: the one before it stays whole until then. */
  async putFinetuneCheckpoint(c: CheckpointRecord): Promise<void> {
    await guard(`the fine-tuned checkpoint of run ${c.runId}`, () => this.db.put('settings', c, finetuneKey(c.runId)));
  }
  /** Keeps the vocabulary a run's model reads with when it is not its corpus's (a warm start's); deleted with the run. */
  async putRunVocab(runId: string, tokens: string[]): Promise<void> {
    await guard(`the vocabulary of run ${runId}`, () => this.db.put('settings', tokens, runVocabKey(runId)));
  }
  /**
   * Stores a whole run (record, logs, checkpoints, and optionally the vocabulary it was trained with)
   * in one transaction. Never overwrites: if a run with this id exists, nothing is written and a
   * RunExistsError is thrown.
   */
  async putRunBundle(b: {
    run: RunRecord;
    logs: RunLogRecord[];
    checkpoints: CheckpointRecord[];
    vocab?: string[];
    /** The run's Open-QA fine-tuned checkpoint (getFinetuneCheckpoint), stored in the same transaction. */
    finetune?: CheckpointRecord;
  }): Promise<void> {
    const id = b.run.id;
    if ([...b.logs, ...b.checkpoints, ...(b.finetune ? [b.finetune] : [])].some((r) => r.runId !== id)) {
      throw new Error(`Every log and checkpoint of run ${id} must carry its id; import the run again.`);
    }
    await guard(`run ${id}`, async () => {
      const tx = this.db.transaction(['runs', 'runLogs', 'checkpoints', 'settings'], 'readwrite');
      await allOrNothing(tx, async () => {
        if ((await tx.objectStore('runs').getKey(id)) !== undefined) throw new RunExistsError(id);
        await requests([
          () => tx.objectStore('runs').add(b.run),
          ...b.logs.map((l) => () => tx.objectStore('runLogs').put(l)),
          ...b.checkpoints.map((c) => () => tx.objectStore('checkpoints').put(c)),
          ...(b.vocab ? [() => tx.objectStore('settings').put(b.vocab, runVocabKey(id))] : []),
          ...(b.finetune ? [() => tx.objectStore('settings').put(b.finetune, finetuneKey(id))] : []),
        ]);
      });
    });
  }
}

/** What the Runs panel lists for one stored run. */
export interface RunSummary {
  run: RunRecord;
  /** Step of the latest checkpoint, or null when the run has none yet. */
  checkpointStep: number | null;
  checkpointCount: number;
  logCount: number;
  /** Whether the run's corpus is in this browser: only then can the run resume. */
  corpus: CorpusRecord['status'] | 'missing';
  /** Whether a vocabulary was kept with the run (it was imported). */
  hasOwnVocab: boolean;
}

/** A run with this id is already stored; nothing was overwritten. */
export class RunExistsError extends Error {
  constructor(readonly runId: string) {
    super(
      `A run with id "${runId}" is already stored in this browser. Import it under a new id, or delete the stored one first.`,
    );
    this.name = 'RunExistsError';
  }
}

/** Storage used and the quota of this origin, and whether the browser keeps it under pressure. */
export interface StorageStatus {
  /** False when the browser does not say (no navigator.storage.estimate). */
  known: boolean;
  usage: number | null;
  quota: number | null;
  /** True when the browser promised not to evict this site's data; null when it cannot say. */
  persisted: boolean | null;
}

export async function storageStatus(): Promise<StorageStatus> {
  const storage = globalThis.navigator?.storage;
  let persisted: boolean | null = null;
  try {
    if (storage?.persisted) persisted = await storage.persisted();
  } catch {
    persisted = null;
  }
  try {
    const est = await storage?.estimate?.();
    if (est && typeof est.usage === 'number' && typeof est.quota === 'number') {
      return { known: true, usage: est.usage, quota: est.quota, persisted };
    }
  } catch {
    // Some browsers throw in private windows: report "unknown" below.
  }
  return { known: false, usage: null, quota: null, persisted };
}

/** Asks the browser to keep this site's data under storage pressure ("Keep my data"). */
export async function requestPersistentStorage(): Promise<'granted' | 'denied' | 'unsupported'> {
  const storage = globalThis.navigator?.storage;
  if (!storage?.persist) return 'unsupported';
  try {
    return (await storage.persist()) ? 'granted' : 'denied';
  } catch {
    return 'denied';
  }
}
