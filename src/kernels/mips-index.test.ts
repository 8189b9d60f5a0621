// Node (tfjs cpu): the parts of the fused MIPS kernel that do not need a GPU: data layouts, int8
// packing, planning, shader constants, the factory's fallback, and the references the e2e spec uses.
// The kernel itself runs in e2e/mips-kernel.spec.ts (headless Chromium on WebGPU).
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DenseMipsIndex } from '../model/mips';
import { expectAllclose } from '../testing/allclose';
import {
  blockF32,
  createMipsIndex,
  dimensionStats,
  MipsKernelError,
  paddedDim,
  planLists,
  quantizeInt8,
  WgslMipsIndex,
} from './mips-index';
import { listCapacity, MergeProgram, queryBlock, ScanF32Program, ScanInt8Program, withConstants } from './programs';
import { loopSearch, makeVectors, recallAtK, tfReference, topKRows } from './reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Decodes quantizeInt8's blocked, packed codes back to floats (scale * code). */
function dequantize(codes: Int32Array, scales: Float32Array, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) {
      const word = j >> 2;
      const w = codes[((word >> 2) * n + r) * 4 + (word & 3)];
      const code = (w << (24 - (j & 3) * 8)) >> 24; // sign-extend byte j & 3
      out[r * dim + j] = code * scales[r];
    }
  }
  return out;
}

describe('layouts', () => {
  it('blockF32 puts vec4 c of row r at (c * n + r) * 4 and zero-pads d to a multiple of 4', () => {
    const n = 3;
    const d = 6;
    const v = Float32Array.from({ length: n * d }, (_, i) => i + 1);
    const out = blockF32(v, d, 0, n);
    expect(out.length).toBe(paddedDim(d, 'f32') * n);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < 8; j++) {
        expect(out[((j >> 2) * n + r) * 4 + (j & 3)]).toBe(j < d ? v[r * d + j] : 0);
      }
    }
    // A shard: rows [1, 3).
    expect(blockF32(v, d, 1, 2)[0]).toBe(v[d]);
  });

  it('quantizeInt8 round-trips within half a step per value, and packs 4 codes per word', () => {
    const n = 50;
    const d = 40;
    const v = makeVectors({ kind: 'gauss', n, d, seed: 1 });
    const { codes, scales } = quantizeInt8(v, d, 0, n);
    expect(codes.length).toBe((paddedDim(d, 'int8') / 4) * n);
    const back = dequantize(codes, scales, n, d);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < d; j++) {
        expect(Math.abs(back[r * d + j] - v[r * d + j])).toBeLessThanOrEqual(scales[r] / 2 + 1e-6);
      }
    }
    // The largest |x| of a row maps to +-127.
    const row0 = Array.from(v.subarray(0, d), Math.abs);
    expect(scales[0]).toBeCloseTo(Math.max(...row0) / 127, 6);
  });

  it('quantizeInt8 with dimension stats codes (x - mean) / spread', () => {
    const n = 200;
    const d = 16;
    const v = makeVectors({ kind: 'clustered', n, d, seed: 2 });
    const stats = dimensionStats(v, n, d);
    const { codes, scales } = quantizeInt8(v, d, 0, n, stats);
    const y = dequantize(codes, scales, n, d);
    const restored = y.map((x, i) => x * stats.spread[i % d] + stats.mean[i % d]);
    expectAllclose(restored, v, { atol: 0.05 * Math.max(...stats.spread), rtol: 0 });
  });

  it('an all-zero row has scale 0 and zero codes', () => {
    const { codes, scales } = quantizeInt8(new Float32Array(16), 16, 0, 1);
    expect(scales[0]).toBe(0);
    expect(Array.from(codes)).toEqual([0, 0, 0, 0]);
  });
});

