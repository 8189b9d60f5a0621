// Starting a model from a checkpoint's weights (`npm run train -- --init PATH`): every weight equal
// after the init, the run at step 0 with a fresh optimiser, and the architecture taken from the
// checkpoint (a contradicting option is an error, as is a checkpoint of another architecture).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticWorld } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { decodeCheckpoint, encodeCheckpoint, initArchitecture, initModelWeights } from './checkpoint';
import { makeConfig } from './config';
import { RealmTrainer } from './trainer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const data = syntheticWorld(6, { seedRng: new Rng(3) });
const small = (over = {}) =>
  makeConfig('tiny', {
    vocabSize: data.vocabSize,
    hidden: 16,
    intermediate: 32,
    retrieverDim: 8,
    k: 3,
    batchSize: 2,
    ictBatchSize: 4,
    ictSteps: 2,
    mlmSteps: 2,
    realmSteps: 0,
    ...over,
  });

const bytesOf = async (t: RealmTrainer) =>
  new Map((await t.model.getWeights()).map((w) => [w.name, Array.from(new Float32Array(w.data))]));

describe('init from a checkpoint', () => {
  it('copies every weight (through the file format), leaves step 0 and a fresh optimiser; no tensor leaks', async () => {
    const trained = new RealmTrainer({ config: small({ seed: 1 }), data });
    await trained.run();
    const saved = await trained.checkpoint('warm');
    const file = encodeCheckpoint(saved);
    const c = decodeCheckpoint(file.header, file.data);
    expect(c.step).toBe(4);

    const before = tf.memory().numTensors;
    const config = small({ seed: 2, ...initArchitecture(c), ictSteps: 0, mlmSteps: 1 });
    const fresh = new RealmTrainer({ config, data });
    const want = await bytesOf(trained);
    const pre = await bytesOf(fresh); // another seed, untrained: its weights differ before the init
    expect([...pre].filter(([n, v]) => JSON.stringify(v) !== JSON.stringify(want.get(n))).length).toBeGreaterThan(10);
    initModelWeights(fresh.model, c);
    const got = await bytesOf(fresh);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, v] of got) expect(v, name).toEqual(want.get(name));
    expect(fresh.stepCount).toBe(0);
    expect(fresh.phaseAt()?.phase).toBe('mlm');
    // A fresh AdamW: its first step creates the moments (a restored one would carry 4 steps of them).
    const ckpt0 = await fresh.checkpoint('x');
    expect(ckpt0.optimizer).toEqual([]);
    await fresh.step();
    expect(fresh.stepCount).toBe(1);
    fresh.dispose();
    expect(tf.memory().numTensors).toBe(before);
    trained.dispose();
  });

  it('the architecture comes from the checkpoint; a contradicting option or another architecture is an error', async () => {
    const shared = new RealmTrainer({ config: small({ shareRetrieverWeights: true }), data });
    const c = await shared.checkpoint('warm');
    expect(initArchitecture(c)).toMatchObject({
      hidden: 16,
      intermediate: 32,
      shareRetrieverWeights: true,
      vocabSize: data.vocabSize,
    });
    expect(initArchitecture(c, { hidden: 16 }).hidden).toBe(16); // agreeing is fine
    expect(() => initArchitecture(c, { hidden: 32 })).toThrow(/hidden is 32 here but 16 in the checkpoint/);
    expect(() => initArchitecture(c, { shareRetrieverWeights: false })).toThrow(/shareRetrieverWeights/);
    expect(() => initArchitecture({ ...c, extra: {} })).toThrow(/does not say its config/);
    // Separate embedders need embed_doc's weights, which a shared checkpoint lacks.
    const separate = new RealmTrainer({ config: small({ shareRetrieverWeights: false }), data });
    expect(() => initModelWeights(separate.model, c)).toThrow(/lacks \d+ of the model's weights \(first: embed_doc\//);
    // A weight of another shape.
    const wide = new RealmTrainer({ config: small({ shareRetrieverWeights: true, hidden: 8, intermediate: 16 }), data });
    expect(() => initModelWeights(wide.model, c)).toThrow(/has shape/);
    for (const t of [shared, separate, wide]) t.dispose();
  });
});
