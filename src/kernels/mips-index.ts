// The fused WGSL inner-product top-k behind the `MipsIndex` interface, and the factory that the
// trainer and the UI call: the kernel on webgpu, the dense matMul + topk reference elsewhere.
//
// One search, per shard of the index (a shard fits one storage-buffer binding):
//   scan   (mips-topk.wgsl or mips-topk-int8.wgsl)  every row read once -> numLists sorted lists
//   merge  (mips-merge.wgsl)                         lists folded `group` at a time until one is left
//   rerank (mips-rerank.wgsl, int8 only)             R candidates re-scored in f32 -> best k
// then the shards' lists are merged the same way and unpacked into scores [B, k] and indices [B, k].
import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend, WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { checkSearch, DenseMipsIndex, excludedRows, MipsError, type MipsIndex, type MipsSearchResult } from '../model/mips';
import {
  MAX_DIM,
  MAX_RERANK,
  MergeProgram,
  RerankF32Program,
  RerankInt8Program,
  ScanF32Program,
  ScanInt8Program,
  UnpackProgram,
  WORKGROUP,
} from './programs';

type MipsQuantization = 'f32' | 'int8';

export interface WgslMipsOptions {
  /** 'f32' (exact) or 'int8' (a quarter of the memory and bytes read; candidates re-ranked in f32). */
  quantize?: MipsQuantization;
  /** Rows per shard; defaults to what one storage-buffer binding holds. Tests set it small. */
  maxShardRows?: number;
  /** int8 only: which dot product the scan uses ('auto': dot4I8Packed where the adapter has it). */
  dot4?: 'auto' | 'builtin' | 'unpacked';
  /** int8 only: candidates re-ranked per query (default max(4k, k + 32), at most 256). */
  rerankCandidates?: number;
  /**
   * int8 only: what the re-rank scores the candidates against. 'f32' (default): the f32 rows, kept in
   * GPU memory but read only for R rows per query (exact scores). 'int8': the dequantised rows, no f32
   * copy, so GPU memory really is a quarter (scores carry the quantisation error).
   */
  rerank?: 'f32' | 'int8';
  /** Bytes the scan's partial lists may take (default 32 MiB). */
  partialBudgetBytes?: number;
}

/** Thrown when the kernel cannot run here (not webgpu, d too large, ...). */
export class MipsKernelError extends MipsError {
  constructor(message: string) {
    super(message);
    this.name = 'MipsKernelError';
  }
}

const MERGE_GROUP = 16;
const MIN_ROWS_PER_LIST = 32;

/** d rounded up: to 4 for the f32 kernel (vec4 loads), to 16 for int8 (4 u32 of 4 codes). */
export function paddedDim(dim: number, quantize: MipsQuantization): number {
  const m = quantize === 'int8' ? 16 : 4;
  return Math.ceil(dim / m) * m;
}

/**
 * Blocked f32 layout [dPad/4, n, 4]: vec4 c of row r at (c * n + r) * 4, so that neighbouring threads
 * (rows) of the scan read neighbouring addresses. Rows [from, from + n) of `vectors` ([N, dim]).
 */
export function blockF32(vectors: Float32Array, dim: number, from: number, n: number): Float32Array {
  const dPad = paddedDim(dim, 'f32');
  const out = new Float32Array(dPad * n);
  for (let r = 0; r < n; r++) {
    const src = (from + r) * dim;
    for (let j = 0; j < dim; j++) {
      const c = j >> 2;
      out[(c * n + r) * 4 + (j & 3)] = vectors[src + j];
    }
  }
  return out;
}

/**
 * A shared per-dimension normalisation applied before the per-row int8 quantisation:
 * y = (x - mean) / spread. Subtracting the mean changes every score of a query by the same q . mean
 * (the ranking is unchanged, and the kernel adds it back); dividing by the spread (the RMS around the
 * mean) keeps a few large dimensions from eating all 8 bits of every row. The query is multiplied by
 * the spread, so q . x = (q * spread) . y + q . mean.
 */
export function dimensionStats(vectors: Float32Array, n: number, dim: number): { mean: Float32Array; spread: Float32Array } {
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let j = 0; j < dim; j++) mean[j] += vectors[r * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= Math.max(n, 1);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) {
      const v = vectors[r * dim + j] - mean[j];
      sq[j] += v * v;
    }
  }
  const spread = Float32Array.from(sq, (v) => Math.sqrt(v / Math.max(n, 1)) || 1);
  return { mean: Float32Array.from(mean), spread };
}

