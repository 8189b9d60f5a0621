import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { foldSum, maxProgramInputs } from './addn-fold';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('foldSum', () => {
  it('never passes more than maxInputs items, releases every partial sum once, and sums everything', () => {
    for (const n of [1, 2, 7, 8, 9, 43, 83, 125, 343]) {
      for (const max of [2, 3, 7]) {
        const items = Array.from({ length: n }, (_, i) => ({ v: i + 1, partial: false }));
        const made: { v: number; partial: boolean }[] = [];
        const released: { v: number; partial: boolean }[] = [];
        let widest = 0;
        const out = foldSum(
          items,
          max,
          (g) => {
            widest = Math.max(widest, g.length);
            expect(g.length).toBeGreaterThanOrEqual(2);
            const s = { v: g.reduce((a, x) => a + x.v, 0), partial: true };
            made.push(s);
            return s;
          },
          (p) => released.push(p),
        );
        expect(out.v).toBe((n * (n + 1)) / 2);
        expect(widest).toBeLessThanOrEqual(max);
        // Every partial but the result is released exactly once; no input is.
        expect(new Set(released).size).toBe(released.length);
        expect(released.every((r) => r.partial)).toBe(true);
        expect(released.length).toBe(Math.max(0, made.length - 1));
        if (n > 1) expect(released).not.toContain(out);
      }
    }
  });

  it('rejects a limit below 2 and an empty list', () => {
    expect(() =>
      foldSum(
        [1, 2],
        1,
        (g) => g[0],
        () => {},
      ),
    ).toThrow(/at least 2/);
    expect(() =>
      foldSum(
        [],
        4,
        (g) => g[0],
        () => {},
      ),
    ).toThrow(/nothing/);
  });

  it('leaves one input for the output buffer', () => {
    expect(maxProgramInputs({ maxStorageBuffersPerShaderStage: 8 })).toBe(7);
    expect(maxProgramInputs({ maxStorageBuffersPerShaderStage: 2 })).toBe(2);
  });

  it('matches tf.addN on cpu for 83 tensors (the tiny preset ICT variable count), without leaks', () => {
    const xs = Array.from({ length: 83 }, (_, i) => tf.randomNormal([3, 5], 0, 1 + i / 10, 'float32', i + 1));
    const before = tf.memory().numTensors;
    const expected = tf.addN(xs);
    const folded = foldSum(
      xs,
      7,
      (g) => tf.addN(g),
      (p) => p.dispose(),
    );
    expect(tf.memory().numTensors).toBe(before + 2);
    expectAllclose(folded.dataSync(), expected.dataSync(), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([expected, folded, ...xs]);
  });
});
