import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  countStepWork,
  formatMatMulTable,
  formatStepTable,
  gflopsPerSecond,
  matMulFlops,
  partialCell,
  stepShares,
  type StepCellResult,
} from './step-report';
import { recordKernels } from './step-timing';

const cell = (o: Partial<StepCellResult> = {}): StepCellResult => ({
  phase: 'realm',
  preset: 'tiny',
  backend: 'wasm',
  steps: 3,
  reps: 3,
  warmupMs: 900,
  stepMs: 200,
  stepTimes: [200, 200, 200],
  forwardMs: 50,
  forwardBackwardMs: 150,
  optimizerMs: 30,
  searchMs: 2,
  prepareMs: 10,
  readerMs: 20,
  matMulFlops: 4e9,
  kernels: 6000,
  matMuls: 200,
  leakedTensors: 0,
  shapes: {},
  ...o,
});

describe('matMul FLOPs from kernel shapes', () => {
  it('2 x M x N x K for plain, transposed, batched and fused products; 0 for other kernels', () => {
    expect(
      matMulFlops({
        name: 'BatchMatMul',
        inputShapes: [
          [4, 8],
          [8, 3],
        ],
        outputShapes: [[4, 3]],
      }),
    ).toBe(2 * 4 * 3 * 8);
    // A transposed: [K, M] = [8, 4]
    expect(
      matMulFlops({
        name: 'BatchMatMul',
        inputShapes: [
          [8, 4],
          [8, 3],
        ],
        outputShapes: [[4, 3]],
      }),
    ).toBe(2 * 4 * 3 * 8);
    // batched [2, 4, 8] x [2, 3, 8]^T
    expect(
      matMulFlops({
        name: 'BatchMatMul',
        inputShapes: [
          [2, 4, 8],
          [2, 3, 8],
        ],
        outputShapes: [[2, 4, 3]],
      }),
    ).toBe(2 * 2 * 4 * 3 * 8);
    expect(matMulFlops({ name: '_FusedMatMul', inputShapes: [[5, 6], [6, 7], [7]], outputShapes: [[5, 7]] })).toBe(2 * 5 * 7 * 6);
    expect(
      matMulFlops({
        name: 'Add',
        inputShapes: [
          [5, 6],
          [5, 6],
        ],
        outputShapes: [[5, 6]],
      }),
    ).toBe(0);
  });

  it('counts what tfjs really runs: a product and its gradient (two transposed products) on cpu', async () => {
    await tf.setBackend('cpu');
    const a = tf.randomNormal([6, 10]);
    const b = tf.randomNormal([10, 4]);
    const before = tf.memory().numTensors;
    let kept: tf.Tensor[] = [];
    const fwd = await recordKernels(async () => {
      kept = [tf.matMul(a, b)];
    });
    tf.dispose(kept);
    expect(countStepWork(fwd)).toEqual({ flops: 2 * 6 * 10 * 4, kernels: 1, matMuls: 1 });
    const grads = await recordKernels(async () => {
      kept = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y).sum())([a, b]);
    });
    tf.dispose(kept);
    const work = countStepWork(grads);
    // forward, dA = dC B^T ([6,4] x [4,10]), dB = A^T dC ([10,6] x [6,4]): each 2 x 6 x 10 x 4
    expect(work.matMuls).toBe(3);
    expect(work.flops).toBe(3 * 2 * 6 * 10 * 4);
    expect(work.kernels).toBeGreaterThan(3);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b]);
  });

  it('GFLOP/s from FLOPs and milliseconds', () => {
    expect(gflopsPerSecond(2e9, 1000)).toBeCloseTo(2, 12);
    expect(gflopsPerSecond(5e8, 50)).toBeCloseTo(10, 12);
  });
});

describe('step shares and tables', () => {
  it('forward + backward + optimizer + search + other add up to the step', () => {
    const s = stepShares(cell());
    expect(s).toEqual({ forward: 50, backward: 100, optimizer: 30, search: 2, other: 18 });
    expect(s.forward + s.backward + s.optimizer + s.search + s.other).toBe(200);
    // no search outside REALM; a forward+backward measured below the forward (noise) is no negative backward
    expect(stepShares(cell({ phase: 'mlm', searchMs: null, forwardBackwardMs: 40 }))).toMatchObject({ search: 0, backward: 0 });
  });

  it('prints one row per preset x phase x backend, failures as their reason, against the backend matMul rate', () => {
    const table = formatStepTable(
      [
        {
          preset: 'tiny',
          phase: 'realm',
          cells: { wasm: { ok: true, value: cell() }, cpu: { ok: false, reason: 'failed: memory access out of bounds | x' } },
        },
      ],
      ['webgpu', 'wasm', 'cpu'],
      { wasm: 40 },
    );
    const lines = table.split('\n');
    expect(lines).toHaveLength(4); // header, rule, wasm, cpu (no webgpu cell)
    // 4e9 FLOPs in 200 ms = 20 GFLOP/s, half of wasm's 40
    expect(lines[2]).toBe('| tiny | REALM | wasm | 200 | 1% | 10% | 25% | 50% | 15% | 9% | 6000 | 20.0 | 40.0 | 50% |');
    expect(lines[3]).toContain('| tiny | REALM | cpu | failed: memory access out of bounds / x |');
    expect(lines[3].split('|')).toHaveLength(lines[0].split('|').length);
  });

  it('a cell stopped at the limit after its steps: the step time, — for the parts it did not reach, and a note', () => {
    const value = partialCell({ stepMs: 91_000, warmupMs: 95_000, forwardMs: 20_000, matMulFlops: 9.1e10, kernels: 1900 });
    const table = formatStepTable(
      [{ preset: 'small', phase: 'mlm', cells: { webgpu: { ok: true, value, note: 'stopped after 240 s at reader' } } }],
      ['webgpu'],
      { webgpu: 0.5 },
    );
    const lines = table.split('\n');
    expect(lines[2]).toBe('| small | MLM | webgpu | 91000 †1 | — | — | 22% | — | — | — | 1900 | 1.00 | 0.50 | 200% |');
    expect(lines.at(-1)).toBe('†1 small MLM webgpu: stopped after 240 s at reader');
  });

  it('the matMul table: a row per shape, a column per backend, a failed backend says why', () => {
    const t = formatMatMulTable(
      [
        { ok: true, value: [{ backend: 'wasm', m: 512, k: 512, n: 512, ms: 10, reps: 5, gflops: 26.8 }] },
        { ok: false, reason: 'failed: no adapter' },
      ],
      ['wasm', 'webgpu'],
    );
    expect(t.split('\n')[2]).toBe('| 512 x 512 x 512 | 26.8 (10.0 ms) | failed: no adapter |');
  });
});
