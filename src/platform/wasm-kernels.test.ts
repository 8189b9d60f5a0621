// The wasm kernels of wasm-kernels.ts against tfjs's own wasm kernels and the cpu backend, on the
// real wasm backend in Node, and the heap guard's error.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkWasmFitsModel,
  checkWasmHeap,
  guardedWasmStep,
  guardWasmHeap,
  installWasmKernels,
  uninstallWasmKernels,
  wasmHeapBytes,
  WasmHeapExhaustedError,
} from './wasm-kernels';
import { allcloseReport } from '../testing/allclose';

beforeAll(async () => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(installWasmKernels()).toBe(true);
});
afterAll(() => {
  uninstallWasmKernels();
});

let seed = 5;
const randn = (shape: number[]) => tf.randomNormal(shape, 0, 1, 'float32', seed++);

/** f's result on wasm with our kernels, on wasm with tfjs's, and on cpu (inputs as plain arrays). */
async function threeWays(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]) {
  const values = await Promise.all(inputs.map((x) => x.data()));
  const run = () =>
    tf.tidy(() => {
      const xs = inputs.map((x, i) => tf.tensor(values[i], x.shape, x.dtype));
      const y = f(...xs);
      return { shape: y.shape, data: Array.from(y.dataSync()) };
    });
  const ours = run();
  uninstallWasmKernels();
  const stock = run();
  installWasmKernels();
  await tf.setBackend('cpu');
  const cpu = run();
  await tf.setBackend('wasm');
  return { ours, stock, cpu };
}

function expectClose(
  ours: { shape: number[]; data: number[] },
  ref: { shape: number[]; data: number[] },
  rtol = 1e-5,
  atol = 1e-4,
) {
  expect(ours.shape).toEqual(ref.shape);
  expect(allcloseReport(ours.data, ref.data, { rtol, atol })).toBeNull();
}

describe('wasm BatchMatMul through XNNPACK', () => {
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['plain', [37, 19], [19, 23], false, false],
    ['transposeB', [37, 19], [23, 19], false, true],
    ['transposeA (M < N)', [19, 37], [19, 23], true, false],
    ['transposeA (M > N)', [19, 41], [19, 23], true, false],
    ['both transposed', [19, 37], [23, 19], true, true],
    ['batched', [6, 13, 7], [6, 7, 11], false, false],
    ['batched, transposeA', [6, 7, 13], [6, 7, 11], true, false],
    ['batched, transposeB', [2, 3, 13, 7], [2, 3, 11, 7], false, true],
    ['a batched, b broadcast', [4, 13, 7], [7, 11], false, false],
    ['a broadcast, b batched', [13, 7], [4, 7, 11], false, false],
    ['batch axes broadcast both ways', [2, 1, 5, 3], [1, 3, 3, 4], false, false],
    ['empty contraction', [3, 0], [0, 4], false, false],
  ];
  for (const [name, aShape, bShape, ta, tb] of cases) {
    it(name, async () => {
      const { ours, stock, cpu } = await threeWays((a, b) => tf.matMul(a, b, ta, tb), [randn(aShape), randn(bShape)]);
      expectClose(ours, cpu);
      expectClose(stock, cpu);
    });
  }

  it('a weight gradient over many rows is summed in pieces (both orientations)', async () => {
    // 3000 rows x 1024 floats is 12 MiB: past PANEL_BYTES, so the contraction is cut into pieces.
    for (const [m, n] of [
      [40, 1024],
      [1024, 40],
    ]) {
      const { ours, cpu } = await threeWays((a, b) => tf.matMul(a, b, true, false), [randn([3000, m]), randn([3000, n])]);
      expectClose(ours, cpu, 1e-4, 2e-3);
    }
  });

  it('leaves no tensor and no heap view behind', () => {
    const a = randn([3, 20, 8]);
    const b = randn([3, 8, 5]);
    const before = tf.memory().numTensors;
    const dataIds = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    tf.tidy(() => {
      tf.matMul(a, b);
      tf.matMul(a, randn([3, 20, 5]), true, false);
      tf.matMul(randn([900, 30]), randn([900, 600]), true); // in pieces, flipped
    });
    expect(tf.memory().numTensors).toBe(before);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(dataIds);
  });
});

