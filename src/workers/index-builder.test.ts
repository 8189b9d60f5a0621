import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLS_ID, SEP_ID, SPECIAL_TOKENS, UNK_ID, WordPieceTokenizer } from '../corpus/tokenizer';
import { makeConfig } from '../model/config';
import type { Progress } from '../model/progress';
import { RealmModel, snapshotDocEncoder } from '../model/realm-model';
import { RealmStore, type ChunkRecord } from '../storage/db';
import { expectAllclose } from '../testing/allclose';
import { BuildCancelledError, UnindexableCorpusError, GpuDeviceLostError, IndexBuilder } from './index-builder';

const cfg = makeConfig('tiny', { vocabSize: 50, hidden: 16, intermediate: 32, retrieverDim: 8, layers: 1 });
const N = 23; // not a multiple of the batch size
let model: RealmModel;
let store: RealmStore;
let seed = 0;

function docTokens(i: number): Int32Array {
  const len = 3 + (i % 7);
  return Int32Array.from([
    CLS_ID,
    5 + (i % 40),
    SEP_ID,
    ...Array.from({ length: len }, (_, j) => 5 + ((i * 3 + j) % 45)),
    SEP_ID,
  ]);
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = new RealmModel(cfg, () => ++seed);
  store = await RealmStore.open(); // the builder opens the default database too
  const chunks: ChunkRecord[] = Array.from({ length: N }, (_, seq) => ({
    corpusId: 'c1',
    seq,
    id: `doc-${seq}`,
    title: `t${seq}`,
    text: `body ${seq}`,
    tokenIds: docTokens(seq),
  }));
  await store.putChunks(chunks);
  docWeights = await snapshotDocEncoder(model);
});
afterAll(() => {
  model.dispose();
  store.close();
});

let docWeights: Awaited<ReturnType<typeof snapshotDocEncoder>> = [];
const request = (version: number, extra = {}) => ({
  version,
  corpusId: 'c1',
  runId: 'run-a',
  snapshotStep: version * 10,
  config: cfg,
  weights: structuredClone(docWeights),
  batchSize: 5,
  ...extra,
});

