// Kernels this app registers for tfjs's wasm backend, and a guard on the wasm heap.
//
// Why: a small-preset training step on wasm aborted ("Aborted()", or "memory access out of bounds").
// tfjs's autograd keeps every tensor a gradient needs through `clone`, which runs the Identity
// kernel. On cpu and webgpu Identity shares the input's data; on wasm it COPIES it. One ICT step of
// the small preset so copied ~2.4 GB on top of its own intermediates, the heap grew to 3.8 GiB of the
// 4 GiB a wasm32 module can address, and the next allocation failed: wasm's malloc returns 0 and
// the backend writes there anyway, or a C++ allocation aborts.
//
//   Identity     shares the input's data (incRef of its data id), as cpu's does.
//   BatchMatMul  every form through XNNPACK's GEMM. tfjs-wasm sends only an untransposed, unbatched
//                product to XNNPACK; a transposed or batched one (every backward matMul, all of
//                attention) ran a naive triple loop at 0.5-2 GFLOP/s against XNNPACK's 15-25.
//                Here transposed operands are transposed once in memory, and a batched product
//                runs one XNNPACK GEMM per batch entry on views into the operands' memory.
//   GatherV2     of rows (axis 0) copies whole rows; Sum over leading axes (a bias gradient) adds
//                whole rows instead of transposing the input first; a large 2-D Transpose goes
//                tile by tile. Every other case goes to tfjs's own kernel.
//
// `installWasmKernels` registers them (idempotent; before or after the backend starts).
// `guardWasmHeap` / `checkWasmHeap` turn a full heap into a WasmHeapExhaustedError that says
// what to do, instead of an abort that kills the module.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';

