// Quota exceeded at each storage write: every write of RealmStore turns a full disk into a
// StorageFullError that says what to do, and no stored record is lost, added or changed.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { RealmStore, StorageFullError } from './db';
import { injectQuotaExceeded, storeFingerprint } from '../testing/storage-faults';

let n = 0;
let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

/** A store with a ready corpus, a staging one, an index, a run with a checkpoint and a log. */
async function seeded(): Promise<RealmStore> {
  const store = await RealmStore.open(`guard-${n++}`);
  await store.putCorpus({ id: 'c', name: 'C', source: 'x', status: 'ready', createdAt: 0, stats: {} });
  await store.putCorpus({ id: 'd', name: 'D', source: 'x', status: 'ready', createdAt: 0, stats: {} });
  await store.putCorpus({ id: 's', name: 'S', source: 'x', status: 'staging', createdAt: 0, updatedAt: 0, stats: {} });
  await store.putChunks([{ corpusId: 'c', seq: 0, id: 'd0', title: 't', text: 'x' }]);
  await store.putVocab({ corpusId: 'c', tokens: ['a'] });
  await store.setActiveCorpus('c');
  const emb = (version: number) => ({
    corpusId: 'c',
    runId: 'r',
    version,
    snapshotStep: 0,
    createdAt: 0,
    dim: 1,
    count: 1,
    vectors: new Float32Array([version]),
  });
  await store.putEmbeddings(emb(1));
  await store.putEmbeddings(emb(2));
  await store.putRun({ id: 'r', createdAt: 0, updatedAt: 0, corpusId: 'c', config: {}, status: 'paused', step: 1 });
  await store.putCheckpoint(ckpt(1));
  await store.appendRunLogs([{ runId: 'r', seq: 0, kind: 'step', record: {} }]);
  return store;
}

const ckpt = (step: number) => ({
  runId: 'r',
  step,
  createdAt: 0,
  phase: 'ict',
  weights: [],
  optimizer: [],
  rngState: [1],
  indexVersion: 0,
});

type Write = [name: string, method: 'put' | 'add' | 'delete', storeName: string, op: (s: RealmStore) => Promise<unknown>];

const WRITES: Write[] = [
  ['putSetting', 'put', 'settings', (s) => s.putSetting('k', 1)],
  [
    'putCorpus',
    'put',
    'corpora',
    (s) => s.putCorpus({ id: 'e', name: 'E', source: 'x', status: 'ready', createdAt: 0, stats: {} }),
  ],
  ['putChunks', 'put', 'chunks', (s) => s.putChunks([{ corpusId: 'c', seq: 1, id: 'd1', title: 't', text: 'y' }])],
  ['putVocab', 'put', 'vocabs', (s) => s.putVocab({ corpusId: 'd', tokens: ['b'] })],
  ['deleteCorpus', 'delete', 'chunks', (s) => s.deleteCorpus('c')],
  ['commitStagedCorpus', 'put', 'corpora', (s) => s.commitStagedCorpus('s')],
  ['touchStaging', 'put', 'corpora', (s) => s.touchStaging('s', { chunks: 3 })],
  ['deleteStaleStaging', 'delete', 'corpora', (s) => s.deleteStaleStaging(0)],
  ['setActiveCorpus', 'put', 'settings', (s) => s.setActiveCorpus('d')],
  ['putEvalSets', 'put', 'settings', (s) => s.putEvalSets('c', { cloze: [], qaTrain: [], qaDev: [] })],
  [
    'putEmbeddings',
    'put',
    'embeddings',
    (s) =>
      s.putEmbeddings({
        corpusId: 'c',
        runId: 'r',
        version: 3,
        snapshotStep: 0,
        createdAt: 0,
        dim: 1,
        count: 1,
        vectors: new Float32Array(1),
      }),
  ],
  ['pruneEmbeddings', 'delete', 'embeddings', (s) => s.pruneEmbeddings('c', 'r', 1)],
  [
    'putRun',
    'put',
    'runs',
    (s) => s.putRun({ id: 'r2', createdAt: 0, updatedAt: 0, corpusId: 'c', config: {}, status: 'paused', step: 0 }),
  ],
  ['appendRunLogs', 'put', 'runLogs', (s) => s.appendRunLogs([{ runId: 'r', seq: 1, kind: 'step', record: {} }])],
  ['putCheckpoint', 'put', 'checkpoints', (s) => s.putCheckpoint(ckpt(2), { keepLatest: 1 })],
  ['deleteRun', 'delete', 'runLogs', (s) => s.deleteRun('r')],
  [
    'putRunBundle',
    'add',
    'runs',
    (s) =>
      s.putRunBundle({
        run: { id: 'r3', createdAt: 0, updatedAt: 0, corpusId: 'c', config: {}, status: 'done', step: 0 },
        logs: [],
        checkpoints: [],
      }),
  ],
];

describe('quota exceeded at each storage write', () => {
  it.each(WRITES)('%s: StorageFullError, every stored record kept as it was', async (_name, method, storeName, op) => {
    const store = await seeded();
    const before = await storeFingerprint(store);
    restore = injectQuotaExceeded(method, storeName);
    const write = op(store);
    await expect(write).rejects.toBeInstanceOf(StorageFullError);
    await expect(write).rejects.toThrow(/Nothing already stored was lost.*Delete old runs or corpora/);
    restore();
    restore = null;
    expect(await storeFingerprint(store)).toEqual(before);
    // The same write goes through once there is room again.
    await op(store);
    store.close();
  });
});
