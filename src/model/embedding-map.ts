// The embedding map: a 2-D PCA projection of the document index Embed_doc(z), recomputed at every
// index refresh, so a viewer can watch the retriever reorganise the space. Pure tfjs.
//
// How the two principal axes are found (no eigendecomposition op in tfjs):
//   1. centre the rows:            Xc = X - mean(X)                          [n, d]
//   2. covariance:                 C  = Xc^T Xc / (n - 1)                    [d, d] (one matMul)
//   3. power iteration:            v <- C v / |C v|, repeated until v stops moving; λ = v^T C v
//      converges to the top eigenvector at the rate λ2/λ1 per iteration;
//   4. deflation:                  C' = C - λ1 v1 v1^T removes the first axis, and step 3 on C'
//      gives the second axis v2 (C' has v1 as an eigenvector of eigenvalue 0).
//   5. projection:                 P = Xc [v1 v2]                            [n, 2]
// The eigenvalues λ1 >= λ2 are the variances along the axes; λ / trace(C) is the share of the
// variance each explains. An eigenvector's sign is arbitrary: `alignSigns` flips the new axes to
// agree with the previous map's, so the picture does not mirror itself from one refresh to the next.
// Reads are asynchronous (`data()`): a synchronous read on WebGPU can lose the device on SwiftShader.
import * as tf from '@tensorflow/tfjs';

export class EmbeddingMapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EmbeddingMapError';
  }
}

export interface PcaOptions {
  /** Most power iterations per axis. */
  maxIterations?: number;
  /** Stop when 1 - |v_new . v_old| falls below this (float32: 1e-7 is about as close as it gets). */
  tolerance?: number;
  /** Iterations run on the device between two convergence checks (each check is one read). */
  checkEvery?: number;
}

export interface Pca2 {
  dim: number;
  /** Mean of the fitted rows, [d]. */
  mean: Float32Array;
  /** The two principal axes, unit length, [2][d]. */
  axes: [Float32Array, Float32Array];
  /** Variance along each axis (the covariance's top eigenvalues), descending. */
  variances: [number, number];
  /** Sum of the variances of all d dimensions (trace of the covariance). */
  totalVariance: number;
  /** Power iterations each axis took. */
  iterations: [number, number];
}

/** Reads a scalar tensor asynchronously and disposes it. */
async function readScalar(t: tf.Tensor): Promise<number> {
  try {
    return (await t.data())[0];
  } finally {
    t.dispose();
  }
}

/** A deterministic, non-degenerate start vector (not orthogonal to any fixed axis in practice). */
function startVector(d: number, salt: number): Float32Array {
  const v = new Float32Array(d);
  for (let i = 0; i < d; i++) v[i] = Math.sin((i + 1) * 12.9898 + salt * 78.233) * 0.5 + 1.0 / (i + 2);
  return v;
}

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((acc, x) => acc + x * x, 0));
}

/** Unit vector along coordinate `i` of R^d. */
function basisVector(d: number, i: number): Float32Array {
  const v = new Float32Array(d);
  v[i] = 1;
  return v;
}

/**
 * Top eigenvector of a symmetric PSD matrix c [d, d] by power iteration; returns it and its iterations.
 * With `orthogonalTo` (a unit vector [d]), every iterate is kept orthogonal to it (Gram-Schmidt), so
 * rounding in a deflated matrix cannot pull the search back towards the axis already found.
 */
async function powerIteration(
  c: tf.Tensor2D,
  start: Float32Array,
  opts: Required<PcaOptions>,
  orthogonalTo?: Float32Array,
): Promise<{ v: Float32Array; iterations: number }> {
  const d = c.shape[0];
  const u = orthogonalTo ? tf.tensor2d(orthogonalTo, [d, 1]) : null; // [d, 1]
  const step = (w: tf.Tensor2D): tf.Tensor2D => {
    let cw = tf.matMul(c, w); // [d, 1]
    if (u) cw = tf.sub(cw, tf.mul(u, tf.sum(tf.mul(u, cw)))); // [d, 1], minus its component along u
    // A zero matrix keeps a zero vector (callers handle zero variance before iterating).
    return tf.div(cw, tf.maximum(tf.norm(cw), 1e-30)); // [d, 1]
  };
  let v = tf.tidy(() => {
    const s = tf.tensor2d(start, [d, 1]); // [d, 1]
    return tf.div(s, tf.norm(s)) as tf.Tensor2D;
  });
  let iterations = 0;
  try {
    while (iterations < opts.maxIterations) {
      const before = v;
      const steps = Math.min(opts.checkEvery, opts.maxIterations - iterations);
      v = tf.tidy(() => {
        let w = step(before);
        for (let i = 1; i < steps; i++) w = step(w);
        return w;
      });
      iterations += steps;
      const overlap = await readScalar(tf.tidy(() => tf.abs(tf.sum(tf.mul(v, before)))));
      before.dispose();
      if (1 - overlap < opts.tolerance) break;
      if (overlap === 0) break; // the iterate vanished: c is zero on the space searched
    }
    const out = Float32Array.from(await v.data());
    if (norm(out) > 0.5) return { v: out, iterations };
    // Nothing varies in the space searched: any unit vector there is an axis of zero variance.
    const fallback = Float32Array.from(start);
    if (orthogonalTo) {
      const dot = fallback.reduce((acc, s, i) => acc + s * orthogonalTo[i], 0);
      for (let i = 0; i < d; i++) fallback[i] -= dot * orthogonalTo[i];
    }
    const len = norm(fallback);
    return { v: fallback.map((x) => x / len), iterations };
  } finally {
    v.dispose();
    u?.dispose();
  }
}

