import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { CLS_ID, SEP_ID } from '../corpus/tokenizer';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import { makeConfig } from './config';
import { docTokens, documentStore, syntheticWorld } from '../corpus/data';
import { freshIndex } from './index-refresh';
import { AdamW, learningRateAt } from './optimizer';
import { RealmModel } from './realm-model';
import { realmLoss } from './realm-loss';
import { disposeBatch, prepareRealmBatch, realmForward } from './realm-step';
import { EVAL_CTX } from './bert';
import { Rng } from '../corpus/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('prepareRealmBatch', () => {
  it('never retrieves the source passage, puts the null document at 0, and keeps mask positions', async () => {
    const data = syntheticWorld(6, { seedRng: new Rng(2) });
    const cfg = makeConfig('tiny', { vocabSize: data.vocabSize, hidden: 16, intermediate: 32, retrieverDim: 8, k: 5 });
    const rng = new Rng(9);
    const model = new RealmModel(cfg, () => rng.nextUint32());
    const docs = documentStore(data.passages, cfg.maxDocLength);
    const index = await freshIndex(model, docs);
    const before = tf.memory().numTensors;
    const queries = data.queries.slice(0, 6);
    const batch = await prepareRealmBatch(model, index, docs, queries);
    batch.retrievedRows.forEach((rows, b) => {
      expect(rows).toHaveLength(cfg.k - 1);
      expect(rows.map((r) => docs.ids[r])).not.toContain(queries[b].sourceDocId);
    });
    const reader = batch.readerIds.arraySync() as number[][];
    const q0 = Array.from(queries[0].inputIds);
    expect(reader[0].slice(0, q0.length + 2)).toEqual([...q0, SEP_ID, SEP_ID]); // [CLS] x [SEP] [SEP] [SEP]
    expect(reader[1].slice(0, q0.length)).toEqual(q0);
    const pos = batch.positions.arraySync() as number[][];
    expect(pos[0][0]).toBe(queries[0].maskPositions[0]);
    expect(batch.targets[0]).toBe(queries[0].targets[0]);
    expect((batch.nullIds.arraySync() as number[][])[0].slice(0, 3)).toEqual([CLS_ID, SEP_ID, SEP_ID]);
    disposeBatch(batch);
    expect(tf.memory().numTensors).toBe(before);
    index.dispose();
    model.dispose();
  });
});

describe('trivialExclusion', () => {
  it("'sentence' may retrieve the source passage, but without the query's sentence; 'passage' never retrieves it", async () => {
    const data = syntheticWorld(3, { seedRng: new Rng(4) });
    const n = data.passages.length;
    // Every passage is a candidate (k - 1 = N), so the source row is retrieved whenever it is allowed.
    const queries = data.queries.slice(0, 3).map((q) => {
      const row = data.passages.findIndex((p) => p.id === q.sourceDocId);
      const restored = Array.from(q.inputIds);
      Array.from(q.maskPositions).forEach((p, j) => (restored[p] = q.targets[j]));
      const sentence = data.passages[row].sentences.findIndex((s) => s.join() === restored.slice(1, -1).join());
      expect(sentence).toBeGreaterThanOrEqual(0);
      return { ...q, sourceSentence: sentence, row };
    });
    for (const mode of ['passage', 'sentence'] as const) {
      const k = mode === 'sentence' ? n + 1 : n;
      const cfg = makeConfig('tiny', {
        vocabSize: data.vocabSize,
        hidden: 16,
        intermediate: 32,
        retrieverDim: 8,
        k,
        trivialExclusion: mode,
        maxReaderLength: 128,
        maxPositions: 160,
      });
      const rng = new Rng(9);
      const model = new RealmModel(cfg, () => rng.nextUint32());
      const docs = documentStore(data.passages, cfg.maxDocLength);
      const index = await freshIndex(model, docs);
      const batch = await prepareRealmBatch(model, index, docs, queries);
      const reader = batch.readerIds.arraySync() as number[][];
      queries.forEach((q, b) => {
        const z = batch.retrievedRows[b].indexOf(q.row);
        if (mode === 'passage') {
          expect(z).toBe(-1);
          return;
        }
        expect(z).toBeGreaterThanOrEqual(0);
        const expected = Array.from(docTokens(data.passages[q.row], cfg.maxDocLength, q.sourceSentence));
        const row = reader[b * k + z + 1];
        const docPart = row.slice(row.indexOf(SEP_ID) + 1).filter((t) => t !== 0);
        expect(docPart).toEqual(expected.slice(1)); // the reader drops the document's [CLS]
        expect(expected.length).toBeLessThan(docs.tokens[q.row].length);
      });
      disposeBatch(batch);
      index.dispose();
      model.dispose();
    }
  });
});

