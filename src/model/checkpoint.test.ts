import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, fromFloat16, toFloat16 } from './checkpoint';
import type { RealmCheckpoint } from './trainer';

const bits = (xs: number[]) => [...toFloat16(new Float32Array(xs))];

describe('float16 weights', () => {
  it('gives the binary16 bits of exact values, the extremes and the subnormals', () => {
    expect(bits([0, -0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24])).toEqual([
      0x0000, 0x8000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x0001,
    ]);
    expect(bits([Infinity, -Infinity, 1e6])).toEqual([0x7c00, 0xfc00, 0x7c00]);
    expect(Number.isNaN(fromFloat16(toFloat16(new Float32Array([NaN])))[0])).toBe(true);
  });

  it('rounds to nearest, ties to even', () => {
    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: to even (1). 1 + 3 * 2^-11: to 1 + 2^-9.
    expect(bits([1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20])).toEqual([0x3c00, 0x3c02, 0x3c01]);
    // 65519 rounds down to 65504; 65520 is halfway to 65536 (not representable): infinity.
    expect(bits([65519, 65520])).toEqual([0x7bff, 0x7c00]);
    // 2^-25 is halfway between 0 and the smallest subnormal: to even (0); a little more rounds up.
    expect(bits([2 ** -25, 2 ** -25 * 1.01, 3 * 2 ** -25])).toEqual([0x0000, 0x0001, 0x0002]);
    // 1/3 = 0x3555 in binary16.
    expect(bits([1 / 3])).toEqual([0x3555]);
  });

  it('decodes every binary16 value back to itself', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = toFloat16(fromFloat16(all));
    const nan = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    all.forEach((h) => !nan(h) && expect(back[h]).toBe(h));
  });

  it('keeps the relative error of normal weights within 2^-11 through a checkpoint, optimiser state exact', () => {
    const w = new Float32Array(1000).map((_, i) => Math.sin(i) * 0.05 * (1 + (i % 7)));
    const m = new Float32Array([1e-9, 3.14159265]);
    const c: RealmCheckpoint = {
      runId: 'r',
      step: 3,
      createdAt: 0,
      phase: 'ict',
      weights: [{ name: 'w', shape: [10, 100], data: w.buffer }],
      optimizer: [{ name: 'm', shape: [2], data: m.buffer }],
      rngState: [1, 2, 3, 4],
      indexVersion: 0,
    };
    const half = encodeCheckpoint(c, { float16: true });
    expect(half.data.byteLength).toBe(1000 * 2 + 2 * 4);
    const back = decodeCheckpoint(half.header, half.data);
    const got = new Float32Array(back.weights[0].data);
    w.forEach((x, i) => expect(Math.abs(got[i] - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25));
    expect([...new Float32Array(back.optimizer[0].data)]).toEqual([...m]);
    expect(back.step).toBe(3);
    const full = decodeCheckpoint(...(Object.values(encodeCheckpoint(c)) as [string, Uint8Array]));
    expect([...new Float32Array(full.weights[0].data)]).toEqual([...w]);
  });
});