/** v^T c v for a unit vector v [d]: the variance of the rows along v. */
function rayleigh(c: tf.Tensor2D, v: Float32Array): Promise<number> {
  return readScalar(
    tf.tidy(() => {
      const t = tf.tensor2d(v, [v.length, 1]); // [d, 1]
      return tf.sum(tf.mul(t, tf.matMul(c, t)));
    }),
  );
}

/**
 * Fits the first two principal axes of the rows of `x` [n, d] (n >= 2, d >= 2). Does not dispose `x`.
 */
export async function fitPca2(x: tf.Tensor2D, options: PcaOptions = {}): Promise<Pca2> {
  const opts: Required<PcaOptions> = { maxIterations: 1000, tolerance: 1e-7, checkEvery: 25, ...options };
  const [n, d] = x.shape;
  if (n < 2) throw new EmbeddingMapError(`The embedding map needs at least 2 passages in the index (it has ${n}); import a larger corpus.`);
  if (d < 2) throw new EmbeddingMapError(`The embedding map needs vectors of at least 2 dimensions (they have ${d}); use a larger retrieverDim.`);
  const mean = tf.mean(x, 0) as tf.Tensor1D; // [d]
  const cov = tf.tidy(() => {
    const xc = tf.sub(x, mean); // [n, d]
    return tf.div(tf.matMul(xc, xc, true, false), n - 1) as tf.Tensor2D; // [d, d]
  });
  let deflated: tf.Tensor2D | null = null;
  try {
    const meanValues = Float32Array.from(await mean.data());
    const trace = await readScalar(tf.tidy(() => tf.sum(tf.mul(cov, tf.eye(d))))); // sum of variances
    if (!(trace > 1e-12)) {
      // Every row is the same point: any axes will do, and nothing varies along them.
      return { dim: d, mean: meanValues, axes: [basisVector(d, 0), basisVector(d, 1)], variances: [0, 0], totalVariance: 0, iterations: [0, 0] };
    }
    const first = await powerIteration(cov, startVector(d, 1), opts);
    const lambda1 = await rayleigh(cov, first.v);
    deflated = tf.tidy(() => {
      const v1 = tf.tensor2d(first.v, [d, 1]); // [d, 1]
      return tf.sub(cov, tf.mul(lambda1, tf.matMul(v1, v1, false, true))) as tf.Tensor2D; // [d, d]
    });
    const second = await powerIteration(deflated, startVector(d, 2), opts, first.v);
    const lambda2 = await rayleigh(cov, second.v);
    return {
      dim: d,
      mean: meanValues,
      axes: [first.v, second.v],
      variances: [Math.max(0, lambda1), Math.max(0, lambda2)],
      totalVariance: Math.max(0, trace),
      iterations: [first.iterations, second.iterations],
    };
  } finally {
    tf.dispose([mean, cov]);
    deflated?.dispose();
  }
}

/** Projects rows `x` [n, d] onto the two axes: returns [n, 2] (a tensor; the caller disposes it). */
export function projectPca2(pca: Pca2, x: tf.Tensor2D): tf.Tensor2D {
  if (x.shape[1] !== pca.dim) throw new EmbeddingMapError(`Cannot project ${x.shape[1]}-dimensional vectors with a map fitted on ${pca.dim} dimensions; refit the map.`);
  return tf.tidy(() => {
    const axes = tf.tensor2d([...pca.axes[0], ...pca.axes[1]], [2, pca.dim]); // [2, d]
    return tf.matMul(tf.sub(x, tf.tensor1d(pca.mean)), axes, false, true) as tf.Tensor2D; // [n, 2]
  });
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
export async function buildEmbeddingMap(version: number, vectors: Float32Array, count: number, dim: number, prev: EmbeddingMap | null = null, options: PcaOptions = {}): Promise<EmbeddingMap> {
  if (vectors.length !== count * dim) throw new EmbeddingMapError(`The index v${version} holds ${vectors.length} numbers, not ${count} x ${dim}; rebuild the index.`);
  const x = tf.tensor2d(vectors, [count, dim]); // [n, d]
  try {
    const pca = alignSigns(await fitPca2(x, options), prev?.pca ?? null);
    const projected = projectPca2(pca, x); // [n, 2]
    try {
      return { version, pca, points: Float32Array.from(await projected.data()) };
    } finally {
      projected.dispose();
    }
  } finally {
    x.dispose();
  }
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