describe('retrievalTemperature', () => {
  it('divides f(x, z) by τ in p(z|x) and leaves the reader alone', async () => {
    const data = syntheticWorld(6, { seedRng: new Rng(2) });
    const run = async (tau: number) => {
      const cfg = makeConfig('tiny', {
        vocabSize: data.vocabSize,
        hidden: 16,
        intermediate: 32,
        retrieverDim: 8,
        k: 4,
        retrievalTemperature: tau,
      });
      const rng = new Rng(9);
      const model = new RealmModel(cfg, () => rng.nextUint32());
      const docs = documentStore(data.passages, cfg.maxDocLength);
      const index = await freshIndex(model, docs);
      const batch = await prepareRealmBatch(model, index, docs, data.queries.slice(0, 3));
      const fwd = realmForward(model, batch, EVAL_CTX);
      const out = { scores: fwd.retrievalScores.arraySync() as number[][], logits: await fwd.mlmLogits.data() };
      tf.dispose([fwd.retrievalScores, fwd.mlmLogits]);
      disposeBatch(batch);
      index.dispose();
      model.dispose();
      return out;
    };
    const plain = await run(1);
    const soft = await run(4);
    expectAllclose(
      soft.scores.flat(),
      plain.scores.flat().map((x) => x / 4),
      { rtol: 1e-5, atol: 1e-6 },
    );
    expectAllclose(soft.logits, plain.logits);
    expect(() => makeConfig('tiny', { retrievalTemperature: 0 })).toThrow(/retrievalTemperature/);
  });
});

describe('realmDocGradient', () => {
  it('false: the same loss and Embed_input gradient, and no gradient reaches Embed_doc', async () => {
    const data = syntheticWorld(6, { seedRng: new Rng(2) });
    const run = async (realmDocGradient: boolean) => {
      const cfg = makeConfig('tiny', {
        vocabSize: data.vocabSize,
        hidden: 16,
        intermediate: 32,
        retrieverDim: 8,
        k: 4,
        realmDocGradient,
      });
      const rng = new Rng(9);
      const model = new RealmModel(cfg, () => rng.nextUint32());
      const docs = documentStore(data.passages, cfg.maxDocLength);
      const index = await freshIndex(model, docs);
      const batch = await prepareRealmBatch(model, index, docs, data.queries.slice(0, 3));
      const names = [...model.variables().keys()];
      const { value, grads } = tf.variableGrads(() => {
        const fwd = realmForward(model, batch, EVAL_CTX);
        return realmLoss(fwd.retrievalScores, fwd.mlmLogits, batch.targets, 'joint').loss;
      }, [...model.variables().values()]);
      const byName = new Map(names.map((n) => [n, model.variables().get(n)!.name]));
      const grad = async (prefix: string) => {
        const parts = await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => grads[byName.get(n)!].data()));
        return parts.flatMap((p) => Array.from(p));
      };
      const out = { loss: (await value.data())[0], input: await grad('embed_input/'), doc: await grad('embed_doc/') };
      tf.dispose([value, ...Object.values(grads)]);
      disposeBatch(batch);
      index.dispose();
      model.dispose();
      return out;
    };
    const realm = await run(true);
    const fixed = await run(false);
    expect(fixed.loss).toBeCloseTo(realm.loss, 5);
    expectAllclose(fixed.input, realm.input, { rtol: 1e-4, atol: 1e-7 });
    expect(Math.max(...realm.doc.map(Math.abs))).toBeGreaterThan(1e-6);
    expect(Math.max(...fixed.doc.map(Math.abs))).toBe(0);
  });
});

