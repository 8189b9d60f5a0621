// Maximum inner product search over the document index: top-k_z of Embed_input(x) . Embed_doc(z).
// `MipsIndex` is the interface the trainer and the UI use. `DenseMipsIndex` is the reference
// implementation (tf.matMul + tf.topk, any backend); src/kernels/ provides a fused WGSL kernel behind
// the same interface on webgpu.
import * as tf from '@tensorflow/tfjs';

export interface MipsSearchResult {
  /** [B, k] inner products, sorted descending. */
  scores: tf.Tensor2D;
  /** [B, k] int32 row numbers into the index; ties broken by the lower row. */
  indices: tf.Tensor2D;
}

export interface MipsIndex {
  /** Index version: which snapshot θ′ of Embed_doc built these vectors. */
  readonly version: number;
  /** Number of indexed documents N. */
  readonly size: number;
  /** Embedding width d. */
  readonly dim: number;
  /** Document id (SHA-1 of title + body) of each row, length N. */
  readonly ids: readonly string[];
  /**
   * Top-k rows for each query. `excludeIds[b]` (a document id, or null) is never returned for query b:
   * REALM forbids retrieving the passage a query was cut from.
   */
  search(queries: tf.Tensor2D, k: number, excludeIds?: readonly (string | null)[]): MipsSearchResult;
  dispose(): void;
}

/** Thrown for a search the index cannot answer (k larger than what is left after exclusion, ...). */
export class MipsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MipsError';
  }
}

/** Checks the arguments of a search; shared by every implementation. */
export function checkSearch(index: MipsIndex, queries: tf.Tensor2D, k: number, excludeIds?: readonly (string | null)[]) {
  if (queries.rank !== 2 || queries.shape[1] !== index.dim) {
    throw new MipsError(`queries must be [B, ${index.dim}], got [${queries.shape.join(', ')}]`);
  }
  if (!Number.isInteger(k) || k < 1) throw new MipsError(`k must be a positive integer, got ${k}`);
  const excluding = excludeIds?.some((id) => id !== null) ? 1 : 0;
  if (k > index.size - excluding) {
    throw new MipsError(
      `cannot return the top ${k} of ${index.size} documents${excluding ? ' with one excluded per query' : ''}: ` +
        `lower k to at most ${index.size - excluding} or add documents to the corpus`,
    );
  }
  if (excludeIds && excludeIds.length !== queries.shape[0]) {
    throw new MipsError(`excludeIds has ${excludeIds.length} entries for ${queries.shape[0]} queries`);
  }
}

/** Row of each excluded id, -1 where there is none (or the id is not in the index). */
export function excludedRows(rowOf: ReadonlyMap<string, number>, b: number, excludeIds?: readonly (string | null)[]) {
  const rows = new Int32Array(b).fill(-1);
  excludeIds?.forEach((id, i) => {
    if (id !== null) rows[i] = rowOf.get(id) ?? -1;
  });
  return rows;
}

/** Reference implementation: a [B, N] score matrix with tf.matMul, then tf.topk. */
export class DenseMipsIndex implements MipsIndex {
  readonly size: number;
  readonly dim: number;
  private readonly vectors: tf.Tensor2D; // [N, d]
  private readonly rowOf: Map<string, number>;

  /** `vectors` is [N, d] row-major; the index keeps its own GPU/CPU copy. */
  constructor(
    readonly version: number,
    vectors: Float32Array,
    readonly ids: readonly string[],
    dim: number,
  ) {
    if (vectors.length !== ids.length * dim) {
      throw new MipsError(`vectors hold ${vectors.length} floats, expected ${ids.length} x ${dim}`);
    }
    this.size = ids.length;
    this.dim = dim;
    this.vectors = tf.tensor2d(vectors, [this.size, dim]);
    this.rowOf = new Map(ids.map((id, row) => [id, row]));
  }

  search(queries: tf.Tensor2D, k: number, excludeIds?: readonly (string | null)[]): MipsSearchResult {
    checkSearch(this, queries, k, excludeIds);
    const b = queries.shape[0];
    const rows = excludedRows(this.rowOf, b, excludeIds);
    return tf.tidy(() => {
      let scores = tf.matMul(queries, this.vectors, false, true) as tf.Tensor2D; // [B, N]
      if (rows.some((r) => r >= 0)) {
        const mask = tf.oneHot(tf.tensor1d(rows, 'int32'), this.size).cast('bool'); // [B, N]
        scores = tf.where(mask, tf.fill(scores.shape, -Infinity), scores) as tf.Tensor2D;
      }
      const { values, indices } = tf.topk(scores, k, true);
      return { scores: values as tf.Tensor2D, indices: indices as tf.Tensor2D };
    });
  }

  dispose(): void {
    this.vectors.dispose();
  }
}
