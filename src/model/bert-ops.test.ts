// Every hand-written backward pass of bert-ops.ts against tf's own autograd of the plain formula
// (the one bert.ts used before), on the cpu backend: the value and the gradient with respect to every
// input, under a random upstream gradient. GELU's and LayerNorm's are also checked against finite
// differences, so the check does not rest on tfjs's gradients alone.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dense, dropout, feedForward, gelu, layerNorm, residual, selfAttention } from './bert-ops';
import { allcloseReport } from '../testing/allclose';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

let seed = 11;
const randn = (shape: number[], scale = 1) => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed++), scale);

/** The plain formulas, as bert.ts wrote them before the custom gradients. */
const plain = {
  gelu: (x: tf.Tensor) =>
    tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  /** The exact GELU with tfjs's own erf (and its registered gradient). */
  geluErf: (x: tf.Tensor) => tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))),
  layerNorm: (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
  },
  dense: (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) => {
    const y = tf.matMul(x.reshape([-1, x.shape[x.rank - 1]]), w as tf.Tensor2D);
    return (b ? tf.add(y, b) : y).reshape([...x.shape.slice(0, -1), w.shape[1] as number]);
  },
};

/**
 * Compares f and g (same inputs) in value and in the gradient of sum(f(inputs) · r) with respect to
 * every input, r a fixed random tensor. Returns the problems found (empty when they agree).
 */
function compareGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  g: (...xs: tf.Tensor[]) => tf.Tensor,
  inputs: tf.Tensor[],
  tol = { rtol: 1e-4, atol: 1e-5 },
): string[] {
  return tf.tidy(() => {
    const r = randn(f(...inputs).shape);
    const loss =
      (fn: typeof f) =>
      (...xs: tf.Tensor[]) =>
        tf.sum(tf.mul(fn(...xs), r)) as tf.Scalar;
    const mine = tf.valueAndGrads(loss(f))(inputs);
    const ref = tf.valueAndGrads(loss(g))(inputs);
    const problems: string[] = [];
    const v = allcloseReport(f(...inputs).dataSync(), g(...inputs).dataSync(), tol);
    if (v) problems.push(`value: ${v}`);
    mine.grads.forEach((d, i) => {
      const p = allcloseReport(d.dataSync(), ref.grads[i].dataSync(), tol);
      if (p) problems.push(`gradient of input ${i}: ${p}`);
    });
    return problems;
  });
}

