// The BERT encoder's building blocks, each one tape node with a hand-written backward pass
// (tf.customGrad). See docs/model.md, "Custom gradients".
//
// Why: tfjs's autograd records every elementary op. It keeps each op's saved inputs and outputs,
// and the gradient of every intermediate tensor, until the whole backward pass ends. A GELU of the
// tanh form is ten ops over [rows, intermediate]; attention keeps scores, probabilities, dropout
// masks and their gradients over [N, heads, L, L]. For the small preset that came to gigabytes
// per step (and wasm has 4 GiB). As single nodes, each block keeps only what its backward needs:
//   gelu          x                              (the derivative is closed-form, recomputed)
//   layerNorm     x̂ [.., H], 1/σ [.., 1], γ
//   dense         x, W
//   feedForward   x, the pre-activation h [.., I], W1, W2   (GELU(h) is recomputed)
//   selfAttention x, Q, K, V, the key mask, the dropout keep-mask as bool   (softmax recomputed)
//   residual / dropout   the dropout keep-mask as bool (1 byte a value instead of 4)
// and the intermediates of each backward are freed as soon as it returns.
//
// Every gradient here is checked against tf's own autograd of the plain formula (bert-ops.test.ts).
import * as tf from '@tensorflow/tfjs';
import type { GeluVariant } from './config';

type Backward = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

/**
 * One tape node: `forward(inputs, save)` returns the value and the backward pass, which must return
 * one gradient per input (in order). The backward runs inside tf.tidy, so its intermediates are
 * freed when it returns (tfjs would otherwise keep them to the end of the whole backward pass).
 */
function customOp(forward: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: Backward }) {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const { value, gradFunc } = forward(args.slice(0, -1) as tf.Tensor[], save);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => gradFunc(dy, saved)) };
  });
  return (...inputs: tf.Tensor[]) => op(...inputs) as tf.Tensor;
}

/** [..., n] -> [rows, n]. */
function rows(t: tf.Tensor): tf.Tensor2D {
  return t.reshape([-1, t.shape[t.rank - 1]]);
}

/** The gradient of a [n] parameter broadcast over dy [..., n]: the sum over every leading axis. */
function sumRows(dy: tf.Tensor): tf.Tensor1D {
  return tf.sum(rows(dy), 0);
}

// ---- dropout ----

/**
 * Dropout's multiplier, drawn exactly as tf.dropout draws it: floor(u + keep) / keep with
 * u ~ U[0, 1) from `seed`, so a value is kept (scaled by 1/keep) with probability keep.
 */
function dropoutMultiplier(shape: number[], rate: number, seed: number): tf.Tensor {
  const keep = 1 - rate;
  return tf.tidy(() => tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep));
}

/** The multiplier back from its bool keep-mask (the same values: 1/keep or 0). */
function multiplierOf(keepMask: tf.Tensor, rate: number): tf.Tensor {
  return tf.div(tf.cast(keepMask, 'float32'), 1 - rate);
}

/** x * mask / keep, as tf.dropout, keeping only a bool mask for the backward. `seed` null: no dropout. */
export function dropout<T extends tf.Tensor>(x: T, rate: number, seed: number | null): T {
  if (seed === null || rate <= 0) return x;
  return customOp(([xIn], save) => {
    const m = dropoutMultiplier(xIn.shape, rate, seed);
    save([tf.cast(m, 'bool')]);
    return { value: tf.mul(xIn, m), gradFunc: (dy, [keepMask]) => [tf.mul(dy, multiplierOf(keepMask, rate))] };
  })(x) as T;
}

/** x + dropout(y): the residual connection around a sub-layer. `seed` null: no dropout. */
export function residual<T extends tf.Tensor>(x: T, y: tf.Tensor, rate: number, seed: number | null): T {
  const drop = seed !== null && rate > 0;
  return customOp(([xIn, yIn], save) => {
    if (!drop) return { value: tf.add(xIn, yIn), gradFunc: (dy) => [dy.clone(), dy.clone()] };
    const m = dropoutMultiplier(yIn.shape, rate, seed);
    save([tf.cast(m, 'bool')]);
    return {
      value: tf.add(xIn, tf.mul(yIn, m)),
      gradFunc: (dy, [keepMask]) => [dy.clone(), tf.mul(dy, multiplierOf(keepMask, rate))],
    };
  })(x, y) as T;
}