/** What this module needs of tfjs-backend-wasm's BackendWasm (its d.ts types are not exported in full). */
interface WasmModuleLike {
  HEAPU8: Uint8Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  cwrap(name: string, ret: null | string, args: string[]): (...args: unknown[]) => unknown;
  tfjs: {
    registerTensor(id: number, size: number, offset: number): void;
    disposeData(id: number): void;
  };
}
interface WasmBackendLike {
  wasm: WasmModuleLike;
  dataIdMap: {
    get(dataId: object): { id: number; memoryOffset: number } | undefined;
    set(dataId: object, value: { id: number; memoryOffset: number; shape: number[]; dtype: tf.DataType; refCount: number }): void;
    delete(dataId: object): boolean;
  };
  dataIdNextNumber: number;
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/** A wasm32 module addresses at most 4 GiB. */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;
/** Headroom below the limit: C++ allocations inside a kernel (XNNPACK's packed weights) abort when it is gone. */
const HEAP_HEADROOM = 256 * 2 ** 20;

const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(2);

/** The wasm heap is (nearly) full: the step would abort the module, so it stops here with what to do. */
export class WasmHeapExhaustedError extends Error {
  constructor(
    readonly heapBytes: number,
    where: string,
    detail = '',
    message = `The wasm backend ran out of memory ${where}: its heap is at ${gib(heapBytes)} GiB of the ` +
      `${gib(WASM_HEAP_LIMIT)} GiB a wasm module can address${detail}. Use a smaller batch (Batch size in the Run ` +
      'settings; --batch or --ict-batch in Node), a smaller preset, or a GPU with ?backend=webgpu.',
  ) {
    super(message);
    this.name = 'WasmHeapExhaustedError';
  }
}

function wasmBackend(): WasmBackendLike | null {
  if (tf.getBackend() !== 'wasm') return null;
  return tf.backend() as unknown as WasmBackendLike;
}

/** Bytes of the wasm backend's heap (it grows and never shrinks), or null when wasm is not the backend. */
export function wasmHeapBytes(): number | null {
  return wasmBackend()?.wasm.HEAPU8.buffer.byteLength ?? null;
}

/**
 * Throws WasmHeapExhaustedError when the wasm heap has grown to within 256 MiB of `limit` (4 GiB):
 * what is left may not hold the next step's allocations, and a failed one inside a kernel aborts the
 * module. `where` names the step ("after ICT step 3 of the small preset"). Does nothing off wasm.
 */
export function checkWasmHeap(where: string, limit = WASM_HEAP_LIMIT): void {
  const heap = wasmHeapBytes();
  if (heap !== null && heap > limit - HEAP_HEADROOM) throw new WasmHeapExhaustedError(heap, where);
}

/** Bytes a trained parameter needs at least: its value, its gradient and AdamW's two moments (float32). */
const TRAINING_BYTES_PER_PARAMETER = 16;

/**
 * Throws WasmHeapExhaustedError when the model cannot train on wasm at any batch size: its weights,
 * gradients and AdamW moments alone need more than the 4 GiB heap (the base preset: 262M parameters,
 * 4.2 GB). Does nothing off wasm.
 */
export function checkWasmFitsModel(parameters: number, what: string): void {
  const heap = wasmHeapBytes();
  const need = parameters * TRAINING_BYTES_PER_PARAMETER;
  if (heap === null || need <= WASM_HEAP_LIMIT - HEAP_HEADROOM) return;
  throw new WasmHeapExhaustedError(
    heap,
    what,
    '',
    `${what} cannot train on the wasm backend: its ${(parameters / 1e6).toFixed(0)}M parameters with their ` +
      `gradients and AdamW moments need ${(need / 1e9).toFixed(1)} GB before any activation, more than the ` +
      `${gib(WASM_HEAP_LIMIT)} GiB a wasm module can address, whatever the batch size. Use the small or tiny ` +
      'preset on wasm, or a GPU with ?backend=webgpu.',
  );
}

const guarded = new WeakSet<WasmModuleLike>();
let guardWhere = 'during a step';

/**
 * Makes the wasm backend's tensor allocations throw WasmHeapExhaustedError where wasm's malloc would
 * return 0 (tfjs-wasm does not check, and writes the tensor at address 0 or past the heap). `where`
 * names what is running, for the message. Returns false when wasm is not the current backend.
 */
export function guardWasmHeap(where?: string): boolean {
  if (where !== undefined) guardWhere = where;
  const backend = wasmBackend();
  if (!backend) return false;
  const wasm = backend.wasm;
  if (guarded.has(wasm)) return true;
  const malloc = wasm._malloc.bind(wasm);
  wasm._malloc = (bytes: number) => {
    // Sizes of 2 GiB and more reach wasm as negative (and 4 GiB as 0): no wasm32 heap holds them.
    const ptr = bytes < 2 ** 31 ? malloc(bytes) : 0;
    if (ptr === 0 && bytes > 0) {
      throw new WasmHeapExhaustedError(wasm.HEAPU8.buffer.byteLength, guardWhere, ` (an allocation of ${gib(bytes)} GiB failed)`);
    }
    return ptr;
  };
  guarded.add(wasm);
  return true;
}

/**
 * Runs one step under the heap guard: the heap is checked before and after, an allocation that
 * fails throws WasmHeapExhaustedError, and an abort inside a kernel ("Aborted()", "memory access out
 * of bounds") near the limit is reported as one too. Off wasm it just runs `step`.
 */
export async function guardedWasmStep<T>(where: string, step: () => Promise<T>): Promise<T> {
  if (!guardWasmHeap(`during ${where}`)) return step();
  checkWasmHeap(`before ${where}`);
  let value: T;
  try {
    value = await step();
  } catch (e) {
    const heap = wasmHeapBytes() ?? 0;
    const aborted = e instanceof Error && /Aborted|memory access out of bounds/.test(e.message);
    if (aborted && heap > WASM_HEAP_LIMIT / 2) {
      throw new WasmHeapExhaustedError(
        heap,
        `during ${where}`,
        ` (the module aborted: "${e.message}"; reload to use wasm again)`,
      );
    }
    throw e;
  }
  checkWasmHeap(`after ${where}`);
  return value;
}

// ---- Identity: share, do not copy ----

const identity: KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  (backend as unknown as WasmBackendLike).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

// ---- BatchMatMul through XNNPACK ----

type CppBatchMatMul = (
  aId: number,
  aShape: Uint8Array,
  aRank: number,
  bId: number,
  bShape: Uint8Array,
  bRank: number,
  transposeA: boolean,
  transposeB: boolean,
  outId: number,
) => void;

const cppMatMul = new WeakMap<WasmModuleLike, CppBatchMatMul>();
function cppBatchMatMul(wasm: WasmModuleLike): CppBatchMatMul {
  let f = cppMatMul.get(wasm);
  if (!f) {
    f = wasm.cwrap('BatchMatMul', null, [
      'number',
      'array',
      'number',
      'number',
      'array',
      'number',
      'number',
      'number',
      'number',
    ]) as unknown as CppBatchMatMul;
    cppMatMul.set(wasm, f);
  }
  return f;
}

const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/**
 * Registers `size` floats at byte `offset` of the heap as a tensor of the C++ side only (a view: no
 * allocation, no copy). Release it with `releaseView`, never with `disposeData` (that would free
 * memory the view does not own).
 */
function registerView(backend: WasmBackendLike, offset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}
function releaseView(backend: WasmBackendLike, id: number): void {
  backend.wasm.tfjs.disposeData(id); // also drops XNNPACK operators cached on it
}

/** A [batch, rows, cols] float32 operand in row-major order, owned (to dispose) or borrowed. */
interface Operand {
  info: TensorInfo;
  owned: boolean;
  batch: number;
  rows: number;
  cols: number;
}

/** Tile edge of the 2-D transpose: 8 x 8 tiles keep both sides' cache lines in L1. */
const TILE = 8;
/** Below this many values tfjs's own 2-D transpose is as fast. */
const TILED_TRANSPOSE_MIN = 64 * 1024;

/**
 * [rows, cols] -> [cols, rows] tile by tile. tfjs-wasm's 2-D transpose writes a whole output column
 * per input row, which thrashes L1 once cols is wide: 2-3x slower ([3072, 1024]: 21 ms against 9).
 */
function transpose2d(backend: WasmBackendLike, x: TensorInfo, rows: number, cols: number): TensorInfo {
  const out = backend.makeOutput([cols, rows], x.dtype);
  const [src, dst] = [words(backend, x), words(backend, out)];
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(i0 + TILE, rows);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(j0 + TILE, cols);
      for (let i = i0; i < i1; i++) {
        const s = i * cols;
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[s + j];
      }
    }
  }
  return out;
}

