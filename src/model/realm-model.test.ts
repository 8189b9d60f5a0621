import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { EVAL_CTX, padBatch } from './bert';
import { CLS_ID, SEP_ID } from '../corpus/tokenizer';
import { countParams, makeConfig, realmStepFlops } from './config';
import { readerInput } from './knowledge-encoder';
import { RealmModel, snapshotDocEncoder } from './realm-model';
import { DocEmbedder } from './retriever';

const cfg = makeConfig('tiny', { vocabSize: 40, hidden: 16, intermediate: 32, retrieverDim: 8, maxPositions: 96 });
let seedCounter = 0;
let model: RealmModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = new RealmModel(cfg, () => ++seedCounter);
});
afterAll(() => model.dispose());

describe('RealmModel', () => {
  it('has exactly the parameters countParams reports (README presets table)', () => {
    expect(model.parameterCount()).toBe(countParams(cfg).total);
    const shared = new RealmModel({ ...cfg, shareRetrieverWeights: true }, () => 3);
    expect(shared.parameterCount()).toBe(countParams({ ...cfg, shareRetrieverWeights: true }).total);
    expect(shared.parameterCount()).toBeLessThan(model.parameterCount());
    shared.dispose();
    expect(realmStepFlops(cfg)).toBeGreaterThan(0);
  });

  it('padding does not change the encoding of real tokens (attention padding mask)', () => {
    const row = [CLS_ID, 7, 8, 9, SEP_ID];
    const a = tf.tidy(() => {
      const { ids, segments } = padBatch([row], 16);
      return model.embedInput.encoder.forward(ids, segments, EVAL_CTX).slice([0, 0, 0], [1, 5, -1]).arraySync();
    });
    const b = tf.tidy(() => {
      const { ids, segments } = padBatch([row, [CLS_ID, ...Array(30).fill(11), SEP_ID]], 48);
      expect(ids.shape[1]).toBe(32);
      return model.embedInput.encoder.forward(ids, segments, EVAL_CTX).slice([0, 0, 0], [1, 5, -1]).arraySync();
    });
    expectAllclose(a as number[][][], b as number[][][], { rtol: 1e-4, atol: 1e-5 });
  });

  it('DocEmbedder.fromWeights(snapshotDocEncoder(model)) embeds like the trainer, in input order, without leaks', async () => {
    const docs = [
      [CLS_ID, 5, SEP_ID, 6, 7, 8, SEP_ID],
      [CLS_ID, 9, SEP_ID, ...Array(20).fill(12), SEP_ID],
      [CLS_ID, 10, SEP_ID, 13, SEP_ID],
    ].map((r) => Int32Array.from(r));
    const before = tf.memory().numTensors;
    const snapshot = await snapshotDocEncoder(model);
    expect(snapshot.every((w) => w.name.startsWith('embed_doc/'))).toBe(true);
    const worker = DocEmbedder.fromWeights(cfg, snapshot);
    const e1 = worker.embed(docs, 2); // batches of 2: sorting and re-ordering are exercised
    const e2 = model.embedDoc.embedRows(docs, cfg.maxDocLength);
    const one = docs.map((d) => model.embedDoc.embedRows([d], cfg.maxDocLength));
    expect(e1.shape).toEqual([3, cfg.retrieverDim]);
    expectAllclose(e1.dataSync(), e2.dataSync(), { rtol: 1e-4, atol: 1e-5 });
    expectAllclose(
      e1.dataSync(),
      one.flatMap((t) => Array.from(t.dataSync())),
      { rtol: 1e-4, atol: 1e-5 },
    );
    tf.dispose([e1, e2, ...one]);
    worker.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a snapshot from a different config', async () => {
    const snapshot = await snapshotDocEncoder(model);
    expect(() => DocEmbedder.fromWeights({ ...cfg, hidden: 32, intermediate: 64 }, snapshot)).toThrow(/shape/);
  });

  it('readerInput puts the query first and cuts the document to fit', () => {
    const q = [CLS_ID, 4, 9, SEP_ID];
    const d = [CLS_ID, 5, SEP_ID, 6, 7, 8, 9, 10, SEP_ID];
    expect(Array.from(readerInput(q, d, 20))).toEqual([CLS_ID, 4, 9, SEP_ID, 5, SEP_ID, 6, 7, 8, 9, 10, SEP_ID]);
    expect(Array.from(readerInput(q, d, 9))).toEqual([CLS_ID, 4, 9, SEP_ID, 5, SEP_ID, 6, 7, SEP_ID]);
  });
});