// ---- GELU ----

// GELU, tanh approximation (BERT's released code): 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³).
// Since 0.5·(1 + tanh(u)) = sigmoid(2u), it is x·s with s = sigmoid(t), t = x·(K1 + K2·x²), and
//   d/dx = s + x·s·(1 − s)·(K1 + 3·K2·x²).
const K1 = 2 * Math.sqrt(2 / Math.PI);
const K2 = K1 * 0.044715;

function geluSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.sigmoid(tf.mul(x, tf.add(K1, tf.mul(K2, tf.square(x)))));
}

function geluValue(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, geluSigmoid(x)));
}

/** dy · GELU'(x). */
function geluBackward(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x2 = tf.square(x);
    const s = tf.sigmoid(tf.mul(x, tf.add(K1, tf.mul(K2, x2))));
    const slope = tf.add(K1, tf.mul(3 * K2, x2));
    // s + x·s·(1 − s)·slope = s·(1 + x·(1 − s)·slope)
    const d = tf.mul(s, tf.add(1, tf.mul(tf.mul(x, tf.sub(1, s)), slope)));
    return tf.mul(dy, d);
  });
}

// GELU, exact (BERT's paper and transformers' "gelu"): x·Φ(x), Φ the standard normal CDF,
//   Φ(x) = 0.5·(1 + erf(x/√2)),   d/dx = Φ(x) + x·φ(x),   φ(x) = exp(−x²/2)/√(2π).
// tfjs's erf is not a kernel on every backend, so erf is written here from elementary ops, with
// Abramowitz & Stegun 7.1.26: for z >= 0, erfc(z) ≈ t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·exp(−z²),
// t = 1/(1 + p·z), |error of erf| <= 1.5e-7. Measured in float32 on [−8, 8] (bert-ops.test.ts): GELU's
// |error| <= 1.55e-7·max(1, |x|) against x·Φ(x) in double precision (the tanh form: 1.8e-4, 4.7e-4 absolute). Φ is taken
// from erfc(|z|) on either side, so the left tail (x << 0, where 1 + erf would cancel) keeps its
// small values instead of rounding to 0.
const ERF_P = 0.3275911;
const ERF_A = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429];
const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Φ(x), the standard normal CDF, from the A&S erfc above (elementwise). */
function normalCdf(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const z = tf.mul(tf.abs(x), INV_SQRT2); // |x|/√2
    const t = tf.div(1, tf.add(1, tf.mul(ERF_P, z)));
    let poly: tf.Tensor = tf.scalar(ERF_A[4]);
    for (let i = 3; i >= 0; i--) poly = tf.add(ERF_A[i], tf.mul(t, poly));
    const half = tf.mul(tf.mul(0.5, tf.mul(t, poly)), tf.exp(tf.neg(tf.square(z)))); // 0.5·erfc(|x|/√2) = Φ(−|x|)
    return tf.where(tf.greaterEqual(x, 0), tf.sub(1, half), half);
  });
}

function geluErfValue(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, normalCdf(x)));
}

/** dy · (Φ(x) + x·φ(x)). */
function geluErfBackward(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(x))));
    return tf.mul(dy, tf.add(normalCdf(x), tf.mul(x, pdf)));
  });
}

const GELU: Record<GeluVariant, { value: (x: tf.Tensor) => tf.Tensor; backward: (x: tf.Tensor, dy: tf.Tensor) => tf.Tensor }> = {
  tanh: { value: geluValue, backward: geluBackward },
  erf: { value: geluErfValue, backward: geluErfBackward },
};

/** GELU: the tanh approximation (default, as in BERT's released code) or the exact erf form. */
export function gelu<T extends tf.Tensor>(x: T, variant: GeluVariant = 'tanh'): T {
  const { value, backward } = GELU[variant];
  return customOp(([xIn], save) => {
    save([xIn]);
    return { value: value(xIn), gradFunc: (dy, [xs]) => [backward(xs, dy)] };
  })(x) as T;
}