describe('optimizer and checkpoint files', () => {
  it('warms up linearly, then decays linearly to 0', () => {
    expect(learningRateAt(0, 100, 1, 0.1)).toBeCloseTo(0.1);
    expect(learningRateAt(9, 100, 1, 0.1)).toBeCloseTo(1);
    expect(learningRateAt(55, 100, 1, 0.1)).toBeCloseTo(0.5);
    expect(learningRateAt(100, 100, 1, 0.1)).toBe(0);
  });
  it("AdamW: lrScale multiplies one variable's step (update and decay), the others keep the full rate", async () => {
    const a = tf.variable(tf.tensor1d([1]));
    const r = tf.variable(tf.tensor1d([1]));
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-12, weightDecay: 0.1, clipNorm: 0 });
    const vars = new Map([
      ['reader/kernel', a],
      ['embed_doc/kernel', r],
    ]);
    const grads = new Map([
      ['reader/kernel', tf.tensor1d([2])],
      ['embed_doc/kernel', tf.tensor1d([2])],
    ]);
    await opt.apply(vars, grads, 0.01, (name) => (name.startsWith('reader/') ? 1 : 0.1));
    expectAllclose(a.dataSync(), [1 - 0.01 * (1 + 0.1)], { rtol: 1e-6 });
    expectAllclose(r.dataSync(), [1 - 0.001 * (1 + 0.1)], { rtol: 1e-6 });
    tf.dispose([a, r, ...grads.values()]);
    opt.dispose();
  });
  it('AdamW: first step is lr * sign(g) + decay, clipping scales by the global norm', async () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-12, weightDecay: 0.1, clipNorm: 1 });
    const vars = new Map([
      ['w/kernel', w],
      ['w/bias', b],
    ]);
    const gw = tf.tensor1d([3, -4]);
    const gb = tf.tensor1d([0]);
    const norm = await opt.apply(
      vars,
      new Map([
        ['w/kernel', gw],
        ['w/bias', gb],
      ]),
      0.01,
    );
    expect(norm).toBeCloseTo(5);
    // m/(1-b1) = g', v/(1-b2) = g'^2 -> update = sign(g); kernel decayed, bias not
    expectAllclose(w.dataSync(), [1 - 0.01 * (1 + 0.1 * 1), -2 - 0.01 * (-1 + 0.1 * -2)], { rtol: 1e-5 });
    expectAllclose(b.dataSync(), [0.5], { rtol: 1e-6 });
    const state = await opt.getState();
    const round = decodeCheckpoint(
      ...(Object.values(
        encodeCheckpoint({
          runId: 'r',
          step: 1,
          createdAt: 0,
          phase: 'ict',
          weights: [],
          optimizer: state,
          rngState: [1, 2, 3, 4],
          indexVersion: 0,
        }),
      ) as [string, Uint8Array]),
    );
    expect(round.optimizer.map((s) => s.name)).toEqual(state.map((s) => s.name));
    expectAllclose(new Float32Array(round.optimizer[0].data), new Float32Array(state[0].data));
    expect(round.rngState).toEqual([1, 2, 3, 4]);
    // Read back from a file, the bytes come as a Node Buffer on a larger pooled memory: each buffer
    // must still be exactly its own bytes.
    const file = encodeCheckpoint({
      runId: 'r',
      step: 1,
      createdAt: 0,
      phase: 'ict',
      weights: [],
      optimizer: state,
      rngState: [1],
      indexVersion: 0,
    });
    const pooled = Buffer.concat([Buffer.alloc(8, 7), Buffer.from(file.data), Buffer.alloc(8, 7)]).subarray(
      8,
      8 + file.data.byteLength,
    );
    const fromFile = decodeCheckpoint(file.header, pooled);
    fromFile.optimizer.forEach((e, i) => {
      expect(e.data.byteLength).toBe(state[i].data.byteLength);
      expectAllclose(new Float32Array(e.data), new Float32Array(state[i].data));
    });
    tf.dispose([w, b, gw, gb]);
    opt.dispose();
  });
});
