// The embedding map's PCA (power iteration in tfjs) against ml-pca (SVD in ml-matrix), an independent
// implementation: same axes up to sign, same projections up to sign, same explained-variance shares.
import * as tf from '@tensorflow/tfjs';
import { PCA } from 'ml-pca';
import { beforeAll, describe, expect, it } from 'vitest';
import { allcloseReport } from '../testing/allclose';
import { EVAL_CTX } from './bert';
import { CLS_ID, SEP_ID } from '../corpus/tokenizer';
import { makeConfig } from './config';
import {
  alignSigns,
  buildEmbeddingMap,
  EmbeddingMapError,
  explainedRatio,
  fitPca2,
  projectVector,
  queryEmbedding,
  type Pca2,
} from './embedding-map';
import { RealmModel } from './realm-model';
import { Rng } from '../corpus/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A standard normal draw (Box-Muller). */
function gauss(rng: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * n rows of d dimensions with well separated variances along a random rotation: scales[j] is the
 * standard deviation along the j-th hidden direction; an offset moves the mean away from 0.
 */
function sample(n: number, d: number, scales: number[], seed: number): number[][] {
  const rng = new Rng(seed);
  // A random orthonormal basis (Gram-Schmidt on Gaussian vectors).
  const basis: number[][] = [];
  while (basis.length < d) {
    const v = Array.from({ length: d }, () => gauss(rng));
    for (const b of basis) {
      const dot = v.reduce((a, x, i) => a + x * b[i], 0);
      for (let i = 0; i < d; i++) v[i] -= dot * b[i];
    }
    const len = Math.hypot(...v);
    basis.push(v.map((x) => x / len));
  }
  return Array.from({ length: n }, () => {
    const row = Array.from({ length: d }, (_, i) => 0.5 + 0.1 * i);
    for (let j = 0; j < d; j++) {
      const c = gauss(rng) * (scales[j] ?? 0.1);
      for (let i = 0; i < d; i++) row[i] += c * basis[j][i];
    }
    return row;
  });
}

/** Flips `a` to agree in sign with `b` (eigenvectors are defined up to sign). */
function sameSign(a: number[], b: number[]): number[] {
  const dot = a.reduce((acc, x, i) => acc + x * b[i], 0);
  return dot < 0 ? a.map((x) => -x) : a;
}

async function fit(rows: number[][]): Promise<Pca2> {
  const x = tf.tensor2d(rows);
  try {
    return await fitPca2(x);
  } finally {
    x.dispose();
  }
}

describe('fitPca2 against ml-pca', () => {
  const cases = [
    { name: 'd=8, n=200', n: 200, d: 8, scales: [3, 2, 1, 0.5, 0.3, 0.2, 0.1, 0.05] },
    { name: 'd=32, n=300 (the tiny preset)', n: 300, d: 32, scales: [2, 1.2, 0.8, 0.6, 0.5, 0.4] },
    { name: 'd=16, n=40 (fewer rows than usual)', n: 40, d: 16, scales: [1.5, 1, 0.4] },
  ];
  for (const c of cases) {
    it(`same axes, projections and explained variance (${c.name})`, async () => {
      const rows = sample(c.n, c.d, c.scales, c.n + c.d);
      const ref = new PCA(rows, { center: true, scale: false });
      const refAxes = ref.getEigenvectors().transpose().to2DArray().slice(0, 2); // [2][d]
      const refExplained = ref.getExplainedVariance().slice(0, 2);
      const refProj = ref.predict(rows, { nComponents: 2 }).to2DArray(); // [n][2]

      const pca = await fit(rows);
      for (let a = 0; a < 2; a++) {
        const ours = sameSign(Array.from(pca.axes[a]), refAxes[a]);
        expect(allcloseReport(ours, refAxes[a], { atol: 2e-3, rtol: 0 })).toBeNull();
        const len = Math.hypot(...pca.axes[a]);
        expect(len).toBeCloseTo(1, 5);
      }
      expect(Math.abs(pca.axes[0].reduce((acc, x, i) => acc + x * pca.axes[1][i], 0))).toBeLessThan(1e-4);
      expect(pca.variances[0]).toBeGreaterThanOrEqual(pca.variances[1]);
      // Few reads: each one waits for the GPU queue the trainer shares.
      expect(pca.reads).toBeLessThanOrEqual(4);
      expect(allcloseReport(explainedRatio(pca), refExplained, { atol: 1e-4, rtol: 1e-3 })).toBeNull();

      // Projections: ours through projectVector, up to the sign of each axis.
      for (let a = 0; a < 2; a++) {
        const ours = rows.map((r) => projectVector(pca, r)[a]);
        const theirs = refProj.map((p) => p[a]);
        expect(allcloseReport(sameSign(ours, theirs), theirs, { atol: 5e-3, rtol: 1e-3 })).toBeNull();
      }
    });
  }

  it('a wrong answer fails: the third axis is not the second', async () => {
    const rows = sample(200, 8, [3, 2, 1, 0.5], 7);
    const ref = new PCA(rows);
    const third = ref.getEigenvectors().transpose().to2DArray()[2];
    const pca = await fit(rows);
    expect(allcloseReport(sameSign(Array.from(pca.axes[1]), third), third, { atol: 2e-3, rtol: 0 })).not.toBeNull();
  });

  it('all rows equal: zero variance, unit axes, no NaN', async () => {
    const pca = await fit(Array.from({ length: 5 }, () => [1, 2, 3, 4]));
    expect(pca.variances).toEqual([0, 0]);
    expect(explainedRatio(pca)).toEqual([0, 0]);
    for (const a of pca.axes) expect(Math.hypot(...a)).toBeCloseTo(1, 6);
  });

  it('rank-1 rows: the second axis is orthogonal to the first and has no variance', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => [i, 2 * i, -i, 0.5 * i]);
    const pca = await fit(rows);
    const dir = [1, 2, -1, 0.5].map((x) => x / Math.hypot(1, 2, -1, 0.5));
    expect(allcloseReport(sameSign(Array.from(pca.axes[0]), dir), dir, { atol: 1e-4, rtol: 0 })).toBeNull();
    expect(Math.abs(pca.axes[0].reduce((acc, x, i) => acc + x * pca.axes[1][i], 0))).toBeLessThan(1e-4);
    expect(Math.hypot(...pca.axes[1])).toBeCloseTo(1, 4);
    expect(pca.variances[1]).toBeLessThan(1e-3 * pca.variances[0]);
    expect(explainedRatio(pca)[0]).toBeCloseTo(1, 4);
  });

  it('rejects fewer than 2 rows or dimensions with a message', async () => {
    await expect(fit([[1, 2, 3]])).rejects.toThrow(EmbeddingMapError);
    await expect(fit([[1], [2]])).rejects.toThrow(/at least 2 dimensions/);
  });
});