/**
 * Per-row symmetric int8 of y = (x - mean) / spread: scale = max|y| / 127, code = round(y / scale) in
 * [-127, 127], 4 codes per u32 (first in the low byte), blocked [dPad/16, n, 4 words] like blockF32.
 */
export function quantizeInt8(
  vectors: Float32Array,
  dim: number,
  from: number,
  n: number,
  stats?: { mean: Float32Array; spread: Float32Array },
): { codes: Int32Array; scales: Float32Array } {
  const dPad = paddedDim(dim, 'int8');
  const codes = new Int32Array((dPad / 4) * n);
  const scales = new Float32Array(n);
  const y = new Float32Array(dim);
  for (let r = 0; r < n; r++) {
    const src = (from + r) * dim;
    let m = 0;
    for (let j = 0; j < dim; j++) {
      y[j] = stats ? (vectors[src + j] - stats.mean[j]) / stats.spread[j] : vectors[src + j];
      m = Math.max(m, Math.abs(y[j]));
    }
    const scale = m / 127;
    scales[r] = scale;
    if (scale === 0) continue;
    for (let j = 0; j < dim; j++) {
      const code = Math.max(-127, Math.min(127, Math.round(y[j] / scale)));
      const word = j >> 2; // u32 number within the row
      const at = ((word >> 2) * n + r) * 4 + (word & 3);
      codes[at] |= (code & 0xff) << ((j & 3) * 8);
    }
  }
  return { codes, scales };
}

/** Scan lists per query for a shard: about 32 rows each, within the partial-list budget. */
export function planLists(rows: number, b: number, listLength: number, budgetBytes: number): number {
  const byBudget = Math.floor(budgetBytes / (b * listLength * 8));
  return Math.max(1, Math.min(Math.ceil(rows / MIN_ROWS_PER_LIST), byBudget, 65535 * WORKGROUP));
}

/** Whether this adapter's WGSL has dot4I8Packed (the packed_4x8_integer_dot_product extension). */
export function hasBuiltinDot4(): boolean {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  return gpu?.wgslLanguageFeatures?.has('packed_4x8_integer_dot_product') ?? false;
}

interface Shard {
  rowOffset: number;
  rows: number;
  index?: tf.Tensor2D; // f32: [dPad/4, rows * 4] blocked
  codes?: tf.Tensor2D; // int8: [dPad/16, rows * 4] blocked, int32 words
  scales?: tf.Tensor1D; // int8: [rows]
  rows32?: tf.Tensor2D; // int8 with the f32 re-rank: [rows, dPad/4 * 4] row-major
}

type Uniform = { type: 'int32'; data: number[] };
const ints = (...values: number[]): Uniform[] => values.map((v) => ({ type: 'int32', data: [v] }));

function webgpuBackend(): WebGPUBackend {
  if (tf.getBackend() !== 'webgpu') {
    throw new MipsKernelError(
      `the WGSL MIPS kernel needs the webgpu backend, but the active one is ${tf.getBackend()}: ` +
        'use createMipsIndex(), which falls back to matMul + topk elsewhere',
    );
  }
  return tf.backend() as unknown as WebGPUBackend;
}

function run(program: WebGPUProgram, inputs: tf.Tensor[], dtype: 'float32' | 'int32', uniforms: Uniform[]): tf.Tensor2D {
  const info = webgpuBackend().runWebGPUProgram(program, inputs, dtype, uniforms);
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
}

/** Folds [B, numLists * k * 2] lists down to one sorted list per query, [B, k * 2]. */
function mergeLists(lists: tf.Tensor2D, b: number, k: number, numLists: number): tf.Tensor2D {
  let current = lists;
  let n = numLists;
  while (n > 1) {
    const group = n <= 64 ? n : MERGE_GROUP;
    const numOut = Math.ceil(n / group);
    current = run(new MergeProgram(b, k, numOut), [current], 'int32', ints(k, n, group, numOut)); // [B, numOut*k*2]
    n = numOut;
  }
  return current;
}

