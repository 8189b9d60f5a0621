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
//   Sum          over leading axes (a bias gradient: [rows, H] -> [H]) accumulates rows in place
//                instead of transposing the whole input first.
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
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  dataIdNextNumber: number;
  incRef(dataId: object): void;
  disposeData(dataId: object, force?: boolean): boolean;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/** A wasm32 module addresses at most 4 GiB. */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;
/** Headroom below the limit: C++ allocations inside a kernel (XNNPACK's packed weights) abort when it is gone. */
const HEAP_HEADROOM = 256 * 2 ** 20;

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

function transposeLast2(backend: WasmBackendLike, x: TensorInfo, batch: number, rows: number, cols: number): TensorInfo {
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

const batchMatMul: KernelFunc = ({ inputs, backend: kb, attrs }) => {
  const backend = kb as unknown as WasmBackendLike;
  const { a: aIn, b: bIn } = inputs as { a: TensorInfo; b: TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (aIn.dtype !== 'float32' || bIn.dtype !== 'float32') throw new Error('BatchMatMul: only float32 is supported on wasm');
  const outBatchDims = tf.backend_util.assertAndGetBroadcastShape(aIn.shape.slice(0, -2), bIn.shape.slice(0, -2));
  const a = operand(backend, aIn, transposeA); // [Ba, M, K]
  const b = operand(backend, bIn, transposeB); // [Bb, K, N]
  const [m, k, n] = [a.rows, a.cols, b.cols];
  if (k !== b.rows) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${b.rows}) of Tensors with shapes ${aIn.shape} and ${bIn.shape} ` +
        `and transposeA=${transposeA} and transposeB=${transposeB} must match.`,
    );
  }
  const batch = Math.max(a.batch, b.batch);
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
      for (let i = 0; i < batch; i++) {
        const av = registerView(backend, aOff + 4 * (a.batch === 1 ? 0 : i) * m * k, m * k);
        const bv = registerView(backend, bOff + 4 * i * k * n, k * n);
        const ov = registerView(backend, oOff + 4 * i * m * n, m * n);
        try {
          gemm(av, shapeBytes([1, m, k]), 3, bv, shapeBytes([1, k, n]), 3, false, false, ov);
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

// ---- registration ----

const OURS: { kernelName: string; kernelFunc: KernelFunc }[] = [
  { kernelName: 'Identity', kernelFunc: identity },
  { kernelName: 'BatchMatMul', kernelFunc: batchMatMul },
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
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
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
