// The inspector's source on a real (micro) trainer on the tfjs cpu backend: the guidance before the
// first index, the index it inspects with (the stored vectors of the version in use, or a rebuild),
// serialised inspections, and no tensor left behind.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { makeConfig } from '../model/config';
import { MICRO_SIZES } from '../testing/micro-config';
import { syntheticWorld, type TrainingData } from '../corpus/data';
import { embedCorpus } from '../model/index-refresh';
import { inspectQuery } from '../model/inspection';
import { DenseMipsIndex } from '../model/mips';
import { Rng } from '../corpus/rng';
import { RealmTrainer } from '../model/trainer';
import type { ChunkRecord, EmbeddingRecord } from '../storage/db';
import { InspectorSource, NoIndexYetError, type InspectableRun, type InspectorStore } from './inspector-source';

let data: TrainingData;
/** Queries to inspect: the held-out ones, then training ones. */
let qs: TrainingData['queries'];

function trainer(over: { ictSteps?: number; mlmSteps?: number } = {}) {
  // Micro sizes (every step well under a second on the cpu backend), REALM from the first step unless warm-ups are asked for.
  const sizes = MICRO_SIZES;
  const schedule = {
    k: 4,
    batchSize: 2,
    ictBatchSize: 4,
    ictSteps: over.ictSteps ?? 0,
    mlmSteps: over.mlmSteps ?? 0,
    realmSteps: 4,
    refreshEvery: 100,
    seed: 9,
  };
  const config = makeConfig('tiny', { vocabSize: data.vocabSize, ...sizes, ...schedule });
  return new RealmTrainer({ config, data });
}

/** A store holding the passages as chunks (seq = row) and, optionally, one stored index version. */
function fakeStore(embeddings: EmbeddingRecord | null = null) {
  const reads = { chunks: 0, embeddings: 0 };
  const store: InspectorStore = {
    getVocab: async () => undefined,
    getChunks: async (corpusId: string, from: number, count: number) => {
      reads.chunks++;
      return data.passages
        .slice(from, from + count)
        .map((p, i): ChunkRecord => ({ corpusId, seq: from + i, id: p.id, title: `title ${p.id}`, text: `text of ${p.id}` }));
    },
    getEmbeddings: async (_c: string, runId: string, version: number) => {
      reads.embeddings++;
      return embeddings && embeddings.runId === runId && embeddings.version === version ? embeddings : undefined;
    },
  };
  return { store, reads };
}

const runOf = (t: RealmTrainer, runId = 'run-a'): InspectableRun => ({ realmTrainer: t, settings: { runId, corpusId: 'c1' } });

beforeAll(async () => {
  await tf.setBackend('cpu');
  data = syntheticWorld(6, { seedRng: new Rng(11) });
  qs = [...data.heldOut, ...data.queries];
});

