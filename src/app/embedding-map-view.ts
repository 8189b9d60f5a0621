// Geometry of the embedding map's canvas: fit the projected points (and the pinned query) into the
// plot area with equal scales on both axes (a PCA picture must not stretch one axis), and find the
// point under the pointer. Pure: the panel draws, these place.

export interface MapView {
  /** Data -> CSS pixels. */
  toX(v: number): number;
  toY(v: number): number;
  /** Pixels per data unit (the same on both axes). */
  scale: number;
}

/**
 * Fits interleaved points [x0, y0, x1, y1, ...] plus `extra` points into width x height with `pad`
 * pixels of margin; y grows upwards on screen. Equal scales, centred.
 */
export function fitView(
  points: ArrayLike<number>,
  extra: readonly [number, number][],
  width: number,
  height: number,
  pad = 12,
): MapView {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  const take = (x: number, y: number) => {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return;
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  };
  for (let i = 0; i + 1 < points.length; i += 2) take(points[i], points[i + 1]);
  for (const [x, y] of extra) take(x, y);
  if (minX === Infinity) {
    minX = maxX = minY = maxY = 0;
  }
  const spanX = Math.max(maxX - minX, 1e-9);
  const spanY = Math.max(maxY - minY, 1e-9);
  const w = Math.max(1, width - 2 * pad);
  const h = Math.max(1, height - 2 * pad);
  const scale = Math.min(w / spanX, h / spanY);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  return {
    scale,
    toX: (v) => width / 2 + (v - cx) * scale,
    toY: (v) => height / 2 - (v - cy) * scale,
  };
}

/** Index of the point nearest to pixel (px, py) within `maxDistance` pixels, or -1. */
export function nearestPoint(points: ArrayLike<number>, view: MapView, px: number, py: number, maxDistance = 8): number {
  let best = -1;
  let bestD = maxDistance * maxDistance;
  for (let i = 0, r = 0; i + 1 < points.length; i += 2, r++) {
    const dx = view.toX(points[i]) - px;
    const dy = view.toY(points[i + 1]) - py;
    const d = dx * dx + dy * dy;
    if (d <= bestD) {
      bestD = d;
      best = r;
    }
  }
  return best;
}

/** "PC1 41.2% · PC2 17.0%" of the variance. */
export function formatExplained(ratio: readonly [number, number]): string {
  return `PC1 ${(ratio[0] * 100).toFixed(1)}% · PC2 ${(ratio[1] * 100).toFixed(1)}%`;
}
