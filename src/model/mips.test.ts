import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DenseMipsIndex, MipsError } from './mips';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Independent reference: plain loops over numbers, ties to the lower row. */
function bruteForce(q: number[][], docs: number[][], k: number, exclude: number[]) {
  return q.map((qv, b) => {
    const s = docs.map((dv, row) => ({
      row,
      score: row === exclude[b] ? -Infinity : dv.reduce((acc, x, j) => acc + x * qv[j], 0),
    }));
    s.sort((x, y) => y.score - x.score || x.row - y.row);
    return s.slice(0, k);
  });
}

describe('DenseMipsIndex', () => {
  const d = 4;
  const docs = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [1, 1, 0, 0],
    [0, 0, 1, 0],
    [1, 0, 0, 0], // a tie with row 0
    [-1, -1, -1, -1],
  ];
  const ids = docs.map((_, i) => `doc${i}`);
  const index = new DenseMipsIndex(7, new Float32Array(docs.flat()), ids, d);

  it('returns the top-k by inner product, ties to the lower row, sorted descending', async () => {
    const q = [
      [1, 0.5, 0, 0],
      [2, 0, 0, 0],
    ];
    const before = tf.memory().numTensors;
    const { scores, indices } = index.search(tf.tensor2d(q), 3);
    const want = bruteForce(q, docs, 3, [-1, -1]);
    expect(await indices.array()).toEqual(want.map((r) => r.map((x) => x.row)));
    expect(await scores.array()).toEqual(want.map((r) => r.map((x) => x.score)));
    tf.dispose([scores, indices]);
    expect(tf.memory().numTensors).toBe(before + 1); // only the query tensor we made
  });

  it('never returns the excluded document of a query', async () => {
    const q = [
      [2, 0, 0, 0],
      [0, 0, 1, 0],
    ];
    const { indices } = index.search(tf.tensor2d(q), 2, ['doc2', null]);
    const want = bruteForce(q, docs, 2, [2, -1]).map((r) => r.map((x) => x.row));
    expect(await indices.array()).toEqual(want);
    expect((await indices.array())[0]).not.toContain(2);
  });

  it('rejects k larger than what exclusion leaves, with a message that says what to do', () => {
    expect(() => index.search(tf.tensor2d([[1, 0, 0, 0]]), 6, ['doc0'])).toThrow(MipsError);
    expect(() => index.search(tf.tensor2d([[1, 0, 0, 0]]), 7)).toThrow(/lower k to at most 6/);
    expect(() => index.search(tf.tensor2d([[1, 0, 0]]), 1)).toThrow(/queries must be \[B, 4\]/);
  });

  it('keeps its version and size', () => {
    expect(index.version).toBe(7);
    expect(index.size).toBe(6);
    expect(index.dim).toBe(4);
  });
});