function transposeLast2(backend: WasmBackendLike, x: TensorInfo, batch: number, rows: number, cols: number): TensorInfo {
  if (batch === 1 && rows * cols >= TILED_TRANSPOSE_MIN && fourBytes(x.dtype)) return transpose2d(backend, x, rows, cols);
  const transpose = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const x3: TensorInfo = { dataId: x.dataId, shape: [batch, rows, cols], dtype: x.dtype };
  return transpose({
    inputs: { x: x3 },
    backend: backend as unknown as tf.KernelBackend,
    attrs: { perm: [0, 2, 1] },
  }) as TensorInfo;
}

/** The operand as [batch, rows, cols] with the contraction where XNNPACK wants it, transposing once if needed. */
function operand(backend: WasmBackendLike, x: TensorInfo, transpose: boolean): Operand {
  const r = x.shape.length;
  const batch = x.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const [rows, cols] = [x.shape[r - 2], x.shape[r - 1]];
  if (!transpose) return { info: x, owned: false, batch, rows, cols };
  return { info: transposeLast2(backend, x, batch, rows, cols), owned: true, batch, rows: cols, cols: rows };
}

/**
 * A tensor over `shape` at byte `offset` of the heap, known to the JS side too, so that tfjs's own
 * kernels can read it (a view: `release` unregisters it without freeing the memory).
 */
function borrow(backend: WasmBackendLike, offset: number, shape: number[]): { info: TensorInfo; release: () => void } {
  const id = backend.dataIdNextNumber++;
  const dataId = { id };
  backend.dataIdMap.set(dataId, { id, memoryOffset: offset, shape, dtype: 'float32', refCount: 1 });
  backend.wasm.tfjs.registerTensor(
    id,
    shape.reduce((p, d) => p * d, 1),
    offset,
  );
  return {
    info: { dataId, shape, dtype: 'float32' },
    release: () => {
      backend.wasm.tfjs.disposeData(id);
      backend.dataIdMap.delete(dataId);
    },
  };
}

