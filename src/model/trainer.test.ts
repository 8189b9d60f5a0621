import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { EVAL_CTX } from './bert';
import type { RealmConfig } from './config';
import { microConfig as sharedMicroConfig } from '../testing/micro-config';
import { syntheticWorld, type TrainingData } from '../corpus/data';
import { freshIndex } from './index-refresh';
import type { RefreshRecord, StepMetrics } from './metrics';
import { prepareRealmBatch, realmForward, disposeBatch } from './realm-step';
import { realmLoss } from './realm-loss';
import { Rng } from '../corpus/rng';
import { RealmTrainer } from './trainer';

/** Micro sizes: every step well under a second on the tfjs cpu backend. */
function microConfig(data: TrainingData, over: Partial<RealmConfig> = {}): RealmConfig {
  return sharedMicroConfig(data, {
    k: 3,
    batchSize: 2,
    ictBatchSize: 4,
    ictSteps: 2,
    mlmSteps: 2,
    realmSteps: 3,
    refreshEvery: 3,
    dropout: 0.1,
    attentionDropout: 0.1,
    ...over,
  });
}

let data: TrainingData;
beforeAll(async () => {
  await tf.setBackend('cpu');
  data = syntheticWorld(8, { seedRng: new Rng(5) });
});

async function losses(t: RealmTrainer, n: number): Promise<StepMetrics[]> {
  const out: StepMetrics[] = [];
  for (let i = 0; i < n; i++) {
    const m = await t.step();
    if (m) out.push(m);
  }
  return out;
}

