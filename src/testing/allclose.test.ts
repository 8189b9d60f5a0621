import { describe, expect, it } from 'vitest';
import { allcloseReport, expectAllclose } from './allclose';

describe('expectAllclose', () => {
  it('accepts values within atol + rtol * |expected|', () => {
    expectAllclose([1, 2, 3], [1 + 1e-7, 2, 3 - 2e-6], { rtol: 1e-6, atol: 1e-6 });
    expectAllclose(new Float32Array([100]), [100.05], { rtol: 1e-3, atol: 0 });
  });
  it('rejects values outside the tolerance and names the first bad element', () => {
    expect(() => expectAllclose([1, 2, 3], [1, 2.1, 3], { rtol: 1e-3, atol: 1e-3 })).toThrow(/first at \[1\]/);
  });
  it('flattens nested arrays and checks lengths', () => {
    expectAllclose(
      [
        [1, 2],
        [3, 4],
      ],
      [1, 2, 3, 4],
    );
    expect(allcloseReport([1, 2], [1, 2, 3])).toMatch(/length mismatch/);
  });
  it('treats NaN as a failure unless both are NaN', () => {
    expect(allcloseReport([NaN], [1])).not.toBeNull();
    expect(allcloseReport([NaN], [NaN])).toBeNull();
    expect(allcloseReport([Infinity], [Infinity])).toBeNull();
    expect(allcloseReport([Infinity], [-Infinity])).not.toBeNull();
  });
});