/** Packed right-hand operands above this size no longer stay in cache: the contraction is split. */
const PANEL_BYTES = 8 * 2 ** 20;
/** Rows of the contraction per piece when it is split (a 512 x 1024 panel is 2 MiB). */
const PIECE_BYTES = 2 * 2 ** 20;

/**
 * Aᵀ·B with A [R, M], B [R, N] and R large: a weight gradient xᵀ·dy over R = N·L rows.
 *  - Orientation: transposing A costs R·M strided moves, so when A is the wider one this computes
 *    (Bᵀ·A)ᵀ instead, which transposes B and the small [N, M] result.
 *  - Pieces: XNNPACK streams its packed right-hand operand (R x N) once per few output rows; past
 *    a few MiB that is main-memory traffic (10 GFLOP/s against 23 for [256, 7168] x [7168, 1024]),
 *    so R is cut into pieces whose panels stay in cache and the partial products are added up.
 */
function weightGradient(backend: WasmBackendLike, aIn: TensorInfo, bIn: TensorInfo, outBatchDims: number[]): TensorInfo {
  const [R, M] = aIn.shape.slice(-2);
  const N = bIn.shape[bIn.shape.length - 1];
  if (M > N) {
    const flipped = weightGradient(backend, bIn, aIn, []); // [N, M]
    const out = transposeLast2(backend, flipped, 1, N, M);
    backend.disposeData(flipped.dataId);
    return { ...out, shape: [...outBatchDims, M, N] };
  }
  const gemm = cppBatchMatMul(backend.wasm);
  const piece = R * N * 4 <= PANEL_BYTES ? R : Math.max(64, Math.floor(PIECE_BYTES / (4 * N) / 64) * 64);
  const out = backend.makeOutput([...outBatchDims, M, N], 'float32');
  const outId = backend.dataIdMap.get(out.dataId)!.id;
  const scratch = piece < R ? backend.makeOutput([M, N], 'float32') : null;
  const [aOff, bOff] = [aIn, bIn].map((x) => backend.dataIdMap.get(x.dataId)!.memoryOffset);
  try {
    for (let r0 = 0; r0 < R; r0 += piece) {
      const c = Math.min(piece, R - r0);
      const aRows = borrow(backend, aOff + 4 * r0 * M, [c, M]);
      let aT: TensorInfo;
      try {
        aT = transposeLast2(backend, aRows.info, 1, c, M); // [M, c]
      } finally {
        aRows.release();
      }
      const bRows = registerView(backend, bOff + 4 * r0 * N, c * N); // [c, N]
      const target = r0 === 0 || !scratch ? outId : backend.dataIdMap.get(scratch.dataId)!.id;
      try {
        gemm(
          backend.dataIdMap.get(aT.dataId)!.id,
          shapeBytes([1, M, c]),
          3,
          bRows,
          shapeBytes([1, c, N]),
          3,
          false,
          false,
          target,
        );
      } finally {
        releaseView(backend, bRows);
        backend.disposeData(aT.dataId);
      }
      if (target !== outId) {
        const [o, p] = [floats(backend, out), floats(backend, scratch!)];
        for (let i = 0; i < o.length; i++) o[i] += p[i];
      }
    }
  } finally {
    if (scratch) backend.disposeData(scratch.dataId);
  }
  return out;
}