// ---- LayerNorm ----

/** LayerNorm over the last axis: γ·(x − μ)/√(σ² + ε) + β. */
export function layerNorm<T extends tf.Tensor>(x: T, gamma: tf.Tensor, beta: tf.Tensor, eps: number): T {
  return customOp(([xIn, g, b], save) => {
    const { xhat, rstd } = tf.tidy(() => {
      const { mean, variance } = tf.moments(xIn, -1, true); // [..., 1]
      const r = tf.rsqrt(tf.add(variance, eps)); // [..., 1]
      return { xhat: tf.mul(tf.sub(xIn, mean), r), rstd: r }; // [..., H]
    });
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy, [xh, r, gs]) => {
        // dx = (1/σ)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = dy·γ
        const dxhat = tf.mul(dy, gs);
        const dx = tf.mul(r, tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(xh, tf.mean(tf.mul(dxhat, xh), -1, true))));
        return [dx, sumRows(tf.mul(dy, xh)), sumRows(dy)];
      },
    };
  })(x, gamma, beta) as T;
}

// ---- dense ----

/** x [rows, in] · W [in, out] (+ b): the forward of a dense layer, with x already 2-D. */
function affine(x2: tf.Tensor2D, w: tf.Tensor, b?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x2, w as tf.Tensor2D) as tf.Tensor2D;
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

/** The input and weight gradients of y = x·W: dx = dy·Wᵀ, dW = xᵀ·dy (all 2-D). */
function affineBackward(x2: tf.Tensor2D, w: tf.Tensor, dy2: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
  return [tf.matMul(dy2, w as tf.Tensor2D, false, true), tf.matMul(x2, dy2, true, false)];
}

/** x [..., in] · W [in, out] + b -> [..., out]. */
export function dense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const outShape = [...x.shape.slice(0, -1), w.shape[1] as number];
  const inputs = b ? [x, w, b] : [x, w];
  return customOp(([xIn, wIn, bIn], save) => {
    const x2 = rows(xIn);
    save([x2, wIn]);
    return {
      value: affine(x2, wIn, bIn).reshape(outShape),
      gradFunc: (dy, [xs, ws]) => {
        const dy2 = rows(dy);
        const [dx, dw] = affineBackward(xs as tf.Tensor2D, ws, dy2);
        const grads = [dx.reshape(xIn.shape), dw];
        if (bIn) grads.push(sumRows(dy2));
        return grads;
      },
    };
  })(...inputs);
}

/** The feed-forward sub-layer: GELU(x·W1 + b1)·W2 + b2, [..., H] -> [..., H], through I = W1's width. */
export function feedForward(
  x: tf.Tensor,
  w1: tf.Tensor,
  b1: tf.Tensor,
  w2: tf.Tensor,
  b2: tf.Tensor,
  variant: GeluVariant = 'tanh',
): tf.Tensor {
  const act = GELU[variant];
  return customOp(([xIn, w1In, b1In, w2In, b2In], save) => {
    const x2 = rows(xIn); // [rows, H]
    const h = affine(x2, w1In, b1In); // [rows, I], the pre-activation
    save([x2, h, w1In, w2In]);
    return {
      value: affine(act.value(h) as tf.Tensor2D, w2In, b2In).reshape(xIn.shape),
      gradFunc: (dy, [xs, hs, w1s, w2s]) => {
        const dy2 = rows(dy); // [rows, H]
        const [dg, dw2] = affineBackward(act.value(hs) as tf.Tensor2D, w2s, dy2); // [rows, I], [I, H]
        const dh = act.backward(hs, dg) as tf.Tensor2D; // [rows, I]
        const [dx, dw1] = affineBackward(xs as tf.Tensor2D, w1s, dh); // [rows, H], [H, I]
        return [dx.reshape(xIn.shape), dw1, sumRows(dh), dw2, sumRows(dy2)];
      },
    };
  })(x, w1, b1, w2, b2);
}

// ---- self-attention ----