/** The fused kernel. Build it with createMipsIndex() unless you need the options directly. */
export class WgslMipsIndex implements MipsIndex {
  readonly size: number;
  readonly dim: number;
  readonly quantize: MipsQuantization;
  readonly shardRows: number;
  /** Bytes of index data the scan reads (codes + scales + stats for int8). */
  readonly gpuBytes: number;
  /** int8 with the f32 re-rank: bytes of the f32 rows kept for it (read R rows per query). */
  f32Bytes = 0;
  private readonly dPad: number;
  private readonly shards: Shard[] = [];
  private readonly rowOf: Map<string, number>;
  private readonly opts: WgslMipsOptions;
  private readonly queryScale?: tf.Tensor2D; // int8: [1, dPad] spread per dimension (1 in the padding)
  private readonly meanT?: tf.Tensor2D; // int8: [d, 1] mean per dimension
  private disposed = false;

  constructor(
    readonly version: number,
    vectors: Float32Array,
    readonly ids: readonly string[],
    dim: number,
    opts: WgslMipsOptions = {},
  ) {
    const backend = webgpuBackend();
    if (vectors.length !== ids.length * dim) {
      throw new MipsError(`vectors hold ${vectors.length} floats, expected ${ids.length} x ${dim}`);
    }
    if (dim < 1 || dim > MAX_DIM) {
      throw new MipsKernelError(`the WGSL MIPS kernel supports 1 <= d <= ${MAX_DIM}, got d = ${dim}`);
    }
    this.opts = opts;
    this.size = ids.length;
    this.dim = dim;
    this.quantize = opts.quantize ?? 'f32';
    this.dPad = paddedDim(dim, this.quantize);
    this.rowOf = new Map(ids.map((id, row) => [id, row]));
    const limit = Math.min(backend.device.limits.maxStorageBufferBindingSize, backend.device.limits.maxBufferSize);
    const bytesPerRow = this.quantize === 'int8' && opts.rerank === 'int8' ? this.dPad : this.dPad * 4;
    this.shardRows = Math.max(1, Math.min(opts.maxShardRows ?? Infinity, Math.floor(limit / bytesPerRow)));
    let bytes = 0;
    const stats = this.quantize === 'int8' ? dimensionStats(vectors, this.size, dim) : undefined;
    if (stats) {
      const spread = new Float32Array(this.dPad).fill(1);
      spread.set(stats.spread);
      this.queryScale = tf.tensor2d(spread, [1, this.dPad]);
      this.meanT = tf.tensor2d(stats.mean, [dim, 1]);
      bytes += spread.byteLength + stats.mean.byteLength;
    }
    for (let from = 0; from < this.size; from += this.shardRows) {
      const rows = Math.min(this.shardRows, this.size - from);
      if (this.quantize === 'int8') {
        const { codes, scales } = quantizeInt8(vectors, dim, from, rows, stats);
        const shard: Shard = {
          rowOffset: from,
          rows,
          codes: tf.tensor2d(codes, [this.dPad / 16, rows * 4], 'int32'),
          scales: tf.tensor1d(scales, 'float32'),
        };
        bytes += codes.byteLength + scales.byteLength;
        if (opts.rerank !== 'int8') {
          const rows32 = new Float32Array(rows * this.dPad);
          for (let r = 0; r < rows; r++) rows32.set(vectors.subarray((from + r) * dim, (from + r + 1) * dim), r * this.dPad);
          shard.rows32 = tf.tensor2d(rows32, [rows, this.dPad]);
          this.f32Bytes += rows32.byteLength;
        }
        this.shards.push(shard);
      } else {
        const blocked = blockF32(vectors, dim, from, rows);
        this.shards.push({ rowOffset: from, rows, index: tf.tensor2d(blocked, [this.dPad / 4, rows * 4]) });
        bytes += blocked.byteLength;
      }
    }
    this.gpuBytes = bytes;
  }

  get numShards(): number {
    return this.shards.length;
  }