describe('InspectorSource', () => {
  const trainers: RealmTrainer[] = [];
  afterAll(() => trainers.forEach((t) => t.dispose()));

  it('says what to do while the run is in its warm-ups (no index yet)', async () => {
    const t = trainer({ ictSteps: 2, mlmSteps: 1 });
    trainers.push(t);
    const src = new InspectorSource(fakeStore().store);
    await expect(src.inspect(runOf(t), qs[0])).rejects.toThrow(NoIndexYetError);
    await expect(src.inspect(runOf(t), qs[0])).rejects.toThrow(/ICT warm-up .*REALM phase \(after step 3\)/);
    await t.step();
    await t.step();
    await expect(src.inspect(runOf(t), qs[0])).rejects.toThrow(/MLM warm-up/);
  });

  it('inspects with the stored vectors of the version in use, serialised, with its passages by row, leaking no tensor', async () => {
    const t = trainer();
    trainers.push(t);
    await t.step(); // the first REALM step builds index version 1
    expect(t.indexVersion).toBe(1);
    // The stored index: the corpus embedded with the current θ, then perturbed so it differs from a rebuild.
    const vectors = (await embedCorpus(t.model, t.docs)).map((v, i) => v + 0.05 * Math.sin(i));
    const dim = t.config.retrieverDim;
    const stored: EmbeddingRecord = {
      corpusId: 'c1',
      version: 1,
      snapshotStep: 0,
      runId: 'run-a',
      createdAt: 0,
      dim,
      count: t.docs.ids.length,
      vectors,
      ids: [...t.docs.ids],
    };
    const { store, reads } = fakeStore(stored);
    const src = new InspectorSource(store);
    const q = qs[0];

    const before = tf.memory().numTensors;
    // Two inspections asked at once run one after the other and agree.
    const [a, b] = await Promise.all([src.inspect(runOf(t), q), src.inspect(runOf(t), q)]);
    const afterFirst = tf.memory().numTensors;
    expect(reads.embeddings).toBe(1); // the index is read once and cached for its version
    expect(a.origin).toBe('stored');
    expect(a.snapshotStep).toBe(0);
    expect(a.step).toBe(1);
    expect(a.inspection.k).toBe(4);
    expect(a.inspection.candidates.reduce((s, c) => s + c.pz, 0)).toBeCloseTo(1, 5);
    expectAllclose(
      b.inspection.candidates.map((c) => c.pz),
      a.inspection.candidates.map((c) => c.pz),
      { atol: 1e-6 },
    );
    // Passages are the chunks of the candidates' rows; the null document has none.
    expect(a.passages[0]).toBeNull();
    a.inspection.candidates.slice(1).forEach((c, i) => expect(a.passages[i + 1]?.id).toBe(data.passages[c.row!].id));

    // Independent check: the same query on an index made straight from the stored vectors.
    const ref = new DenseMipsIndex(1, vectors, [...t.docs.ids], dim);
    const expected = await inspectQuery(t.model, ref, t.docs, q);
    ref.dispose();
    expect(a.inspection.candidates.map((c) => c.row)).toEqual(expected.candidates.map((c) => c.row));
    expectAllclose(
      a.inspection.candidates.map((c) => c.pz),
      expected.candidates.map((c) => c.pz),
      { atol: 1e-5 },
    );

    // More inspections add no tensor (the cached index is the only thing kept) ...
    for (let i = 0; i < 3; i++) await src.inspect(runOf(t), qs[i + 1]);
    expect(tf.memory().numTensors).toBe(afterFirst);
    // ... and disposing the source frees it.
    src.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rebuilds the index from the current θ when the stored vectors belong to another run', async () => {
    const t = trainer();
    trainers.push(t);
    await t.step();
    const vectors = await embedCorpus(t.model, t.docs);
    const other: EmbeddingRecord = {
      corpusId: 'c1',
      version: 1,
      snapshotStep: 0,
      runId: 'run-other',
      createdAt: 0,
      dim: 8,
      count: t.docs.ids.length,
      vectors,
      ids: [...t.docs.ids],
    };
    const src = new InspectorSource(fakeStore(other).store);
    const before = tf.memory().numTensors;
    const r = await src.inspect(runOf(t), qs[1]);
    expect(r.origin).toBe('rebuilt');
    expect(r.snapshotStep).toBeNull();
    // Rebuilt from the current θ: the stale and current ranks agree everywhere.
    expect(r.inspection.candidates.slice(1).every((c) => c.agrees)).toBe(true);
    src.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('does not disturb training: steps taken while inspections run give the same losses as without', async () => {
    const plain = trainer();
    const watched = trainer();
    trainers.push(plain, watched);
    const src = new InspectorSource(fakeStore().store);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < 3; i++) {
      a.push((await plain.step())!.loss);
      // An inspection asked before the step and awaited after it: the two interleave at every await.
      const pending = watched.indexVersion > 0 ? src.inspect(runOf(watched), qs[i]) : null;
      b.push((await watched.step())!.loss);
      if (pending) await pending;
      await src.inspect(runOf(watched), qs[i + 1]);
    }
    expect(b).toEqual(a);
    src.dispose();
  });

  it("reads a warm run's sentences with the model's vocabulary, not the corpus's", async () => {
    const src = new InspectorSource(fakeStore().store); // its store has no vocabulary for the corpus
    await expect(src.tokenizer('c1')).rejects.toThrow(/has no vocabulary/);
    const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'paris', 'is', 'a', 'city'];
    const tok = await src.tokenizer('c1', { hash: 'model-v', tokens });
    expect(tok.encode('Paris is a city')).toEqual([5, 6, 7, 8]);
    expect(await src.tokenizer('c1', { hash: 'model-v', tokens })).toBe(tok); // kept per vocabulary
    src.dispose();
  });
});