describe('planning and shader variants', () => {
  it('lists: about 32 rows each, within the partial budget, at least one', () => {
    expect(planLists(100_000, 16, 10, 32 << 20)).toBe(3125);
    expect(planLists(5, 1, 10, 32 << 20)).toBe(1);
    expect(planLists(1_000_000, 64, 64, 8 << 20)).toBe(Math.floor((8 << 20) / (64 * 64 * 8)));
  });

  it('list capacity is k rounded up to a power of two; query blocks shrink for big lists', () => {
    expect([1, 4, 5, 10, 64, 65, 100].map(listCapacity)).toEqual([4, 4, 8, 16, 64, 128, 128]);
    expect(queryBlock(1, 16)).toBe(1);
    expect(queryBlock(3, 16)).toBe(2);
    expect(queryBlock(256, 16)).toBe(8);
    expect(queryBlock(256, 128)).toBe(4);
  });

  it('withConstants sets const declarations and refuses unknown names', () => {
    const src = 'const K_MAX = 16u; // capacity\nconst QB = 4u;\nfn main() {}';
    expect(withConstants(src, { K_MAX: 64 })).toContain('const K_MAX = 64u; // capacity');
    expect(() => withConstants(src, { NOPE: 1 })).toThrow(/NOPE not found/);
  });

  it('programs carry their constants, dispatch and output shapes', () => {
    const scan = new ScanF32Program(16, 10, 3125);
    expect(scan.getUserCode()).toContain('const K_MAX = 16u;');
    expect(scan.getUserCode()).toContain('const QB = 8u;');
    expect(scan.outputShape).toEqual([16, 3125 * 10 * 2]);
    expect(scan.dispatch).toEqual([Math.ceil(3125 / 64), 2, 1]);
    expect(new MergeProgram(4, 64, 3).getUserCode()).toContain('const K_MAX = 64u;');
    expect(new ScanInt8Program(2, 40, 10, true).getUserCode()).toContain('dot4I8Packed(a.x, b.x)');
    const fallback = new ScanInt8Program(2, 40, 10, false).getUserCode();
    expect(fallback).not.toMatch(/dot4I8Packed\(/);
    expect(fallback).toContain('dot4I8Unpacked(a.x, b.x)');
  });
});

describe('factory', () => {
  it('falls back to matMul + topk off webgpu, and the kernel refuses to start there', () => {
    const v = makeVectors({ kind: 'grid', n: 20, d: 8, seed: 3 });
    const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
    const index = createMipsIndex(1, v, ids, 8, { quantize: 'int8' });
    expect(index).toBeInstanceOf(DenseMipsIndex);
    index.dispose();
    expect(() => new WgslMipsIndex(1, v, ids, 8)).toThrow(MipsKernelError);
    expect(() => new WgslMipsIndex(1, v, ids, 8)).toThrow(/needs the webgpu backend.*createMipsIndex/);
  });
});

describe('references', () => {
  it('topKRows breaks ties by the lower row and skips the excluded row', () => {
    const scores = Float32Array.from([1, 3, 3, 2, 3, /* q1 */ 0, 0, 0, 0, 0]);
    expect(topKRows(scores, 2, 5, 3).indices).toEqual([
      [1, 2, 4],
      [0, 1, 2],
    ]);
    expect(topKRows(scores, 2, 5, 2, [2, 0]).indices).toEqual([
      [1, 4],
      [1, 2],
    ]);
  });

  it('the TS loop and the tf reference agree on grid data; recall counts overlaps', () => {
    const n = 300;
    const d = 24;
    const b = 4;
    const v = makeVectors({ kind: 'grid', n, d, seed: 4 });
    const q = makeVectors({ kind: 'grid', n: b, d, seed: 5 });
    const ref = tfReference(q, v, b, n, d, 7);
    const loop = loopSearch(q, v, b, n, d, 7);
    expect(loop.indices).toEqual(ref.indices);
    expectAllclose(loop.scores, ref.scores);
    expect(recallAtK(loop.indices, ref.indices, 7)).toBe(1);
    expect(recallAtK([[1, 2]], [[2, 3]], 2)).toBe(0.5);
  });

  it('seeded data is reproducible', () => {
    const a = makeVectors({ kind: 'clustered', n: 10, d: 8, seed: 9 });
    const b = makeVectors({ kind: 'clustered', n: 10, d: 8, seed: 9 });
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});