describe('buildEmbeddingMap', () => {
  it('projects every row, keeps signs across refits, and leaks no tensor', async () => {
    const rows = sample(120, 8, [3, 1.5, 0.5], 11);
    const vectors = new Float32Array(rows.flat());
    const before = tf.memory().numTensors;
    const first = await buildEmbeddingMap(1, vectors, 120, 8);
    // Refit on the negated data: the same axes up to sign; aligned with the first, they agree.
    const negated = vectors.map((x) => -x);
    const free = await buildEmbeddingMap(2, negated, 120, 8);
    const aligned = await buildEmbeddingMap(2, negated, 120, 8, first);
    expect(tf.memory().numTensors).toBe(before);

    expect(first.points.length).toBe(240);
    for (let a = 0; a < 2; a++) {
      const dot = aligned.pca.axes[a].reduce((acc, x, i) => acc + x * first.pca.axes[a][i], 0);
      expect(dot).toBeGreaterThan(0.99);
      // Negated data, same axes: the projected points are mirrored through the origin.
      for (let r = 0; r < 120; r++) expect(aligned.points[2 * r + a]).toBeCloseTo(-first.points[2 * r + a], 3);
    }
    // Without alignment the free fit lands on the same axes up to sign (the start vectors are fixed).
    const freeDot = free.pca.axes[0].reduce((acc, x, i) => acc + x * first.pca.axes[0][i], 0);
    expect(Math.abs(freeDot)).toBeGreaterThan(0.99);
    // The points match projectVector on each row.
    for (const r of [0, 57, 119]) {
      const [x, y] = projectVector(first.pca, rows[r]);
      expect(first.points[2 * r]).toBeCloseTo(x, 3);
      expect(first.points[2 * r + 1]).toBeCloseTo(y, 3);
    }
  });

  it('alignSigns flips only the disagreeing axis', () => {
    const base: Pca2 = {
      dim: 2,
      mean: new Float32Array(2),
      axes: [Float32Array.from([1, 0]), Float32Array.from([0, 1])],
      variances: [2, 1],
      totalVariance: 3,
      iterations: 1,
      reads: 1,
    };
    const next: Pca2 = { ...base, axes: [Float32Array.from([-1, 0]), Float32Array.from([0, 1])] };
    const out = alignSigns(next, base);
    expect(Array.from(out.axes[0])).toEqual([1, -0]);
    expect(Array.from(out.axes[1])).toEqual([0, 1]);
    expect(alignSigns(next, null)).toBe(next);
  });

  it('rejects vectors that do not match count x dim', async () => {
    await expect(buildEmbeddingMap(3, new Float32Array(10), 4, 3)).rejects.toThrow(/not 4 x 3/);
  });
});

describe('queryEmbedding', () => {
  it('is Embed_input([CLS] x [SEP]) of the query, cut to maxQueryLength, with no tensor left', async () => {
    const cfg = makeConfig('tiny', {
      vocabSize: 40,
      hidden: 16,
      intermediate: 32,
      retrieverDim: 8,
      maxPositions: 96,
      maxQueryLength: 6,
    });
    let seed = 0;
    const model = new RealmModel(cfg, () => ++seed);
    try {
      const ids = [CLS_ID, 7, 4, 9, 11, 12, 13, SEP_ID]; // longer than 6: cut, keeping a final [SEP]
      const before = tf.memory().numTensors;
      const v = await queryEmbedding(model, { inputIds: ids, maskPositions: [2], targets: [8], sourceDocId: null });
      expect(tf.memory().numTensors).toBe(before);
      const expected = tf.tidy(
        () =>
          model.embedInput
            .embed(tf.tensor2d([[CLS_ID, 7, 4, 9, 11, SEP_ID]], [1, 6], 'int32'), tf.zeros([1, 6], 'int32'), EVAL_CTX)
            .arraySync()[0],
      );
      expect(v.length).toBe(8);
      expect(allcloseReport(Array.from(v), expected, { atol: 1e-5, rtol: 1e-4 })).toBeNull();
    } finally {
      model.dispose();
    }
  });
});