  search(queries: tf.Tensor2D, k: number, excludeIds?: readonly (string | null)[]): MipsSearchResult {
    if (this.disposed) throw new MipsKernelError(`index version ${this.version} was disposed; search the new one`);
    checkSearch(this, queries, k, excludeIds);
    const b = queries.shape[0];
    const rows = excludedRows(this.rowOf, b, excludeIds);
    return tf.tidy(() => {
      const padded =
        this.dPad === this.dim
          ? queries
          : (tf.pad(queries, [
              [0, 0],
              [0, this.dPad - this.dim],
            ]) as tf.Tensor2D); // [B, dPad]
      const q32: tf.Tensor2D = padded.dtype === 'float32' ? padded : padded.cast('float32');
      const q = this.queryScale ? (tf.mul(q32, this.queryScale) as tf.Tensor2D) : q32; // [B, dPad]
      const excluded = tf.tensor1d(rows, 'int32'); // [B]
      const perShard = this.shards.map((shard) =>
        this.quantize === 'int8' ? this.searchInt8(shard, q, q32, excluded, k) : this.searchF32(shard, q, excluded, k),
      ); // each [B, k*2]
      const joined = perShard.length === 1 ? perShard[0] : (tf.concat(perShard, 1) as tf.Tensor2D); // [B, shards*k*2]
      const final = mergeLists(joined, b, k, perShard.length); // [B, k*2]
      let scores = run(new UnpackProgram(b, k), [final], 'float32', ints(0)); // [B, k]
      if (this.meanT && this.opts.rerank === 'int8') {
        const offset = tf.matMul(queries.cast('float32') as tf.Tensor2D, this.meanT); // [B, 1] q . mean
        scores = tf.add(scores, offset) as tf.Tensor2D;
      }
      const indices = run(new UnpackProgram(b, k), [final], 'int32', ints(1)); // [B, k]
      return { scores, indices };
    });
  }

  private searchF32(shard: Shard, q: tf.Tensor2D, excluded: tf.Tensor1D, k: number): tf.Tensor2D {
    const b = q.shape[0];
    const numLists = planLists(shard.rows, b, k, this.opts.partialBudgetBytes ?? 32 << 20);
    const lists = run(
      new ScanF32Program(b, k, numLists),
      [q, shard.index!, excluded],
      'int32',
      ints(shard.rows, this.dPad / 4, k, numLists, shard.rowOffset),
    ); // [B, numLists*k*2]
    return mergeLists(lists, b, k, numLists);
  }

  private searchInt8(shard: Shard, q: tf.Tensor2D, raw: tf.Tensor2D, excluded: tf.Tensor1D, k: number): tf.Tensor2D {
    const b = q.shape[0];
    const r = Math.min(MAX_RERANK, Math.max(k, this.opts.rerankCandidates ?? Math.max(4 * k, k + 32)));
    const numLists = planLists(shard.rows, b, r, this.opts.partialBudgetBytes ?? 32 << 20);
    const dot4 = this.opts.dot4 ?? 'auto';
    const builtin = dot4 === 'builtin' || (dot4 === 'auto' && hasBuiltinDot4());
    const lists = run(
      new ScanInt8Program(b, r, numLists, builtin),
      [q, shard.codes!, shard.scales!, excluded],
      'int32',
      ints(shard.rows, this.dPad / 16, r, numLists, shard.rowOffset),
    ); // [B, numLists*R*2]
    const candidates = mergeLists(lists, b, r, numLists); // [B, R*2]
    if (shard.rows32) {
      return run(
        new RerankF32Program(b, k),
        [raw, shard.rows32, candidates],
        'int32',
        ints(shard.rows, this.dPad / 16, k, r, shard.rowOffset),
      ); // [B, k*2]
    }
    return run(
      new RerankInt8Program(b, k),
      [q, shard.codes!, shard.scales!, candidates],
      'int32',
      ints(shard.rows, this.dPad / 16, k, r, shard.rowOffset),
    ); // [B, k*2]
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.queryScale?.dispose();
    this.meanT?.dispose();
    for (const s of this.shards) {
      s.index?.dispose();
      s.codes?.dispose();
      s.scales?.dispose();
      s.rows32?.dispose();
    }
  }
}

type CreateMipsOptions = WgslMipsOptions & {
  /** 'auto' (default): the kernel on webgpu, matMul + topk elsewhere. */
  implementation?: 'auto' | 'kernel' | 'dense';
};

/**
 * The `MipsIndex` the trainer and the UI should use: the fused WGSL kernel when the backend is
 * webgpu, the dense matMul + topk reference elsewhere (int8 applies to the kernel only).
 */
export function createMipsIndex(
  version: number,
  vectors: Float32Array,
  ids: readonly string[],
  dim: number,
  opts: CreateMipsOptions = {},
): MipsIndex {
  const impl = opts.implementation ?? 'auto';
  const kernel = impl === 'kernel' || (impl === 'auto' && tf.getBackend() === 'webgpu' && dim <= MAX_DIM);
  return kernel ? new WgslMipsIndex(version, vectors, ids, dim, opts) : new DenseMipsIndex(version, vectors, ids, dim);
}
