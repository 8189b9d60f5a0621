// The embedding map: a 2-D PCA projection of the document index Embed_doc(z), recomputed at every
// index refresh, so a viewer can watch the retriever reorganise the space. The axes are found in tfjs.
//
// How the two principal axes are found (no eigendecomposition op in tfjs):
//   1. centre the rows:            Xc = X - mean(X)                          [n, d]
//   2. covariance:                 C  = Xc^T Xc / (n - 1)                    [d, d] (one matMul)
//   3. orthogonal iteration:       V <- orthonormalise(C V), V = [v1 v2]     [d, 2]
//      Gram-Schmidt keeps v1 a plain power iteration (it converges to the top eigenvector at the
//      rate λ2/λ1 per iteration) and keeps v2 orthogonal to it, which deflates the first axis away:
//      v2 converges to the second eigenvector at the rate λ3/λ2. λ_i = v_i^T C v_i.
//   4. projection:                 P = Xc [v1 v2]                            [n, 2]
// The eigenvalues λ1 >= λ2 are the variances along the axes; λ / trace(C) is the share of the
// variance each explains. An eigenvector's sign is arbitrary: `alignSigns` flips the new axes to
// agree with the previous map's, so the picture does not mirror itself from one refresh to the next.
//
// Reads are asynchronous (`data()`: a synchronous read on WebGPU can lose the device on SwiftShader),
// and few: each read waits for the GPU queue, where the trainer's steps are too, so the iterations run
// on the device in rounds of `checkEvery` and each round is one packed read (axes, their movement,
// eigenvalues, mean and trace). A map usually takes one or two reads.
import * as tf from '@tensorflow/tfjs';
import type { RealmModel } from './realm-model';
import { cutQuery } from './realm-step';
import { type RealmQuery } from '../corpus/data';

export class EmbeddingMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingMapError';
  }
}

interface PcaOptions {
  /** Most iterations in all. */
  maxIterations?: number;
  /** Stop when 1 - |v_new . v_old| falls below this for both axes (float32: 1e-7 is about the floor). */
  tolerance?: number;
  /** Iterations run on the device between two convergence checks (each check is one read). */
  checkEvery?: number;
}

export interface Pca2 {
  dim: number;
  /** Mean of the fitted rows, [d]. */
  mean: Float32Array;
  /** The two principal axes, unit length and orthogonal, [2][d]. */
  axes: [Float32Array, Float32Array];
  /** Variance along each axis (the covariance's top eigenvalues), descending. */
  variances: [number, number];
  /** Sum of the variances of all d dimensions (trace of the covariance). */
  totalVariance: number;
  /** Iterations run, and reads (rounds) taken. */
  iterations: number;
  reads: number;
}

