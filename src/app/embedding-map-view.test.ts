import { describe, expect, it } from 'vitest';
import { fitView, formatExplained, nearestPoint } from './embedding-map-view';

describe('fitView', () => {
  it('fits the points with equal scales, centred, y up', () => {
    const pts = [0, 0, 10, 0, 10, 5, 0, 5]; // a 10 x 5 box
    const v = fitView(pts, [], 220, 220, 10);
    expect(v.scale).toBeCloseTo(20); // 200 px over 10 units, the wider axis
    expect(v.toX(0)).toBeCloseTo(10);
    expect(v.toX(10)).toBeCloseTo(210);
    expect(v.toY(2.5)).toBeCloseTo(110); // centred vertically
    expect(v.toY(5)).toBeLessThan(v.toY(0)); // up is up
  });

  it('includes the extra points (the query) in the frame', () => {
    const v = fitView([0, 0, 1, 1], [[3, 1]], 100, 100, 0);
    expect(v.toX(3)).toBeCloseTo(100);
    expect(v.toX(0)).toBeCloseTo(0);
  });

  it('survives a single point and non-finite values', () => {
    const v = fitView([2, 2, NaN, 1], [[Infinity, 0]], 100, 60);
    expect(v.toX(2)).toBeCloseTo(50);
    expect(v.toY(2)).toBeCloseTo(30);
    expect(Number.isFinite(v.scale)).toBe(true);
  });
});

describe('nearestPoint', () => {
  const pts = [0, 0, 10, 0, 10, 10];
  const v = fitView(pts, [], 120, 120, 10);
  it('finds the row under the pointer', () => {
    expect(nearestPoint(pts, v, v.toX(10) + 2, v.toY(10) - 1)).toBe(2);
    expect(nearestPoint(pts, v, v.toX(0), v.toY(0))).toBe(0);
  });
  it('returns -1 when nothing is near', () => {
    expect(nearestPoint(pts, v, v.toX(5), v.toY(5))).toBe(-1);
  });
});

it('formatExplained', () => {
  expect(formatExplained([0.4123, 0.17])).toBe('PC1 41.2% · PC2 17.0%');
});
