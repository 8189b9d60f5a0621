import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import type { Marginalisation } from './config';
import { realmLoss, realmLossJson, RealmLossError, parseMarginalisation } from './realm-loss';
import { realmLossReference } from './realm-loss-reference';
import { lcg } from '../testing/lcg';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function makeBatch(seed: number, B = 3, K = 4, M = 3, V = 5) {
  const r = lcg(seed);
  const scores = [...Array(B)].map(() => [...Array(K)].map(() => 4 * (r() - 0.5)));
  const logits = [...Array(B)].map(() =>
    [...Array(K)].map(() => [...Array(M)].map(() => [...Array(V)].map(() => 3 * (r() - 0.5)))),
  );
  const targets = [...Array(B)].map(() => [...Array(M)].map(() => Math.floor(r() * V)));
  if (M > 2) targets[0][2] = -1; // a padded mask
  targets[B - 1] = targets[B - 1].map(() => -1); // a row with no valid mask
  return { scores, logits, targets };
}

function tfGrads(scores: number[][], logits: number[][][][], targets: number[][], mode: Marginalisation) {
  const B = scores.length;
  const K = scores[0].length;
  const M = targets[0].length;
  const V = logits[0][0][0].length;
  const s = tf.tensor2d(scores);
  const l = tf.tensor4d(logits.flat(3), [B, K, M, V]);
  const t = Int32Array.from(targets.flat());
  const { value, grads } = tf.valueAndGrads(
    (a: tf.Tensor, b: tf.Tensor) => realmLoss(a as tf.Tensor2D, b as tf.Tensor4D, t, mode).loss,
  )([s, l]);
  const out = {
    loss: value.arraySync() as number,
    gs: grads[0].arraySync() as number[][],
    gl: grads[1].arraySync() as number[][][][],
  };
  tf.dispose([s, l, value, ...grads]);
  return out;
}

describe.each(['per-mask', 'joint'] as const)('realmLoss (%s)', (mode) => {
  it('matches the plain-number reference: loss, both gradients, retrieval utility', () => {
    for (const seed of [1, 2, 3]) {
      const { scores, logits, targets } = makeBatch(seed);
      const ref = realmLossReference(scores, logits, targets, mode);
      const before = tf.memory().numTensors;
      const got = realmLossJson({
        retrieval_scores: scores,
        mlm_logits: logits,
        targets,
        mode: mode === 'joint' ? 'joint' : 'per_mask',
      });
      expect(tf.memory().numTensors).toBe(before);
      expectAllclose(got.loss, ref.loss, { rtol: 1e-5, atol: 1e-5 });
      expectAllclose(got.grad_retrieval_scores, ref.gradScores, { rtol: 1e-4, atol: 1e-6 });
      expectAllclose(got.grad_mlm_logits, ref.gradLogits, { rtol: 1e-4, atol: 1e-6 });
      expect(got.retrieval_utility[2]).toBeNull();
      expect(ref.retrievalUtility[2]).toBeNull();
      expectAllclose(got.retrieval_utility.slice(0, 2) as number[], ref.retrievalUtility.slice(0, 2) as number[], {
        rtol: 1e-4,
        atol: 1e-5,
      });
      // rows without a valid mask and padded masks get zero gradient
      expect(got.grad_retrieval_scores[2].every((g) => g === 0)).toBe(true);
      expect(got.grad_mlm_logits[0].every((z) => z[2].every((g) => g === 0))).toBe(true);
    }
  });

  it('the reference itself agrees with float64 central finite differences', () => {
    const { scores, logits, targets } = makeBatch(7);
    const ref = realmLossReference(scores, logits, targets, mode);
    const eps = 1e-6;
    const f = (s: number[][], l: number[][][][]) => realmLossReference(s, l, targets, mode).loss;
    for (const [b, z] of [
      [0, 0],
      [0, 3],
      [1, 1],
    ]) {
      const up = scores.map((r) => [...r]);
      const dn = scores.map((r) => [...r]);
      up[b][z] += eps;
      dn[b][z] -= eps;
      expectAllclose((f(up, logits) - f(dn, logits)) / (2 * eps), ref.gradScores[b][z], { rtol: 1e-5, atol: 1e-8 });
    }
    for (const [b, z, j, v] of [
      [0, 1, 0, 2],
      [1, 0, 2, 4],
      [1, 3, 1, 0],
    ]) {
      const clone = () => logits.map((r) => r.map((zz) => zz.map((jj) => [...jj])));
      const up = clone();
      const dn = clone();
      up[b][z][j][v] += eps;
      dn[b][z][j][v] -= eps;
      expectAllclose((f(scores, up) - f(scores, dn)) / (2 * eps), ref.gradLogits[b][z][j][v], { rtol: 1e-5, atol: 1e-8 });
    }
  });

  it('tfjs gradients agree with float32 central finite differences of the tfjs loss', () => {
    const { scores, logits, targets } = makeBatch(11);
    const g = tfGrads(scores, logits, targets, mode);
    const eps = 1e-2;
    const lossAt = (s: number[][], l: number[][][][]) => tfGrads(s, l, targets, mode).loss;
    for (const [b, z] of [
      [0, 2],
      [1, 0],
    ]) {
      const up = scores.map((r) => [...r]);
      const dn = scores.map((r) => [...r]);
      up[b][z] += eps;
      dn[b][z] -= eps;
      expectAllclose((lossAt(up, logits) - lossAt(dn, logits)) / (2 * eps), g.gs[b][z], { rtol: 2e-2, atol: 2e-4 });
    }
  });
});

