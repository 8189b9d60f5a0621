// References and test data for the fused MIPS kernel, shared by the e2e spec (Node, tfjs cpu), the
// kernel lab page and the benchmark. No webgpu here.
//   - seeded data generators, so that the page and the test process build identical vectors;
//   - the plain-tf reference: tf.matMul for the scores, then an explicit stable top-k (higher score
//     first, ties to the lower row), so that tie-breaking never depends on tf.topk's sort;
//   - a plain TypeScript loop (a benchmark peer) and recall@k.
import * as tf from '@tensorflow/tfjs';

/** Deterministic PRNG (mulberry32): the same seed gives the same stream in Node and in the page. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * Kinds of data:
 *  - 'grid': multiples of 1/8 in [-2, 2]. Every dot product (d <= 256) is exact in f32 whatever the
 *    summation order, so kernel and reference agree bit for bit and exact ties are common.
 *  - 'ties': integers in {-1, 0, 1}: many rows share a score; tests tie-breaking by the lower row.
 *  - 'same': every value 1: all rows tie for every query.
 *  - 'gauss': standard normal floats.
 *  - 'clustered': looks like trained embeddings: 32 cluster centres, anisotropic per-dimension
 *    scales (a few dimensions much larger), a shared offset, and noise.
 */
type DataKind = 'grid' | 'ties' | 'same' | 'gauss' | 'clustered';

export interface DataSpec {
  kind: DataKind;
  /** Rows. */
  n: number;
  /** Width. */
  d: number;
  seed: number;
}

export function makeVectors(spec: DataSpec): Float32Array {
  const { kind, n, d, seed } = spec;
  const rand = seededRandom(seed);
  const out = new Float32Array(n * d);
  if (kind === 'grid') {
    for (let i = 0; i < out.length; i++) out[i] = (Math.floor(rand() * 33) - 16) / 8;
  } else if (kind === 'ties') {
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * 3) - 1;
  } else if (kind === 'same') {
    out.fill(1);
  } else if (kind === 'gauss') {
    for (let i = 0; i < out.length; i++) out[i] = gaussian(rand);
  } else {
    // The structure (centres, scales, offset) comes from a fixed seed, so queries and documents
    // built with different seeds live in the same "embedding space".
    const shape = seededRandom(12345);
    const scales = Float32Array.from({ length: d }, (_, j) => (j % 17 === 0 ? 4 : 0.3 + shape() * 1.2));
    const offset = Float32Array.from({ length: d }, () => gaussian(shape) * 0.5);
    const centres = Float32Array.from({ length: 32 * d }, () => gaussian(shape));
    for (let r = 0; r < n; r++) {
      const c = Math.floor(rand() * 32);
      for (let j = 0; j < d; j++) {
        out[r * d + j] = scales[j] * (centres[c * d + j] + 0.6 * gaussian(rand)) + offset[j];
      }
    }
  }
  return out;
}

/** Sum of all values: a cheap check that two sides built the same data. */
export function checksum(values: Float32Array): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * ((i % 7) + 1);
  return s;
}

export interface TopK {
  /** [B][k] scores, descending. */
  scores: number[][];
  /** [B][k] rows; ties broken by the lower row. */
  indices: number[][];
}

/** Stable top-k of each row of a [B, N] score matrix; `excludeRows[b]` (>= 0) is skipped. */
export function topKRows(scores: Float32Array, b: number, n: number, k: number, excludeRows?: readonly number[]): TopK {
  const out: TopK = { scores: [], indices: [] };
  for (let q = 0; q < b; q++) {
    const row = scores.subarray(q * n, (q + 1) * n);
    const order: number[] = [];
    for (let i = 0; i < n; i++) if (i !== excludeRows?.[q]) order.push(i);
    order.sort((x, y) => row[y] - row[x] || x - y);
    const top = order.slice(0, k);
    out.indices.push(top);
    out.scores.push(top.map((i) => row[i]));
  }
  return out;
}

/** The plain-tf reference: scores with tf.matMul on the current backend (cpu in tests), stable top-k. */
export function tfReference(
  queries: Float32Array,
  vectors: Float32Array,
  b: number,
  n: number,
  d: number,
  k: number,
  excludeRows?: readonly number[],
): TopK {
  const scores = tf.tidy(() => {
    const s = tf.matMul(tf.tensor2d(queries, [b, d]), tf.tensor2d(vectors, [n, d]), false, true); // [B, N]
    return s.dataSync() as Float32Array;
  });
  return topKRows(scores, b, n, k, excludeRows);
}

/** A plain TypeScript loop with a running top-k per query (benchmark peer; no tfjs). */
export function loopSearch(queries: Float32Array, vectors: Float32Array, b: number, n: number, d: number, k: number): TopK {
  const out: TopK = { scores: [], indices: [] };
  const s = new Float64Array(k);
  const ix = new Int32Array(k);
  for (let q = 0; q < b; q++) {
    s.fill(-Infinity);
    ix.fill(-1);
    const qo = q * d;
    for (let r = 0; r < n; r++) {
      const ro = r * d;
      let acc = 0;
      for (let j = 0; j < d; j++) acc += queries[qo + j] * vectors[ro + j];
      if (acc > s[k - 1]) {
        let m = k - 1;
        while (m > 0 && acc > s[m - 1]) {
          s[m] = s[m - 1];
          ix[m] = ix[m - 1];
          m--;
        }
        s[m] = acc;
        ix[m] = r;
      }
    }
    out.scores.push(Array.from(s));
    out.indices.push(Array.from(ix));
  }
  return out;
}

/** Mean over queries of |found ∩ exact| / k. */
export function recallAtK(found: number[][], exact: number[][], k: number): number {
  let hit = 0;
  for (let q = 0; q < exact.length; q++) {
    const truth = new Set(exact[q].slice(0, k));
    hit += found[q].slice(0, k).filter((i) => truth.has(i)).length;
  }
  return hit / (exact.length * k);
}