describe('wasm Identity, GatherV2, Transpose, Sum', () => {
  it('Identity shares the input data instead of copying it, and frees it with the last reference', () => {
    const x = randn([1000, 100]);
    const numDataIds = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const before = numDataIds();
    const y = tf.clone(x); // engine-level clone runs the Identity kernel
    expect(numDataIds()).toBe(before);
    expect((tf.backend() as unknown as { getMemoryOffset(d: object): number }).getMemoryOffset(y.dataId)).toBe(
      (tf.backend() as unknown as { getMemoryOffset(d: object): number }).getMemoryOffset(x.dataId),
    );
    x.dispose();
    expect(y.dataSync()[0]).toBeTypeOf('number');
    expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
    y.dispose();
  });

  it('GatherV2 of rows (float32 and int32) and its fallbacks', async () => {
    const idx = tf.tensor2d([3, 0, 3, 9, 1, 2], [2, 3], 'int32');
    for (const x of [randn([10, 7]), tf.range(0, 40, 1, 'int32').reshape([10, 2, 2])]) {
      const { ours, cpu } = await threeWays((t, i) => tf.gather(t, i), [x, idx]);
      expectClose(ours, cpu, 0, 0);
    }
    const { ours, cpu } = await threeWays((t, i) => tf.gather(t, i, 1), [randn([4, 10]), idx]); // not axis 0: stock
    expectClose(ours, cpu, 0, 0);
  });

  it('GatherV2 rejects an index out of range and keeps no output', () => {
    const x = randn([4, 3]);
    const before = tf.memory().numTensors;
    expect(() => tf.gather(x, tf.tensor1d([1, 4], 'int32'))).toThrow(/index value 4 is not in \[0, 3\]/);
    expect(tf.memory().numTensors).toBe(before + 1); // the index tensor only
  });

  it('Transpose of a large 2-D tensor (tiled) and of others (stock)', async () => {
    for (const x of [
      randn([300, 250]),
      tf.range(0, 300 * 250, 1, 'int32').reshape([250, 300]),
      randn([20, 30]),
      randn([4, 50, 60]),
    ]) {
      const perm = x.rank === 2 ? [1, 0] : [0, 2, 1];
      const { ours, cpu } = await threeWays((t) => tf.transpose(t, perm), [x]);
      expectClose(ours, cpu, 0, 0);
    }
  });

  it('Sum over leading axes, with and without keepDims, and its fallbacks', async () => {
    const x = randn([5, 6, 7]);
    for (const [axis, keepDims] of [
      [0, false],
      [[0, 1], true],
      [[1, 0], false],
      [-1, false],
      [[0, 2], false],
      [[0, 1, 2], false],
    ] as [number | number[], boolean][]) {
      const { ours, stock, cpu } = await threeWays((t) => tf.sum(t, axis, keepDims), [x]);
      expectClose(ours, cpu);
      expectClose(stock, cpu);
    }
  });
});

describe('the wasm heap guard', () => {
  it('an allocation wasm cannot hold throws WasmHeapExhaustedError, and the backend still works', () => {
    expect(guardWasmHeap('in the guard test')).toBe(true);
    const before = tf.memory().numTensors;
    // 0.95 x 2^30 floats is 3.8 GiB: more than the heap can still grow to.
    let error: unknown = null;
    try {
      tf.zeros([Math.floor(0.95 * 2 ** 30)]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WasmHeapExhaustedError);
    expect((error as Error).message).toMatch(/in the guard test.*smaller batch/s);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]).toBe(3);
  });

  it('checkWasmHeap and guardedWasmStep stop a step when the heap is within reach of the limit', async () => {
    const heap = wasmHeapBytes()!;
    expect(heap).toBeGreaterThan(0);
    expect(() => checkWasmHeap('after ICT step 3 of the small preset')).not.toThrow();
    // A limit just above today's heap leaves less than the headroom: the check fires.
    expect(() => checkWasmHeap('after ICT step 3 of the small preset', heap + 2 ** 20)).toThrow(WasmHeapExhaustedError);
    expect(() => checkWasmHeap('after ICT step 3 of the small preset', heap + 2 ** 20)).toThrow(
      /after ICT step 3 of the small preset/,
    );
    await expect(guardedWasmStep('a step', async () => 7)).resolves.toBe(7);
    await expect(
      guardedWasmStep('a step', async () => {
        tf.zeros([Math.floor(0.95 * 2 ** 30)]);
      }),
    ).rejects.toThrow(/ran out of memory during a step/);
  });

  it('a model whose weights, gradients and moments alone pass 4 GiB is refused before it starts', () => {
    expect(() => checkWasmFitsModel(11_384_320, 'the small preset')).not.toThrow();
    expect(() => checkWasmFitsModel(261_862_400, 'The base preset')).toThrow(
      /The base preset cannot train on the wasm backend: its 262M parameters .* 4\.2 GB .* whatever the batch size/s,
    );
  });
});
