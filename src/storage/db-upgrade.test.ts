// The schema upgrade from version 1 (index embeddings keyed [corpusId, version]) to version 2
// ([corpusId, runId, version], checkpoints indexed by held-out metric) keeps every stored record.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { RealmStore } from './db';

/** A database exactly as version 1 of db.ts created it (raw IndexedDB), with records in every store. */
async function makeVersion1(name: string): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      const d = req.result;
      d.createObjectStore('corpora', { keyPath: 'id' });
      const chunks = d.createObjectStore('chunks', { keyPath: ['corpusId', 'seq'] });
      chunks.createIndex('byDocId', ['corpusId', 'id']);
      d.createObjectStore('vocabs', { keyPath: 'corpusId' });
      d.createObjectStore('embeddings', { keyPath: ['corpusId', 'version'] });
      d.createObjectStore('checkpoints', { keyPath: ['runId', 'step'] });
      d.createObjectStore('runs', { keyPath: 'id' });
      d.createObjectStore('runLogs', { keyPath: ['runId', 'seq'] });
      d.createObjectStore('settings');
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  const emb = (corpusId: string, version: number, runId: string | undefined, value: number) => ({
    corpusId,
    version,
    snapshotStep: version * 10,
    ...(runId !== undefined ? { runId } : {}),
    createdAt: 0,
    dim: 2,
    count: 1,
    vectors: new Float32Array([value, -value]),
    ids: ['d0'],
  });
  const ckpt = (step: number) => ({
    runId: 'r1',
    step,
    createdAt: 0,
    phase: 'mlm',
    weights: [{ name: 'w', shape: [1], data: new Float32Array([step]).buffer }],
    optimizer: [],
    rngState: [1],
    indexVersion: 0,
  });
  const records: [string, unknown, string?][] = [
    ['corpora', { id: 'c', name: 'C', source: 'bundled:tiny', status: 'ready', createdAt: 1, stats: { chunks: 1 } }],
    ['chunks', { corpusId: 'c', seq: 0, id: 'd0', title: 'T', text: 'x', tokenIds: new Int32Array([2, 9, 3]) }],
    ['vocabs', { corpusId: 'c', tokens: ['[PAD]', 'x'] }],
    ['embeddings', emb('c', 1, 'r1', 1)],
    ['embeddings', emb('c', 2, 'r2', 2)],
    ['embeddings', emb('other', 1, 'r1', 3)],
    ['embeddings', emb('c', 7, undefined, 7)], // a record without its run: kept, under run ''
    ['checkpoints', ckpt(10)],
    ['checkpoints', ckpt(20)],
    ['runs', { id: 'r1', createdAt: 0, updatedAt: 0, corpusId: 'c', config: {}, status: 'paused', step: 20 }],
    ['runLogs', { runId: 'r1', seq: 0, kind: 'step', record: { step: 1, loss: 2 } }],
    ['settings', 'c', 'activeCorpus'],
  ];
  const tx = db.transaction([...new Set(records.map((r) => r[0]))], 'readwrite');
  for (const [store, value, key] of records) tx.objectStore(store).put(value, key);
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

describe('RealmStore schema upgrade 1 -> 2', () => {
  it('keeps every record of every store, and the embeddings are readable by corpus, run and version', async () => {
    await makeVersion1('upgrade-1');
    const store = await RealmStore.open('upgrade-1');
    expect(store.db.version).toBe(2);
    const counts = Object.fromEntries(
      await Promise.all(
        (['corpora', 'chunks', 'vocabs', 'embeddings', 'checkpoints', 'runs', 'runLogs', 'settings'] as const).map(
          async (s) => [s, await store.db.count(s)] as const,
        ),
      ),
    );
    expect(counts).toEqual({ corpora: 1, chunks: 1, vocabs: 1, embeddings: 4, checkpoints: 2, runs: 1, runLogs: 1, settings: 1 });
    const e1 = await store.getEmbeddings('c', 'r1', 1);
    expect(Array.from(e1!.vectors)).toEqual([1, -1]);
    expect(e1!.snapshotStep).toBe(10);
    expect(e1!.ids).toEqual(['d0']);
    expect((await store.latestEmbeddings('c', 'r2'))?.version).toBe(2);
    expect((await store.latestEmbeddings('other', 'r1'))?.vectors[0]).toBe(3);
    expect((await store.getEmbeddings('c', '', 7))?.vectors[0]).toBe(7);
    // The other stores read as before.
    expect((await store.getChunks('c', 0, 1))[0].tokenIds).toBeInstanceOf(Int32Array);
    expect(await store.activeCorpusId()).toBe('c');
    expect(await store.checkpointSteps('r1')).toEqual([10, 20]);
    expect((await store.getRunLogs('r1')).map((l) => l.record)).toEqual([{ step: 1, loss: 2 }]);
    // Retention works on checkpoints stored before the upgrade (they have no held-out metric).
    await store.putCheckpoint({ ...(await store.latestCheckpoint('r1'))!, step: 30, heldOut: 0.5 }, { keepLatest: 1 });
    expect(await store.checkpointSteps('r1')).toEqual([30]);
    // Deleting a run finds its embeddings through the new index, on every corpus.
    await store.deleteRun('r1');
    expect(await store.getEmbeddings('c', 'r1', 1)).toBeUndefined();
    expect(await store.getEmbeddings('other', 'r1', 1)).toBeUndefined();
    expect(await store.getEmbeddings('c', 'r2', 2)).toBeDefined();
    store.close();
    // Opening again is a no-op upgrade: nothing moves.
    const again = await RealmStore.open('upgrade-1');
    expect(await again.db.count('embeddings')).toBe(2);
    again.close();
  });

  it('another tab holding version 1 open: a clear StorageUnavailableError, not a page that waits forever', async () => {
    await makeVersion1('upgrade-blocked');
    const otherTab = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('upgrade-blocked', 1);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const open = RealmStore.open('upgrade-blocked');
    await expect(open).rejects.toThrow(
      /IndexedDB\) is unavailable: another tab of this app has an older version.*close other tabs/,
    );
    otherTab.close();
    // Once the other tab is gone, the upgrade goes through with every record.
    const store = await RealmStore.open('upgrade-blocked');
    expect(await store.db.count('embeddings')).toBe(4);
    store.close();
  });
});