describe('IndexBuilder.build', () => {
  it("embeds every chunk exactly as the trainer's Embed_doc does, and stores the index by version", async () => {
    const builder = new IndexBuilder();
    await builder.init({ backend: 'cpu' });
    const progress: Progress[] = [];
    const before = tf.memory().numTensors;
    const built = await builder.build(request(1), (p) => progress.push(p));
    expect(tf.memory().numTensors).toBe(before); // the snapshot embedder is disposed
    expect(built.count).toBe(N);
    expect(built.ids).toEqual(Array.from({ length: N }, (_, i) => `doc-${i}`));
    // Independent computation: the full model's Embed_doc on the same tokens.
    const want = tf.tidy(() =>
      model.embedDoc.embedRows(
        Array.from({ length: N }, (_, i) => docTokens(i)),
        cfg.maxDocLength,
        8,
      ),
    );
    expectAllclose(built.vectors, await want.data(), { rtol: 1e-4, atol: 1e-5 });
    want.dispose();
    // Progress: chunks done rises to N, with a rate and an ETA.
    expect(progress[0].done).toBe(0);
    expect(progress.at(-1)!.done).toBe(N);
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    expect(progress.at(-1)!.unit).toBe('chunks');
    const stored = await store.latestEmbeddings('c1', 'run-a');
    expect(stored?.version).toBe(1);
    expect(stored?.snapshotStep).toBe(10);
    expect(stored?.ids?.[3]).toBe('doc-3');
    expectAllclose(stored!.vectors, built.vectors);
  });

  it('stops an older build when a newer snapshot arrives', async () => {
    const builder = new IndexBuilder();
    await builder.init({ backend: 'cpu' });
    const old = builder.build(request(5, { yieldBetweenBatches: true }));
    const newer = builder.build(request(6, { yieldBetweenBatches: true }));
    await expect(old).rejects.toBeInstanceOf(BuildCancelledError);
    await expect(old).rejects.toThrow(/newer snapshot \(v6\)/);
    expect((await newer).version).toBe(6);
  });

  it('can be cancelled', async () => {
    const builder = new IndexBuilder();
    await builder.init({ backend: 'cpu' });
    const run = builder.build(request(7, { yieldBetweenBatches: true }));
    builder.cancel(7);
    await expect(run).rejects.toThrow(/v7 stopped: cancelled/);
  });

  it('reports a lost GPU device as a typed error', async () => {
    const builder = new IndexBuilder();
    await builder.init({ backend: 'cpu' });
    builder.simulateDeviceLoss();
    await expect(builder.build(request(8))).rejects.toBeInstanceOf(GpuDeviceLostError);
  });

  it('refuses an empty or untokenized corpus with a clear message', async () => {
    const builder = new IndexBuilder();
    await builder.init({ backend: 'cpu' });
    await expect(builder.build({ ...request(9), corpusId: 'nothing' })).rejects.toBeInstanceOf(UnindexableCorpusError);
    await store.putChunks([{ corpusId: 'raw', seq: 0, id: 'x', title: 'x', text: 'x' }]);
    await expect(builder.build({ ...request(9), corpusId: 'raw' })).rejects.toThrow(/not tokenized/);
  });

  it("tokenizes the chunks' text with the run's vocabulary: the same index as from ids made with it", async () => {
    // A model vocabulary V (a warm start's) that is not the corpus's: the stored tokenIds were made with
    // another one (here: ids that V would never give), so only the text tokenized with V is right.
    const V = [...SPECIAL_TOKENS, 'the', 'river', 'flows', 'north', 'city', 'of', 'a', 'is', 'old', 'port', '##s', 'lake', '.'];
    const tokenizer = new WordPieceTokenizer(V);
    const texts = Array.from({ length: 13 }, (_, i) => ({
      title: i % 2 ? 'River' : 'Old ports',
      text: `${'the river flows north of a city . '.repeat(1 + (i % 3))}the lake is old${i % 4 === 0 ? ' zebra' : ''} .`,
    }));
    const withV = (t: { title: string; text: string }) =>
      Int32Array.from([CLS_ID, ...tokenizer.encode(t.title), SEP_ID, ...tokenizer.encode(t.text), SEP_ID]);
    expect(texts.some((t) => withV(t).includes(UNK_ID))).toBe(true); // 'zebra' is not in V
    await store.putChunks(
      texts.map((t, seq) => ({
        corpusId: 'text-c',
        seq,
        id: `p-${seq}`,
        ...t,
        tokenIds: Int32Array.from([CLS_ID, 40, 41, SEP_ID]),
      })),
    );
    await store.putChunks(texts.map((t, seq) => ({ corpusId: 'ids-c', seq, id: `p-${seq}`, ...t, tokenIds: withV(t) })));
    const builder = new IndexBuilder();
    await builder.init({ backend: 'cpu' });
    const vocab = { hash: 'v-test', tokens: V };
    const before = tf.memory().numTensors;
    const fromText = await builder.build({ ...request(20), corpusId: 'text-c', vocab, persist: false });
    const fromIds = await builder.build({ ...request(21), corpusId: 'ids-c', persist: false });
    expect(fromText.ids).toEqual(fromIds.ids);
    expectAllclose(fromText.vectors, fromIds.vectors, { rtol: 1e-5, atol: 1e-6 });
    // Without the vocabulary the stored (other-vocabulary) ids are embedded: a different index.
    const stale = await builder.build({ ...request(22), corpusId: 'text-c', persist: false });
    expect(Math.max(...stale.vectors.map((x, i) => Math.abs(x - fromIds.vectors[i])))).toBeGreaterThan(1e-3);
    // The rows are kept per corpus and vocabulary: a second build gives the same index.
    const again = await builder.build({ ...request(23), corpusId: 'text-c', vocab, persist: false });
    expectAllclose(again.vectors, fromText.vectors, { rtol: 1e-6, atol: 1e-7 });
    expect(tf.memory().numTensors).toBe(before);
  });
});