describe('realmLoss closed form (joint)', () => {
  it('d log p(y|x) / d f(x,z) = p(z|x) (p(y|z,x)/p(y|x) - 1)', () => {
    const { scores, logits, targets } = makeBatch(5, 4, 5, 2, 6);
    targets[3] = [1, 2]; // every row valid here
    targets[0][1] = -1;
    const g = tfGrads(scores, logits, targets, 'joint');
    const B = scores.length;
    for (let b = 0; b < B; b++) {
      const mx = Math.max(...scores[b]);
      const e = scores[b].map((s) => Math.exp(s - mx));
      const pz = e.map((x) => x / e.reduce((a, c) => a + c, 0));
      const pyz = logits[b].map((zl) =>
        targets[b].reduce((acc, t, j) => {
          if (t < 0) return acc;
          const ex = zl[j].map(Math.exp);
          return acc * (ex[t] / ex.reduce((a, c) => a + c, 0));
        }, 1),
      );
      const py = pz.reduce((acc, p, z) => acc + p * pyz[z], 0);
      const closed = pz.map((p, z) => p * (pyz[z] / py - 1));
      // loss = -(1/B) sum_b log p(y|x), so d loss / d f = -closed / B
      expectAllclose(
        g.gs[b].map((x) => -x * B),
        closed,
        { rtol: 1e-4, atol: 1e-6 },
      );
      // a document is pushed up exactly when it helps more than the average document
      closed.forEach((c, z) => expect(Math.sign(c)).toBe(Math.sign(pyz[z] - py)));
    }
  });
});

describe('realmLoss errors and the JSON form', () => {
  it('a batch without any valid mask is a clear error', () => {
    const { scores, logits } = makeBatch(3, 2, 3, 2, 4);
    expect(() =>
      realmLossJson({
        retrieval_scores: scores,
        mlm_logits: logits,
        targets: [
          [-1, -1],
          [-1, -1],
        ],
        mode: 'joint',
      }),
    ).toThrow(RealmLossError);
    expect(() =>
      realmLossJson({
        retrieval_scores: scores,
        mlm_logits: logits,
        targets: [
          [-1, -1],
          [-1, -1],
        ],
        mode: 'joint',
      }),
    ).toThrow(/no example in the batch has a valid mask/);
  });
  it('rejects unknown modes, bad targets and ragged shapes', () => {
    const { scores, logits } = makeBatch(3, 2, 3, 2, 4);
    expect(() => parseMarginalisation('sum')).toThrow(/per_mask/);
    expect(() =>
      realmLossJson({
        retrieval_scores: scores,
        mlm_logits: logits,
        targets: [
          [0, 9],
          [1, 1],
        ],
        mode: 'joint',
      }),
    ).toThrow(/outside/);
    expect(() =>
      realmLossJson({
        retrieval_scores: [[1, 2], [1]],
        mlm_logits: logits,
        targets: [
          [0, 1],
          [1, 1],
        ],
        mode: 'joint',
      }),
    ).toThrow(/shapes/);
  });
  it('per-mask and joint coincide with one mask per row', () => {
    const { scores, logits, targets } = makeBatch(9, 3, 4, 1, 5);
    targets[2] = [3];
    const a = realmLossJson({ retrieval_scores: scores, mlm_logits: logits, targets, mode: 'per_mask' });
    const b = realmLossJson({ retrieval_scores: scores, mlm_logits: logits, targets, mode: 'joint' });
    expectAllclose(a.loss, b.loss, { rtol: 1e-6 });
    expectAllclose(a.grad_retrieval_scores, b.grad_retrieval_scores, { rtol: 1e-5, atol: 1e-7 });
  });
});