describe('custom gradients match tf autograd of the plain formula', () => {
  it('GELU', () => {
    const x = randn([6, 40], 2);
    expect(compareGrads((a) => gelu(a), plain.gelu, [x])).toEqual([]);
  });

  it('GELU, exact (erf) variant', () => {
    const x = randn([6, 40], 2);
    expect(compareGrads((a) => gelu(a, 'erf'), plain.geluErf, [x])).toEqual([]);
    // The two variants differ by up to ~5e-4 (at |x| near 2): the check above tells them apart.
    expect(compareGrads((a) => gelu(a, 'tanh'), plain.geluErf, [x], { rtol: 0, atol: 1e-5 })).not.toEqual([]);
  });

  it('LayerNorm (input, gain and bias)', () => {
    const x = tf.add(randn([3, 5, 16], 3), 1);
    const g = tf.add(1, randn([16], 0.3));
    const b = randn([16], 0.3);
    expect(
      compareGrads(
        (a, c, d) => layerNorm(a, c, d, 1e-6),
        (a, c, d) => plain.layerNorm(a, c, d, 1e-6),
        [x, g, b],
      ),
    ).toEqual([]);
  });

  it('dense with and without a bias, on a rank-3 input', () => {
    const x = randn([2, 7, 12]);
    const w = randn([12, 9], 0.3);
    const b = randn([9]);
    expect(compareGrads(dense, plain.dense, [x, w, b])).toEqual([]);
    expect(
      compareGrads(
        (a, c) => dense(a, c),
        (a, c) => plain.dense(a, c),
        [x, w],
      ),
    ).toEqual([]);
  });

  it('the feed-forward block', () => {
    const x = randn([2, 5, 8]);
    const [w1, b1, w2, b2] = [randn([8, 32], 0.4), randn([32], 0.1), randn([32, 8], 0.3), randn([8], 0.1)];
    const ref = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor, f: tf.Tensor) =>
      plain.dense(plain.gelu(plain.dense(a, c, d)), e, f);
    expect(compareGrads((a, c, d, e, f) => feedForward(a, c, d, e, f), ref, [x, w1, b1, w2, b2])).toEqual([]);
    const refErf = (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor, f: tf.Tensor) =>
      plain.dense(plain.geluErf(plain.dense(a, c, d)), e, f);
    expect(compareGrads((a, c, d, e, f) => feedForward(a, c, d, e, f, 'erf'), refErf, [x, w1, b1, w2, b2])).toEqual([]);
  });

  for (const rate of [0, 0.3]) {
    it(`dropout and the residual connection (rate ${rate})`, () => {
      const x = randn([4, 6, 10]);
      const y = randn([4, 6, 10]);
      const ref = (a: tf.Tensor) => (rate > 0 ? tf.dropout(a, rate, undefined, 42) : a);
      expect(compareGrads((a) => dropout(a, rate, 42), ref, [x])).toEqual([]);
      expect(
        compareGrads(
          (a, b) => residual(a, b, rate, 42),
          (a, b) => tf.add(a, ref(b)),
          [x, y],
        ),
      ).toEqual([]);
    });

    it(`self-attention with a padding mask (attention dropout ${rate})`, () => {
      const [n, len, h, heads] = [2, 6, 8, 2];
      const dh = h / heads;
      const x = randn([n, len, h]);
      const ws = [randn([h, h], 0.5), randn([h], 0.1), randn([h, h], 0.5), randn([h], 0.1), randn([h, h], 0.5), randn([h], 0.1)];
      // the second sequence has two padding positions
      const keyMask = tf.tensor4d([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1e9, -1e9], [n, 1, 1, len]);
      const seedOf = rate > 0 ? 7 : null;
      const mine = (a: tf.Tensor, ...w: tf.Tensor[]) =>
        selfAttention(
          a as tf.Tensor3D,
          { wq: w[0], bq: w[1], wk: w[2], bk: w[3], wv: w[4], bv: w[5] },
          heads,
          keyMask,
          rate,
          seedOf,
        );
      const split = (t: tf.Tensor) => t.reshape([n, len, heads, dh]).transpose([0, 2, 1, 3]);
      const ref = (a: tf.Tensor, ...w: tf.Tensor[]) => {
        const [q, k, v] = [
          split(plain.dense(a, w[0], w[1])),
          split(plain.dense(a, w[2], w[3])),
          split(plain.dense(a, w[4], w[5])),
        ];
        const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), keyMask);
        const p = rate > 0 ? tf.dropout(tf.softmax(scores, -1), rate, undefined, 7) : tf.softmax(scores, -1);
        return tf.matMul(p, v).transpose([0, 2, 1, 3]).reshape([n, len, h]);
      };
      expect(compareGrads(mine, ref, [x, ...ws])).toEqual([]);
    });
  }

  it('keeps no tensor after a forward and backward pass', () => {
    const x = randn([2, 4, 8]);
    const w = [randn([8, 8]), randn([8]), randn([8, 8]), randn([8]), randn([8, 8]), randn([8])];
    const mask = tf.zeros([2, 1, 1, 4]);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.valueAndGrads((xs: tf.Tensor, ...ws: tf.Tensor[]) => {
      const a = selfAttention(
        xs as tf.Tensor3D,
        { wq: ws[0], bq: ws[1], wk: ws[2], bk: ws[3], wv: ws[4], bv: ws[5] },
        2,
        mask,
        0.2,
        3,
      );
      const f = feedForward(layerNorm(a, ws[1], ws[3], 1e-6), ws[0], ws[1], ws[2], ws[3]);
      return tf.sum(residual(xs, dropout(dense(f, ws[4], ws[5]), 0.2, 5), 0.2, 4)) as tf.Scalar;
    })([x, ...w]);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** erf in double precision: erf(z) = 2/√π·e^(−z²)·Σ 2ⁿz^(2n+1)/(1·3···(2n+1)), a series of positive terms (no cancellation). */
function erfF64(z: number): number {
  const a = Math.abs(z);
  let term = a;
  let sum = a;
  for (let n = 1; term > 1e-18 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(z) * Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum);
}
/** x·Φ(x) in double precision; the left tail from erfc by the complement of the right (same series). */
function geluErfF64(x: number): number {
  return 0.5 * x * (1 + erfF64(x / Math.SQRT2));
}

describe('custom gradients against finite differences', () => {
  it("GELU's derivative is the central difference of GELU, in double precision", () => {
    const xs = Array.from({ length: 41 }, (_, i) => -5 + i * 0.25);
    const geluF64 = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    const h = 1e-5;
    const fd = xs.map((x) => (geluF64(x + h) - geluF64(x - h)) / (2 * h));
    const mine = tf.tidy(() =>
      Array.from(
        tf
          .grad((x: tf.Tensor) => gelu(x))(tf.tensor1d(xs))
          .dataSync(),
      ),
    );
    expect(allcloseReport(mine, fd, { rtol: 1e-5, atol: 2e-6 })).toBeNull();
  });

  it("the exact GELU's value is within 2e-7·max(1, |x|) of x·Φ(x) on [-8, 8], and its derivative is the central difference", () => {
    const xs = Array.from({ length: 321 }, (_, i) => -8 + i * 0.05);
    const exact = xs.map(geluErfF64);
    const h = 1e-5;
    const fd = xs.map((x) => (geluErfF64(x + h) - geluErfF64(x - h)) / (2 * h));
    const [value, slope] = tf.tidy(() => {
      const x = tf.tensor1d(xs);
      return [
        Array.from(gelu(x, 'erf').dataSync()),
        Array.from(
          tf
            .grad((t: tf.Tensor) => gelu(t, 'erf'))(x)
            .dataSync(),
        ),
      ];
    });
    // A&S's 1.5e-7 on erf is at most 0.75e-7·|x| on GELU, plus float32's rounding of the result (6e-8·|x|)
    const maxError = Math.max(...value.map((v, i) => Math.abs(v - exact[i]) / Math.max(1, Math.abs(xs[i]))));
    console.log(`exact GELU in float32: max |error| / max(1, |x|) = ${maxError.toExponential(2)} on [-8, 8]`);
    expect(maxError).toBeLessThan(2e-7); // measured 1.55e-7 (the tanh form: 1.8e-4)
    // the left tail keeps its tiny values (no 1 + erf cancellation): GELU(-6) = -6.0e-9
    expect(Math.abs(value[xs.findIndex((x) => Math.abs(x + 6) < 1e-9)] - geluErfF64(-6))).toBeLessThan(1e-10);
    expect(allcloseReport(slope, fd, { rtol: 1e-5, atol: 2e-6 })).toBeNull();
  });

  it("LayerNorm's input gradient is the central difference along a random direction", () => {
    const [x, g, b, dir, r] = [randn([3, 12], 2), tf.add(1, randn([12], 0.3)), randn([12]), randn([3, 12]), randn([3, 12])];
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(layerNorm(t, g, b, 1e-6), r)).dataSync()[0];
    const h = 1e-2;
    const fd = (loss(tf.add(x, tf.mul(dir, h))) - loss(tf.sub(x, tf.mul(dir, h)))) / (2 * h);
    const analytic = tf.sum(tf.mul(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(layerNorm(t, g, b, 1e-6), r)))(x), dir)).dataSync()[0];
    expect(Math.abs(analytic - fd)).toBeLessThan(1e-3 * Math.max(1, Math.abs(fd)));
  });
});