const batchMatMul: KernelFunc = ({ inputs, backend: kb, attrs }) => {
  const backend = kb as unknown as WasmBackendLike;
  const { a: aIn, b: bIn } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (aIn.dtype !== 'float32' || bIn.dtype !== 'float32') throw new Error('BatchMatMul: only float32 is supported on wasm');
  const outBatchDims = tf.backend_util.assertAndGetBroadcastShape(aIn.shape.slice(0, -2), bIn.shape.slice(0, -2));
  const [ra, rb] = [aIn.shape.length, bIn.shape.length];
  const [m, ka] = transposeA ? [aIn.shape[ra - 1], aIn.shape[ra - 2]] : [aIn.shape[ra - 2], aIn.shape[ra - 1]];
  const [kb2, n] = transposeB ? [bIn.shape[rb - 1], bIn.shape[rb - 2]] : [bIn.shape[rb - 2], bIn.shape[rb - 1]];
  if (ka !== kb2) {
    throw new Error(
      `Error in matMul: inner shapes (${ka}) and (${kb2}) of Tensors with shapes ${aIn.shape} and ${bIn.shape} ` +
        `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const [batchA, batchB] = [aIn.shape.slice(0, -2), bIn.shape.slice(0, -2)].map((d) => d.reduce((p, q) => p * q, 1));
  const batch = Math.max(batchA, batchB);
  // Batch axes that broadcast against each other ([2, 1] with [1, 3]): tfjs's own kernel.
  if (batchA > 1 && batchB > 1 && (batchA !== batchB || outBatchDims.reduce((p, d) => p * d, 1) !== batchA)) {
    return stock.get('BatchMatMul')!.kernelFunc({ inputs, backend: kb, attrs });
  }
  if (transposeA && !transposeB && batch === 1 && m * n * ka > 0) return weightGradient(backend, aIn, bIn, outBatchDims);
  const a = operand(backend, aIn, transposeA); // [Ba, M, K]
  const b = operand(backend, bIn, transposeB); // [Bb, K, N]
  const k = ka;
  const out = backend.makeOutput([...outBatchDims, m, n], 'float32');
  try {
    const gemm = cppBatchMatMul(backend.wasm);
    const off = (x: TensorInfo) => backend.dataIdMap.get(x.dataId)!.memoryOffset;
    const id = (x: TensorInfo) => backend.dataIdMap.get(x.dataId)!.id;
    if (m * n * k === 0) {
      if (m * n > 0) new Float32Array(backend.wasm.HEAPU8.buffer, off(out), batch * m * n).fill(0);
    } else if (b.batch === 1) {
      // One GEMM: a's batch entries are just more rows ([Ba*M, K] . [K, N]).
      gemm(id(a.info), shapeBytes([1, a.batch * m, k]), 3, id(b.info), shapeBytes([1, k, n]), 3, false, false, id(out));
    } else {
      // One GEMM per batch entry, on views into the operands' and the output's memory.
      const [aOff, bOff, oOff] = [off(a.info), off(b.info), off(out)];
      const [aShape, bShape] = [shapeBytes([1, m, k]), shapeBytes([1, k, n])];
      for (let i = 0; i < batch; i++) {
        const av = registerView(backend, aOff + 4 * (a.batch === 1 ? 0 : i) * m * k, m * k);
        const bv = registerView(backend, bOff + 4 * i * k * n, k * n);
        const ov = registerView(backend, oOff + 4 * i * m * n, m * n);
        try {
          gemm(av, aShape, 3, bv, bShape, 3, false, false, ov);
        } finally {
          releaseView(backend, av);
          releaseView(backend, bv);
          releaseView(backend, ov);
        }
      }
    }
  } finally {
    if (a.owned) backend.disposeData(a.info.dataId);
    if (b.owned) backend.disposeData(b.info.dataId);
  }
  return out;
};

// ---- data movement and reductions in plain JS over the heap ----
//
// tfjs-wasm's GatherV2 copies element by element through an index computation (0.05 GB/s: 0.6 s for
// 7k rows of 1024 floats), and its Sum over a leading axis transposes the whole input first. Here
// rows are copied with TypedArray.set (a memmove), a leading-axis sum adds whole rows, and a large
// 2-D transpose goes tile by tile (transpose2d).

/** A 4-byte-per-element view of a tensor's memory (float32 and int32 alike: bits are only copied). */
function words(backend: WasmBackendLike, x: TensorInfo): Int32Array {
  const size = x.shape.reduce((p, d) => p * d, 1);
  return new Int32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(x.dataId)!.memoryOffset, size);
}
function floats(backend: WasmBackendLike, x: TensorInfo): Float32Array {
  const size = x.shape.reduce((p, d) => p * d, 1);
  return new Float32Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(x.dataId)!.memoryOffset, size);
}
const fourBytes = (dtype: tf.DataType) => dtype === 'float32' || dtype === 'int32';

function gatherV2(args: Parameters<KernelFunc>[0]): TensorInfo | null {
  const backend = args.backend as unknown as WasmBackendLike;
  const { x, indices } = args.inputs as { x: TensorInfo; indices: TensorInfo };
  const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims: number };
  const ax = axis < 0 ? axis + x.shape.length : axis;
  if (ax !== 0 || (batchDims ?? 0) !== 0 || !fourBytes(x.dtype) || indices.dtype !== 'int32') return null;
  const rowsIn = x.shape[0];
  const row = x.shape.slice(1).reduce((p, d) => p * d, 1);
  const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
  const [src, idx, dst] = [words(backend, x), words(backend, indices), words(backend, out)];
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i];
    if (!(r >= 0 && r < rowsIn)) {
      backend.disposeData(out.dataId);
      throw new Error(`GatherV2: the index value ${r} is not in [0, ${rowsIn - 1}]`);
    }
    dst.set(src.subarray(r * row, r * row + row), i * row);
  }
  return out;
}

function transpose(args: Parameters<KernelFunc>[0]): TensorInfo | null {
  const { x } = args.inputs as { x: TensorInfo };
  const { perm } = args.attrs as unknown as { perm: number[] };
  if (x.shape.length !== 2 || perm[0] !== 1 || x.shape[0] * x.shape[1] < TILED_TRANSPOSE_MIN || !fourBytes(x.dtype)) return null;
  return transpose2d(args.backend as unknown as WasmBackendLike, x, x.shape[0], x.shape[1]);
}

function sum(args: Parameters<KernelFunc>[0]): TensorInfo | null {
  const backend = args.backend as unknown as WasmBackendLike;
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const r = x.shape.length;
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + r : a)))].sort((p, q) => p - q);
  // Only a sum over the leading axes 0..k-1 (k < rank) of float32: a bias gradient [rows, H] -> [H].
  if (x.dtype !== 'float32' || axes.length === 0 || axes.length >= r || axes.some((a, i) => a !== i)) return null;
  const k = axes.length;
  const rows = x.shape.slice(0, k).reduce((p, d) => p * d, 1);
  const cols = x.shape.slice(k).reduce((p, d) => p * d, 1);
  const outShape = keepDims ? [...x.shape.slice(0, k).map(() => 1), ...x.shape.slice(k)] : x.shape.slice(k);
  const acc = new Float64Array(cols);
  const src = floats(backend, x);
  for (let i = 0; i < rows; i++) {
    const s = i * cols;
    for (let j = 0; j < cols; j++) acc[j] += src[s + j];
  }
  const out = backend.makeOutput(outShape, 'float32');
  floats(backend, out).set(acc);
  return out;
}

/** A kernel that handles the cases above itself and hands every other case to tfjs's own. */
function withFallback(kernelName: string, fast: (args: Parameters<KernelFunc>[0]) => TensorInfo | null): KernelFunc {
  return (args) => fast(args) ?? stock.get(kernelName)!.kernelFunc(args);
}

// ---- registration ----

const OURS: { kernelName: string; kernelFunc: KernelFunc }[] = [
  { kernelName: 'Identity', kernelFunc: identity },
  { kernelName: 'BatchMatMul', kernelFunc: batchMatMul },
  { kernelName: 'GatherV2', kernelFunc: withFallback('GatherV2', gatherV2) },
  { kernelName: 'Sum', kernelFunc: withFallback('Sum', sum) },
  { kernelName: 'Transpose', kernelFunc: withFallback('Transpose', transpose) },
];
const stock = new Map<string, KernelConfig>();

/**
 * Registers this module's wasm kernels in place of tfjs's (idempotent). Returns false when the wasm
 * backend's kernels are not loaded here (nothing to replace).
 */
export function installWasmKernels(): boolean {
  if (stock.size > 0) return true;
  if (!tf.getKernel('Identity', 'wasm')) return false;
  for (const { kernelName, kernelFunc } of OURS) {
    const native = tf.getKernel(kernelName, 'wasm');
    if (!native) continue;
    stock.set(kernelName, native);
    tf.unregisterKernel(kernelName, 'wasm');
    // Stock kernels keep their setupFunc (the fallbacks call into C++ functions it binds).
    tf.registerKernel({ ...native, kernelFunc });
  }
  return true;
}

/** Puts tfjs's own kernels back (for tests that compare with them). */
export function uninstallWasmKernels(): void {
  for (const [name, native] of stock) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(native);
  }
  stock.clear();
}