/** The projections of one attention sub-layer. */
export interface AttentionWeights {
  wq: tf.Tensor;
  bq: tf.Tensor;
  wk: tf.Tensor;
  bk: tf.Tensor;
  wv: tf.Tensor;
  bv: tf.Tensor;
}

/**
 * Multi-head self-attention up to (not including) the output projection:
 *   Q, K, V = x·W + b split into heads [N, heads, L, dh]
 *   P = softmax(Q·Kᵀ/√dh + keyMask), dropped out with `dropoutRate` when `seed` is not null
 *   returns P·V with the heads merged back, [N, L, H].
 * keyMask [N, 1, 1, L] is added to the scores (0 for real keys, -1e9 for padding).
 * The backward recomputes P from the saved Q and K rather than keeping it.
 */
export function selfAttention(
  x: tf.Tensor3D,
  w: AttentionWeights,
  heads: number,
  keyMask: tf.Tensor,
  dropoutRate: number,
  seed: number | null,
): tf.Tensor3D {
  const [n, len, h] = x.shape;
  const dh = h / heads;
  const scale = 1 / Math.sqrt(dh);
  const drop = seed !== null && dropoutRate > 0;
  const split = (t: tf.Tensor) => t.reshape([n, len, heads, dh]).transpose([0, 2, 1, 3]); // [N, heads, L, dh]
  const merge = (t: tf.Tensor) => t.transpose([0, 2, 1, 3]).reshape([n * len, h]); // [N·L, H]
  const probabilities = (q: tf.Tensor, k: tf.Tensor, mask: tf.Tensor) =>
    tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), mask), -1); // [N, heads, L, L]
  return customOp(([xIn, wq, bq, wk, bk, wv, bv], save) => {
    const x2 = rows(xIn); // [N·L, H]
    const q = split(affine(x2, wq, bq));
    const k = split(affine(x2, wk, bk));
    const v = split(affine(x2, wv, bv));
    let p = probabilities(q, k, keyMask);
    let keep: tf.Tensor | null = null;
    if (drop) {
      const m = dropoutMultiplier(p.shape, dropoutRate, seed);
      keep = tf.cast(m, 'bool');
      p = tf.mul(p, m);
    }
    save([x2, q, k, v, keyMask, wq, wk, wv, ...(keep ? [keep] : [])]);
    return {
      value: merge(tf.matMul(p, v)).reshape([n, len, h]),
      gradFunc: (dy, [xs, qs, ks, vs, ms, wqs, wks, wvs, keeps]) => {
        const dc = split(dy); // [N, heads, L, dh]
        const probs = probabilities(qs, ks, ms); // [N, heads, L, L]
        const mult = keeps ? multiplierOf(keeps, dropoutRate) : null;
        const dropped = mult ? tf.mul(probs, mult) : probs;
        const dv = tf.matMul(dropped, dc, true, false); // [N, heads, L, dh]
        let dp = tf.matMul(dc, vs, false, true); // [N, heads, L, L]
        if (mult) dp = tf.mul(dp, mult);
        // softmax: dS = P·(dP − Σ_j dP·P), then the 1/√dh of the scores
        const ds = tf.mul(tf.mul(probs, tf.sub(dp, tf.sum(tf.mul(dp, probs), -1, true))), scale);
        const dq = merge(tf.matMul(ds, ks)); // [N·L, H]
        const dk = merge(tf.matMul(ds, qs, true, false)); // [N·L, H]
        const dv2 = merge(dv);
        const xsd = xs as tf.Tensor2D;
        const [dxq, dwq] = affineBackward(xsd, wqs, dq as tf.Tensor2D);
        const [dxk, dwk] = affineBackward(xsd, wks, dk as tf.Tensor2D);
        const [dxv, dwv] = affineBackward(xsd, wvs, dv2 as tf.Tensor2D);
        const dx = tf.addN([dxq, dxk, dxv]).reshape(xIn.shape);
        return [dx, dwq, sumRows(dq), dwk, sumRows(dk), dwv, sumRows(dv2)];
      },
    };
  })(x, w.wq, w.bq, w.wk, w.bk, w.wv, w.bv) as tf.Tensor3D;
}
