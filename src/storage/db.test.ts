import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACTIVE_CORPUS_KEY,
  RealmStore,
  RunExistsError,
  StorageFullError,
  requestPersistentStorage,
  storageStatus,
  type ChunkRecord,
  type CorpusRecord,
  type RunRecord,
} from './db';

let store: RealmStore;
let n = 0;
beforeEach(async () => {
  store = await RealmStore.open(`test-db-${n++}`);
});
afterEach(() => store.close());

const chunk = (corpusId: string, seq: number): ChunkRecord => ({
  corpusId,
  seq,
  id: `doc${seq}`,
  title: `T${seq}`,
  text: `text ${seq}`,
  tokenIds: new Int32Array([2, seq, 3]),
});

describe('RealmStore', () => {
  it('round-trips settings', async () => {
    await store.putSetting('activeCorpus', 'tiny');
    expect(await store.getSetting('activeCorpus')).toBe('tiny');
    expect(await store.getSetting('missing')).toBeUndefined();
  });

  it('stores chunks by corpus and seq, with typed arrays intact', async () => {
    await store.putChunks([0, 1, 2, 3].map((i) => chunk('a', i)));
    await store.putChunks([0, 1].map((i) => chunk('b', i)));
    expect(await store.countChunks('a')).toBe(4);
    expect(await store.countChunks('b')).toBe(2);
    const page = await store.getChunks('a', 1, 2);
    expect(page.map((c) => c.seq)).toEqual([1, 2]);
    expect(page[0].tokenIds).toBeInstanceOf(Int32Array);
    expect(Array.from(page[0].tokenIds!)).toEqual([2, 1, 3]);
    expect((await store.getChunkByDocId('a', 'doc3'))?.seq).toBe(3);
  });

  it('deletes a corpus with its chunks and embeddings but leaves the others', async () => {
    await store.putCorpus({ id: 'a', name: 'A', source: 'x', status: 'ready', createdAt: 0, stats: {} });
    await store.putChunks([chunk('a', 0), chunk('b', 0)]);
    await store.putEmbeddings({
      corpusId: 'a',
      version: 1,
      snapshotStep: 0,
      runId: 'r',
      createdAt: 0,
      dim: 2,
      count: 1,
      vectors: new Float32Array([1, 2]),
    });
    await store.deleteCorpus('a');
    expect(await store.getCorpus('a')).toBeUndefined();
    expect(await store.countChunks('a')).toBe(0);
    expect(await store.countChunks('b')).toBe(1);
    expect(await store.latestEmbeddings('a', 'r')).toBeUndefined();
  });

  it('finds the latest index version of a run and prunes old ones', async () => {
    for (const version of [1, 2, 10]) {
      await store.putEmbeddings({
        corpusId: 'a',
        version,
        snapshotStep: version * 5,
        runId: 'r',
        createdAt: 0,
        dim: 2,
        count: 1,
        vectors: new Float32Array([version, 0]),
      });
    }
    expect((await store.latestEmbeddings('a', 'r'))?.version).toBe(10);
    await store.pruneEmbeddings('a', 'r', 2);
    expect(await store.getEmbeddings('a', 'r', 1)).toBeUndefined();
    expect((await store.getEmbeddings('a', 'r', 2))?.vectors[0]).toBe(2);
  });

  it("keys index embeddings by run: two runs' version 1 on one corpus neither overwrite nor prune each other", async () => {
    const put = (runId: string, version: number, value: number) =>
      store.putEmbeddings({
        corpusId: 'a',
        version,
        snapshotStep: 0,
        runId,
        createdAt: 0,
        dim: 1,
        count: 1,
        vectors: new Float32Array([value]),
      });
    await put('r1', 1, 11);
    await put('r2', 1, 21);
    await put('r2', 2, 22);
    await put('r2', 3, 23);
    expect((await store.getEmbeddings('a', 'r1', 1))?.vectors[0]).toBe(11);
    expect((await store.getEmbeddings('a', 'r2', 1))?.vectors[0]).toBe(21);
    await store.pruneEmbeddings('a', 'r2', 1);
    expect((await store.latestEmbeddings('a', 'r1'))?.vectors[0]).toBe(11);
    expect((await store.latestEmbeddings('a', 'r2'))?.vectors[0]).toBe(23);
    expect(await store.getEmbeddings('a', 'r2', 2)).toBeUndefined();
  });

  it('keeps checkpoints and logs per run, and deletes a run whole', async () => {
    for (const step of [10, 20]) {
      await store.putCheckpoint({
        runId: 'r1',
        step,
        createdAt: 0,
        phase: 'realm',
        weights: [],
        optimizer: [],
        rngState: [1],
        indexVersion: 1,
      });
    }
    await store.appendRunLogs([{ runId: 'r1', seq: 0, kind: 'step', record: { loss: 1 } }]);
    expect((await store.latestCheckpoint('r1'))?.step).toBe(20);
    await store.deleteRun('r1');
    expect(await store.latestCheckpoint('r1')).toBeUndefined();
    expect(await store.getRunLogs('r1')).toEqual([]);
  });

  it("keeps a run's fine-tuned checkpoint apart from its pre-training ones, replaces it, and deletes it with the run", async () => {
    const weights = [{ name: 'span/w', shape: [2], data: new Float32Array([1, 2]).buffer }];
    const ft = { runId: 'r1', step: 3, createdAt: 0, phase: 'finetune', weights, optimizer: [], rngState: [1], indexVersion: 0 };
    await store.putCheckpoint({ ...ft, step: 10, phase: 'realm', weights: [] });
    await store.putFinetuneCheckpoint(ft);
    await store.putFinetuneCheckpoint({ ...ft, step: 4 });
    expect((await store.latestCheckpoint('r1'))?.phase).toBe('realm'); // resuming pre-training never sees it
    const back = (await store.getFinetuneCheckpoint('r1'))!;
    expect(back.step).toBe(4);
    expect(Array.from(new Float32Array(back.weights[0].data))).toEqual([1, 2]);
    expect(await store.getFinetuneCheckpoint('r2')).toBeUndefined();
    await store.deleteRun('r1');
    expect(await store.getFinetuneCheckpoint('r1')).toBeUndefined();
  });

  it('deletes a group of runs and settings by prefix in one go, and nothing outside the group', async () => {
    const ckpt = (runId: string) => ({
      runId,
      step: 0,
      createdAt: 0,
      phase: 'realm',
      weights: [],
      optimizer: [],
      rngState: [1],
      indexVersion: 0,
    });
    const emb = (runId: string) => ({
      corpusId: 'a',
      version: 1,
      snapshotStep: 0,
      runId,
      createdAt: 0,
      dim: 1,
      count: 1,
      vectors: new Float32Array([1]),
    });
    for (const id of ['ablation:t1:warm-start', 'ablation:t1:pretrain/realm/seed-1', 'ablation:t10:warm-start', 'r1']) {
      await store.putCheckpoint(ckpt(id));
      await store.putEmbeddings(emb(id));
    }
    await store.putSetting('ablation:job:t1:warm-start', { seconds: 1 });
    await store.putSetting('ablation:job:t1:qa/realm/seed-1', { em: 0.5 });
    await store.putSetting('ablation:table:t1', { id: 't1' });
    await store.putSetting('ablation:job:t10:warm-start', { seconds: 2 });
    await store.putSetting('ablation:table:t10', { id: 't10' });
    expect((await store.settingsWithPrefix('ablation:job:t1:')).map(([k]) => k)).toEqual([
      'ablation:job:t1:qa/realm/seed-1',
      'ablation:job:t1:warm-start',
    ]);
    await store.deleteRunGroup('ablation:t1:', 'ablation:job:t1:', ['ablation:table:t1']);
    expect(await store.latestCheckpoint('ablation:t1:warm-start')).toBeUndefined();
    expect(await store.latestCheckpoint('ablation:t1:pretrain/realm/seed-1')).toBeUndefined();
    expect(await store.latestEmbeddings('a', 'ablation:t1:warm-start')).toBeUndefined();
    expect(await store.settingsWithPrefix('ablation:job:t1:')).toEqual([]);
    expect(await store.getSetting('ablation:table:t1')).toBeUndefined();
    // t10 shares the characters "t1" but not the prefix "t1:"; r1 is another run.
    expect((await store.latestCheckpoint('ablation:t10:warm-start'))?.runId).toBe('ablation:t10:warm-start');
    expect(await store.latestEmbeddings('a', 'ablation:t10:warm-start')).toBeDefined();
    expect(await store.latestCheckpoint('r1')).toBeDefined();
    expect(await store.getSetting('ablation:job:t10:warm-start')).toEqual({ seconds: 2 });
    expect(await store.getSetting('ablation:table:t10')).toEqual({ id: 't10' });
    await expect(store.deleteRunGroup('', 'x')).rejects.toThrow(RangeError);
  });

  describe('runs for the Runs panel', () => {
    const runRecord = (id: string, createdAt: number, corpusId = 'c'): RunRecord => ({
      id,
      createdAt,
      updatedAt: createdAt,
      corpusId,
      config: { seed: 1 },
      status: 'done',
      step: 4,
      finalMetrics: { loss: 2.5 },
    });
    const embeddings = (corpusId: string, version: number, runId: string) => ({
      corpusId,
      version,
      snapshotStep: 0,
      runId,
      createdAt: 0,
      dim: 1,
      count: 1,
      vectors: new Float32Array([version]),
    });

    it('deletes a run with its logs, checkpoints, embeddings and kept vocabulary, and nothing of other runs', async () => {
      for (const id of ['r1', 'r2']) {
        await store.putRunBundle({
          run: runRecord(id, 1),
          logs: [{ runId: id, seq: 0, kind: 'step', record: { loss: 1 } }],
          checkpoints: [
            { runId: id, step: 4, createdAt: 0, phase: 'mlm', weights: [], optimizer: [], rngState: [1], indexVersion: 0 },
          ],
          vocab: ['[PAD]', id],
        });
      }
      await store.putEmbeddings(embeddings('c', 1, 'r1'));
      await store.putEmbeddings(embeddings('c', 2, 'r2'));
      await store.putEmbeddings(embeddings('other', 1, 'r1'));
      await store.deleteRun('r1');
      expect(await store.getRun('r1')).toBeUndefined();
      expect(await store.getRunLogs('r1')).toEqual([]);
      expect(await store.checkpointSteps('r1')).toEqual([]);
      expect(await store.getRunVocab('r1')).toBeUndefined();
      expect(await store.getEmbeddings('c', 'r1', 1)).toBeUndefined();
      expect(await store.latestEmbeddings('other', 'r1')).toBeUndefined();
      // The other run keeps everything.
      expect((await store.getRun('r2'))?.step).toBe(4);
      expect(await store.getRunLogs('r2')).toHaveLength(1);
      expect(await store.checkpointSteps('r2')).toEqual([4]);
      expect(await store.getRunVocab('r2')).toEqual(['[PAD]', 'r2']);
      expect((await store.getEmbeddings('c', 'r2', 2))?.runId).toBe('r2');
    });

    it('lists runs newest first with their checkpoint step, log count and whether the corpus is here', async () => {
      await store.putCorpus({ id: 'c', name: 'C', source: 'x', status: 'ready', createdAt: 0, stats: {} });
      await store.putRun(runRecord('old', 100));
      await store.putRun(runRecord('new', 200, 'gone'));
      for (const step of [2, 4]) {
        await store.putCheckpoint({
          runId: 'old',
          step,
          createdAt: 0,
          phase: 'mlm',
          weights: [],
          optimizer: [],
          rngState: [1],
          indexVersion: 0,
        });
      }
      await store.appendRunLogs([0, 1, 2].map((seq) => ({ runId: 'old', seq, kind: 'step', record: {} })));
      const list = await store.listRunSummaries();
      expect(list.map((s) => s.run.id)).toEqual(['new', 'old']);
      expect(list[0]).toMatchObject({
        checkpointStep: null,
        checkpointCount: 0,
        logCount: 0,
        corpus: 'missing',
        hasOwnVocab: false,
      });
      expect(list[1]).toMatchObject({ checkpointStep: 4, checkpointCount: 2, logCount: 3, corpus: 'ready' });
    });

    it('never overwrites a stored run when a bundle with its id is put, and writes nothing of that bundle', async () => {
      await store.putRun(runRecord('r', 1));
      const bundle = {
        run: { ...runRecord('r', 2), step: 99 },
        logs: [{ runId: 'r', seq: 0, kind: 'step', record: { loss: 9 } }],
        checkpoints: [],
        vocab: ['x'],
      };
      await expect(store.putRunBundle(bundle)).rejects.toBeInstanceOf(RunExistsError);
      expect((await store.getRun('r'))?.step).toBe(4);
      expect(await store.getRunLogs('r')).toEqual([]);
      expect(await store.getRunVocab('r')).toBeUndefined();
      await expect(store.putRunBundle({ ...bundle, run: runRecord('s', 1) })).rejects.toThrow(/must carry its id/);
    });

    it('reports storage as unknown where the browser does not say, and persistence as unsupported', async () => {
      const nav = globalThis.navigator as unknown as { storage?: unknown };
      const saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
      try {
        Object.defineProperty(globalThis, 'navigator', { value: { ...nav, storage: undefined }, configurable: true });
        expect(await storageStatus()).toEqual({ known: false, usage: null, quota: null, persisted: null });
        expect(await requestPersistentStorage()).toBe('unsupported');
        Object.defineProperty(globalThis, 'navigator', {
          value: {
            storage: {
              estimate: async () => ({ usage: 10, quota: 1000 }),
              persisted: async () => false,
              persist: async () => true,
            },
          },
          configurable: true,
        });
        expect(await storageStatus()).toEqual({ known: true, usage: 10, quota: 1000, persisted: false });
        expect(await requestPersistentStorage()).toBe('granted');
      } finally {
        if (saved) Object.defineProperty(globalThis, 'navigator', saved);
        else delete (globalThis as { navigator?: unknown }).navigator;
      }
    });
  });

  it('turns a quota error into a StorageFullError that says what to do', async () => {
    const db = store.db as unknown as { put: (...a: unknown[]) => Promise<unknown> };
    db.put = () => Promise.reject(Object.assign(new Error('full'), { name: 'QuotaExceededError' }));
    await expect(store.putSetting('k', 1)).rejects.toBeInstanceOf(StorageFullError);
    await expect(store.putSetting('k', 1)).rejects.toThrow(/Nothing already stored was lost/);
  });

  describe('staging and the atomic switch', () => {
    const corpus = (id: string, status: CorpusRecord['status'], extra: Partial<CorpusRecord> = {}): CorpusRecord => ({
      id,
      name: id,
      source: 'test',
      status,
      createdAt: 1000,
      stats: {},
      ...extra,
    });

    it('commits a staged corpus and makes it active in one step, leaving the old one intact', async () => {
      await store.putCorpus(corpus('old', 'ready'));
      await store.putChunks([chunk('old', 0), chunk('old', 1)]);
      await store.setActiveCorpus('old');
      await store.putCorpus(corpus('new', 'staging'));
      await store.putChunks([chunk('new', 0)]);
      // While staging, the old corpus is still the active one.
      expect(await store.activeCorpusId()).toBe('old');
      const ready = await store.commitStagedCorpus('new', { stats: { passages: 1 }, badRecords: [{ line: 3, reason: 'x' }] });
      expect(ready.status).toBe('ready');
      expect((await store.getCorpus('new'))?.stats).toEqual({ passages: 1 });
      expect((await store.getCorpus('new'))?.badRecords).toEqual([{ line: 3, reason: 'x' }]);
      expect(await store.activeCorpusId()).toBe('new');
      expect(await store.countChunks('old')).toBe(2);
    });

    it('can commit without switching the active corpus', async () => {
      await store.putCorpus(corpus('a', 'ready'));
      await store.setActiveCorpus('a');
      await store.putCorpus(corpus('b', 'staging'));
      await store.commitStagedCorpus('b', {}, { activate: false });
      expect(await store.activeCorpusId()).toBe('a');
      expect((await store.getCorpus('b'))?.status).toBe('ready');
    });

    it('refuses to commit what is not staged, and changes nothing', async () => {
      await store.putCorpus(corpus('a', 'ready'));
      await store.setActiveCorpus('a');
      await expect(store.commitStagedCorpus('missing')).rejects.toThrow(/nothing to commit/);
      await store.putCorpus(corpus('r', 'ready'));
      await expect(store.commitStagedCorpus('r')).rejects.toThrow(/nothing to commit/);
      expect(await store.activeCorpusId()).toBe('a');
    });

    it('refuses to activate a staging corpus', async () => {
      await store.putCorpus(corpus('s', 'staging'));
      await expect(store.setActiveCorpus('s')).rejects.toThrow(/not ready/);
      expect(await store.activeCorpusId()).toBeUndefined();
    });

    it('cleans up a cancelled import: deleting the staging corpus removes its chunks, vocab and eval sets only', async () => {
      await store.putCorpus(corpus('keep', 'ready'));
      await store.putChunks([chunk('keep', 0)]);
      await store.setActiveCorpus('keep');
      await store.putCorpus(corpus('stage', 'staging'));
      await store.putChunks([0, 1, 2].map((i) => chunk('stage', i)));
      await store.putVocab({ corpusId: 'stage', tokens: ['[PAD]'] });
      await store.putEvalSets('stage', { cloze: [1], qaTrain: [], qaDev: [] });
      await store.deleteCorpus('stage');
      expect(await store.getCorpus('stage')).toBeUndefined();
      expect(await store.countChunks('stage')).toBe(0);
      expect(await store.getVocab('stage')).toBeUndefined();
      expect(await store.getEvalSets('stage')).toBeUndefined();
      expect(await store.countChunks('keep')).toBe(1);
      expect(await store.activeCorpusId()).toBe('keep');
    });

    it('deleting the active corpus leaves no active corpus', async () => {
      await store.putCorpus(corpus('a', 'ready'));
      await store.setActiveCorpus('a');
      await store.deleteCorpus('a');
      expect(await store.getSetting(ACTIVE_CORPUS_KEY)).toBeUndefined();
    });

    it('deletes only stale staging corpora (left by a closed tab)', async () => {
      await store.putCorpus(corpus('ready', 'ready'));
      await store.putCorpus(corpus('stale', 'staging', { updatedAt: 1000 }));
      await store.putCorpus(corpus('live', 'staging', { updatedAt: 1000 }));
      await store.putChunks([chunk('stale', 0)]);
      await store.touchStaging('live', { passages: 5 });
      const removed = await store.deleteStaleStaging(60_000, Date.now() + 30_000);
      expect(removed).toEqual(['stale']);
      expect(await store.countChunks('stale')).toBe(0);
      expect((await store.getCorpus('live'))?.stats).toEqual({ passages: 5 });
      expect(await store.getCorpus('ready')).toBeDefined();
    });
  });
});