/** A deterministic, non-degenerate start vector (not orthogonal to any fixed axis in practice). */
function startVector(d: number, salt: number): Float32Array {
  const v = new Float32Array(d);
  for (let i = 0; i < d; i++) v[i] = Math.sin((i + 1) * 12.9898 + salt * 78.233) * 0.5 + 1.0 / (i + 2);
  return v;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Unit vector along `v` minus its component along the unit vector `u` (when given); null if nothing is left. */
function orthoUnit(v: Float32Array, u?: Float32Array): Float32Array | null {
  const w = Float32Array.from(v);
  if (u) {
    const c = dot(w, u);
    for (let i = 0; i < w.length; i++) w[i] -= c * u[i];
  }
  const len = Math.sqrt(dot(w, w));
  return len > 1e-6 ? w.map((x) => x / len) : null;
}

/** Gram-Schmidt on the two columns of w [d, 2]: [u1, u2] orthonormal, u1 along w's first column. */
function orthonormalise(w: tf.Tensor2D): tf.Tensor2D {
  const [a, b] = tf.split(w, 2, 1); // [d, 1] each
  const u1 = tf.div(a, tf.maximum(tf.norm(a), 1e-30));
  const r = tf.sub(b, tf.mul(u1, tf.sum(tf.mul(u1, b))));
  const u2 = tf.div(r, tf.maximum(tf.norm(r), 1e-30));
  return tf.concat([u1, u2], 1) as tf.Tensor2D; // [d, 2]
}

/**
 * Fits the first two principal axes of the rows of `x` [n, d] (n >= 2, d >= 2). Does not dispose `x`.
 */
export async function fitPca2(x: tf.Tensor2D, options: PcaOptions = {}): Promise<Pca2> {
  const opts: Required<PcaOptions> = { maxIterations: 1000, tolerance: 1e-7, checkEvery: 100, ...options };
  const [n, d] = x.shape;
  if (n < 2)
    throw new EmbeddingMapError(
      `The embedding map needs at least 2 passages in the index (it has ${n}); import a larger corpus.`,
    );
  if (d < 2)
    throw new EmbeddingMapError(
      `The embedding map needs vectors of at least 2 dimensions (they have ${d}); use a larger retrieverDim.`,
    );
  const [mean, cov, trace] = tf.tidy(() => {
    const m = tf.mean(x, 0); // [d]
    const xc = tf.sub(x, m); // [n, d]
    const c = tf.div(tf.matMul(xc, xc, true, false), n - 1) as tf.Tensor2D; // [d, d]
    const t = tf.div(tf.sum(tf.square(xc)), n - 1); // trace(C), a scalar
    return [m, c, t];
  });
  const start = new Float32Array(2 * d); // [d, 2] row-major
  const s1 = startVector(d, 1);
  const s2 = startVector(d, 2);
  for (let i = 0; i < d; i++) [start[2 * i], start[2 * i + 1]] = [s1[i], s2[i]];
  let v = tf.tidy(() => orthonormalise(tf.tensor2d(start, [d, 2])));
  let iterations = 0;
  let reads = 0;
  let meanValues = new Float32Array(d);
  let totalVariance = 0;
  try {
    for (;;) {
      const before = v;
      const steps = Math.max(1, Math.min(opts.checkEvery, opts.maxIterations - iterations));
      v = tf.tidy(() => {
        let w = before;
        for (let i = 0; i < steps; i++) w = orthonormalise(tf.matMul(cov, w)); // [d, 2]
        return w;
      });
      iterations += steps;
      // One read: axes [2d], |movement| [2], eigenvalues [2], then (first round) mean [d] and trace.
      const packed = tf.tidy(() => {
        const moved = tf.abs(tf.sum(tf.mul(v, before), 0)); // [2]
        const lambda = tf.sum(tf.mul(v, tf.matMul(cov, v)), 0); // [2]: v_i^T C v_i
        const parts = [tf.reshape(tf.transpose(v), [-1]), moved, lambda];
        if (reads === 0) parts.push(mean, tf.reshape(trace, [1]));
        return tf.concat(parts);
      });
      before.dispose();
      let out: Float32Array;
      try {
        out = (await packed.data()) as Float32Array;
      } finally {
        packed.dispose();
      }
      reads++;
      if (reads === 1) {
        meanValues = Float32Array.from(out.subarray(2 * d + 4, 3 * d + 4));
        totalVariance = Math.max(0, out[3 * d + 4]);
      }
      const converged = 1 - out[2 * d] < opts.tolerance && 1 - out[2 * d + 1] < opts.tolerance;
      const zero = !(totalVariance > 1e-12);
      if (!(converged || zero || iterations >= opts.maxIterations)) continue;
      let lambda: [number, number] = [Math.max(0, out[2 * d + 2]), Math.max(0, out[2 * d + 3])];
      // Degenerate directions (no variance left) get any unit vector orthogonal to the first axis.
      const a1 = orthoUnit(out.subarray(0, d)) ?? orthoUnit(s1)!;
      let a2 = orthoUnit(out.subarray(d, 2 * d), a1) ?? orthoUnit(s2, a1)!;
      let axes: [Float32Array, Float32Array] = [a1, a2];
      if (zero) lambda = [0, 0];
      if (lambda[1] > lambda[0]) {
        // Not converged between two near-equal eigenvalues: keep them in descending order.
        a2 = axes[0];
        axes = [axes[1], a2];
        lambda = [lambda[1], lambda[0]];
      }
      return { dim: d, mean: meanValues, axes, variances: lambda, totalVariance: zero ? 0 : totalVariance, iterations, reads };
    }
  } finally {
    tf.dispose([v, mean, cov, trace]);
  }
}

/** Projects rows `vectors` ([n, d] row-major) onto the two axes: interleaved x, y [2n]. Plain JS. */
function projectRows(pca: Pca2, vectors: Float32Array, n: number): Float32Array {
  const d = pca.dim;
  if (vectors.length !== n * d)
    throw new EmbeddingMapError(`Cannot project ${vectors.length} numbers as ${n} vectors of ${d} dimensions; refit the map.`);
  const out = new Float32Array(2 * n);
  const [a1, a2] = pca.axes;
  // Project the mean once: (x - m) . a = x . a - m . a.
  const m1 = dot(pca.mean, a1);
  const m2 = dot(pca.mean, a2);
  for (let r = 0; r < n; r++) {
    let p = 0;
    let q = 0;
    const off = r * d;
    for (let j = 0; j < d; j++) {
      const v = vectors[off + j];
      p += v * a1[j];
      q += v * a2[j];
    }
    out[2 * r] = p - m1;
    out[2 * r + 1] = q - m2;
  }
  return out;
}

/** Flips each axis of `next` whose direction disagrees with the same axis of `prev` (same dim only). */
export function alignSigns(next: Pca2, prev: Pca2 | null): Pca2 {
  if (!prev || prev.dim !== next.dim) return next;
  const axes = next.axes.map((a, i) => {
    const dot = a.reduce((acc, x, j) => acc + x * prev.axes[i][j], 0);
    return dot < 0 ? a.map((x) => -x) : a;
  }) as [Float32Array, Float32Array];
  return { ...next, axes };
}

/** Share of the total variance each axis explains. */
export function explainedRatio(pca: Pca2): [number, number] {
  const t = pca.totalVariance > 0 ? pca.totalVariance : 1;
  return [pca.variances[0] / t, pca.variances[1] / t];
}

export interface EmbeddingMap {
  version: number;
  pca: Pca2;
  /** Projected rows, interleaved x, y: [2n]. */
  points: Float32Array;
}

/**
 * Fits the map on an index's vectors ([count, dim] row-major) and projects them; signs aligned with
 * `prev` when given.
 */
export async function buildEmbeddingMap(
  version: number,
  vectors: Float32Array,
  count: number,
  dim: number,
  prev: EmbeddingMap | null = null,
  options: PcaOptions = {},
): Promise<EmbeddingMap> {
  if (vectors.length !== count * dim)
    throw new EmbeddingMapError(
      `The index v${version} holds ${vectors.length} numbers, not ${count} x ${dim}; rebuild the index.`,
    );
  const x = tf.tensor2d(vectors, [count, dim]); // [n, d]
  let pca: Pca2;
  try {
    pca = alignSigns(await fitPca2(x, options), prev?.pca ?? null);
  } finally {
    x.dispose();
  }
  return { version, pca, points: projectRows(pca, vectors, count) };
}

/** Projects one vector [d] with the map's axes (e.g. the pinned query's Embed_input(x)). */
export function projectVector(pca: Pca2, v: ArrayLike<number>): [number, number] {
  let a = 0;
  let b = 0;
  for (let j = 0; j < pca.dim; j++) {
    const c = v[j] - pca.mean[j];
    a += c * pca.axes[0][j];
    b += c * pca.axes[1][j];
  }
  return [a, b];
}

/**
 * Embed_input(x) [d] of one masked query under the model's current θ, read asynchronously: the point
 * the map places among the documents (f(x, z) is its inner product with each of them).
 */
export async function queryEmbedding(model: RealmModel, query: RealmQuery): Promise<Float32Array> {
  const maxLen = model.config.maxQueryLength;
  const emb = model.embedInput.embedRows([cutQuery(query.inputIds, maxLen)], maxLen); // [1, d]
  try {
    return Float32Array.from(await emb.data());
  } finally {
    emb.dispose();
  }
}