describe('RealmTrainer', () => {
  it('runs ICT -> MLM -> REALM and is reproducible with a seed on cpu (dropout on)', async () => {
    const a = new RealmTrainer({ config: microConfig(data, { seed: 3 }), data });
    const b = new RealmTrainer({ config: microConfig(data, { seed: 3 }), data });
    const c = new RealmTrainer({ config: microConfig(data, { seed: 4 }), data });
    const la = await losses(a, 8);
    const lb = await losses(b, 8);
    const lc = await losses(c, 8);
    expect(la.map((m) => m.phase)).toEqual(['ict', 'ict', 'mlm', 'mlm', 'realm', 'realm', 'realm']);
    expect(la.map((m) => m.loss)).toEqual(lb.map((m) => m.loss));
    expect(la.map((m) => m.loss)).not.toEqual(lc.map((m) => m.loss));
    const r = la[4];
    expect(r.meanPNull).toBeGreaterThan(0);
    expect(r.meanPNull).toBeLessThan(1);
    expect(r.retrievalEntropy).toBeGreaterThan(0);
    expect(Number.isFinite(r.meanRetrievalUtility)).toBe(true);
    expect(r.indexVersion).toBe(1);
    expect(Number.isFinite(r.gradNorm) && r.gradNorm > 0).toBe(true);
    expect(a.done).toBe(true);
    [a, b, c].forEach((t) => t.dispose());
  });

  it('records staleness and index versions with the sync refresh policy', async () => {
    const refreshes: RefreshRecord[] = [];
    const t = new RealmTrainer({
      config: microConfig(data, { ictSteps: 0, mlmSteps: 0, realmSteps: 7, refreshEvery: 3 }),
      data,
      onRefresh: (r) => refreshes.push(r),
    });
    const ms = await losses(t, 7);
    expect(ms.map((m) => m.staleness)).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(ms.map((m) => m.indexVersion)).toEqual([1, 1, 1, 2, 2, 2, 3]);
    expect(refreshes.map((r) => [r.version, r.snapshotStep, r.chunks])).toEqual([
      [1, 0, data.passages.length],
      [2, 3, data.passages.length],
      [3, 6, data.passages.length],
    ]);
    t.dispose();
  });

  it('does not leak: tf.memory().numTensors is the same after step 2 and after step 50', async () => {
    const t = new RealmTrainer({
      config: microConfig(data, { ictSteps: 1, mlmSteps: 0, realmSteps: 60, refreshEvery: 7 }),
      data,
    });
    await losses(t, 2);
    const after2 = tf.memory().numTensors;
    await losses(t, 48);
    expect(t.stepCount).toBe(50);
    expect(tf.memory().numTensors).toBe(after2);
    t.dispose();
  }, 120_000);

  it('retrieverLearningRateScale 0 freezes both embedders in REALM while the reader still learns', async () => {
    const t = new RealmTrainer({
      config: microConfig(data, { ictSteps: 0, mlmSteps: 0, realmSteps: 3, retrieverLearningRateScale: 0 }),
      data,
    });
    const before = new Map((await t.model.getWeights()).map((w) => [w.name, new Float32Array(w.data)]));
    await losses(t, 3);
    const changed = (await t.model.getWeights())
      .filter((w) => new Float32Array(w.data).some((v, i) => v !== before.get(w.name)![i]))
      .map((w) => w.name);
    expect(changed.some((n) => n.startsWith('reader/'))).toBe(true);
    expect([...before.keys()].filter((n) => n.startsWith('embed_doc/')).length).toBeGreaterThan(0);
    // The latest REALM batch is kept for the inspector.
    expect(t.lastRealmQueries).toHaveLength(2);
    t.lastRealmQueries.forEach((q) => expect(data.queries).toContain(q));
    expect(changed.filter((n) => n.startsWith('embed_input/') || n.startsWith('embed_doc/'))).toEqual([]);
    t.dispose();
  });

  it('readerLearningRateScale 0 freezes the reader in REALM while the embedders still learn', async () => {
    const t = new RealmTrainer({
      config: microConfig(data, { ictSteps: 0, mlmSteps: 0, realmSteps: 3, readerLearningRateScale: 0 }),
      data,
    });
    const before = new Map((await t.model.getWeights()).map((w) => [w.name, new Float32Array(w.data)]));
    const ms = await losses(t, 3);
    expect(ms.every((m) => Number.isFinite(m.loss))).toBe(true);
    const changed = (await t.model.getWeights())
      .filter((w) => new Float32Array(w.data).some((v, i) => v !== before.get(w.name)![i]))
      .map((w) => w.name);
    expect([...before.keys()].filter((n) => n.startsWith('reader/')).length).toBeGreaterThan(0);
    expect(changed.filter((n) => n.startsWith('reader/'))).toEqual([]);
    expect(changed.some((n) => n.startsWith('embed_input/'))).toBe(true);
    expect(changed.some((n) => n.startsWith('embed_doc/'))).toBe(true);
    t.dispose();
  });

  it('realmIctWeight adds that much of an ICT loss to each REALM step, without leaking tensors', async () => {
    const cfg = (w: number) =>
      microConfig(data, { ictSteps: 0, mlmSteps: 0, realmSteps: 6, dropout: 0, attentionDropout: 0, realmIctWeight: w });
    const plain = new RealmTrainer({ config: cfg(0), data });
    const mixed = new RealmTrainer({ config: cfg(0.5), data });
    // Same seed and no dropout: the first REALM step sees the same weights, index and queries in both.
    const [a] = await losses(plain, 1);
    const [b] = await losses(mixed, 1);
    expect(plain.lastDetail.realmIctLoss).toBeUndefined();
    const ict = mixed.lastDetail.realmIctLoss!;
    // In-batch softmax over ictBatchSize (4) passages: a fresh retriever is near log 4.
    expect(ict).toBeGreaterThan(0.5 * Math.log(4));
    expect(ict).toBeLessThan(2 * Math.log(4));
    expect(b.loss - a.loss).toBeCloseTo(0.5 * ict, 4);
    await losses(mixed, 1);
    const held = tf.memory().numTensors;
    await losses(mixed, 3);
    expect(tf.memory().numTensors).toBe(held);
    plain.dispose();
    mixed.dispose();
  });

  it('a config stored before readerLearningRateScale and mlmPairMasking existed trains as REALM: the reader learns', async () => {
    const { readerLearningRateScale, mlmPairMasking, ...older } = microConfig(data, { ictSteps: 0, mlmSteps: 0, realmSteps: 2 });
    expect([readerLearningRateScale, mlmPairMasking]).toEqual([1, 'random']);
    const t = new RealmTrainer({ config: older as RealmConfig, data });
    expect([t.config.readerLearningRateScale, t.config.mlmPairMasking]).toEqual([1, 'random']);
    const before = new Map((await t.model.getWeights()).map((w) => [w.name, new Float32Array(w.data)]));
    await losses(t, 2);
    const changed = (await t.model.getWeights())
      .filter((w) => new Float32Array(w.data).some((v, i) => v !== before.get(w.name)![i]))
      .map((w) => w.name);
    expect(changed.some((n) => n.startsWith('reader/'))).toBe(true);
    t.dispose();
  });

  it('a checkpoint (weights, optimiser, RNG, step) resumes the run exactly', async () => {
    // The index is not in the checkpoint (storage keeps it by version); the restored trainer rebuilds it
    // from the restored weights, so the run continues exactly when the index is refreshed every step.
    const cfg = microConfig(data, { realmSteps: 6, refreshEvery: 1 });
    const a = new RealmTrainer({ config: cfg, data });
    await losses(a, 5);
    const ck = await a.checkpoint('run-1');
    expect(ck.step).toBe(5);
    expect(ck.weights.every((w) => w.data instanceof ArrayBuffer)).toBe(true);
    expect(ck.optimizer.length).toBeGreaterThan(0);
    const cont = await losses(a, 3);
    const b = new RealmTrainer({ config: { ...cfg, seed: 99 }, data });
    b.restore(structuredClone(ck));
    const resumed = await losses(b, 3);
    expectAllclose(
      resumed.map((m) => m.loss),
      cont.map((m) => m.loss),
      { rtol: 1e-5, atol: 1e-6 },
    );
    const other = new RealmTrainer({ config: { ...cfg, hidden: 32, intermediate: 64 }, data });
    expect(() => other.restore(ck)).toThrow(/shape/);
    [a, b, other].forEach((t) => t.dispose());
  });

  it('REALM gradients match central finite differences on a tiny model (every encoder)', async () => {
    const t = new RealmTrainer({ config: microConfig(data, { dropout: 0, attentionDropout: 0 }), data });
    const model = t.model;
    const index = await freshIndex(model, t.docs);
    const batch = await prepareRealmBatch(model, index, t.docs, data.queries.slice(0, 3));
    const lossOf = () => {
      const fwd = realmForward(model, batch, EVAL_CTX);
      return realmLoss(fwd.retrievalScores, fwd.mlmLogits, batch.targets, 'joint').loss;
    };
    const names = [
      'embed_input/projection/kernel',
      'embed_doc/layer0/attention/query/kernel',
      'embed_doc/token_embedding',
      'reader/layer0/ffn/in/kernel',
      'reader/token_embedding',
    ];
    const vars = names.map((n) => model.store.get(n));
    const { value, grads } = tf.variableGrads(lossOf, vars);
    const rng = new Rng(11);
    for (const v of vars) {
      const g = grads[v.name];
      expect(g, v.name).toBeDefined();
      const dir = tf.tensor(
        Float32Array.from({ length: v.size }, () => rng.next() - 0.5),
        v.shape,
      );
      const analytic = tf.sum(tf.mul(g, dir)).dataSync()[0];
      const orig = v.clone();
      const eps = 1e-2;
      const at = (s: number) => {
        v.assign(tf.tidy(() => tf.add(orig, tf.mul(dir, s))));
        return tf.tidy(() => lossOf().dataSync()[0]);
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(orig);
      expect(Math.abs(analytic), v.name).toBeGreaterThan(1e-6);
      expectAllclose(numeric, analytic, { rtol: 5e-2, atol: 2e-4 });
      tf.dispose([dir, orig]);
    }
    tf.dispose([value, ...Object.values(grads)]);
    disposeBatch(batch);
    index.dispose();
    t.dispose();
  });

  it('leaves no tensor behind: steps of every phase, a checkpoint restore, then dispose', async () => {
    const before = tf.memory().numTensors;
    const t = new RealmTrainer({ config: microConfig(data, { seed: 9 }), data });
    await losses(t, 5);
    const c = await t.checkpoint('leak');
    t.restore(c);
    await losses(t, 2);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
