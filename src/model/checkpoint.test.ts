// Starting a model from a checkpoint's weights (`npm run train -- --init PATH`): every weight equal
// after the init, the run at step 0 with a fresh optimiser, and the architecture taken from the
// checkpoint (a contradicting option is an error, as is a checkpoint of another architecture).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticWorld } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { decodeCheckpoint, encodeCheckpoint, fromFloat16, initArchitecture, initModelWeights, toFloat16 } from './checkpoint';
import { makeConfig } from './config';
import { RealmTrainer, type RealmCheckpoint } from './trainer';

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

const bits = (xs: number[]) => [...toFloat16(new Float32Array(xs))];

describe('float16 weights', () => {
  it('gives the binary16 bits of exact values, the extremes and the subnormals', () => {
    expect(bits([0, -0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24])).toEqual([
      0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x0001,
    ]);
    expect(bits([Infinity, -Infinity, 1e6])).toEqual([0x7c00, 0xfc00, 0x7c00]);
    expect(Number.isNaN(fromFloat16(toFloat16(new Float32Array([NaN])))[0])).toBe(true);
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: to even (1). 1 + 3 * 2^-11: to 1 + 2^-9.
    expect(bits([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20])).toEqual([0x3c00, 0x3c02, 0x3c01]);
    // 65519 rounds down to 65504; 65520 is halfway to 65536 (not representable): infinity.
    expect(bits([65519, 65520])).toEqual([0x7bff, 0x7c00]);
    // 2^-25 is halfway between 0 and the smallest subnormal: to even (0); a little more rounds up.
    expect(bits([2 ** -25, 2 ** -25 * 1.01, 3 * 2 ** -25])).toEqual([0x0000, 0x0001, 0x0002]);
    // 1/3 = 0x3555 in binary16.
    expect(bits([1 / 3])).toEqual([0x3555]);
  });

  it('decodes every binary16 value back to itself', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = toFloat16(fromFloat16(all));
    const nan = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    all.forEach((h) => !nan(h) && expect(back[h]).toBe(h));
  });

  it('keeps the relative error of normal weights within 2^-11 through a checkpoint, optimiser state exact', () => {
    const w = new Float32Array(1000).map((_, i) => Math.sin(i) * 0.05 * (1 + (i % 7)));
    const m = new Float32Array([1e-9, 3.14159265]);
    const c: RealmCheckpoint = {
      runId: 'r',
      step: 3,
      createdAt: 0,
      phase: 'ict',
      weights: [{ name: 'w', shape: [10, 100], data: w.buffer }],
      optimizer: [{ name: 'm', shape: [2], data: m.buffer }],
      rngState: [1, 2, 3, 4],
      indexVersion: 0,
    };
    const half = encodeCheckpoint(c, { float16: true });
    expect(half.data.byteLength).toBe(1000 * 2 + 2 * 4);
    const back = decodeCheckpoint(half.header, half.data);
    const got = new Float32Array(back.weights[0].data);
    w.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25));
    expect([...new Float32Array(back.optimizer[0].data)]).toEqual([...m]);
    expect(back.step).toBe(3);
    const full = decodeCheckpoint(...(Object.values(encodeCheckpoint(c)) as [string, Uint8Array]));
    expect([...new Float32Array(full.weights[0].data)]).toEqual([...w]);
  });
});
