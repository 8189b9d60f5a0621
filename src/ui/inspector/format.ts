// Numbers as the inspector prints them. Early in training the reader's probabilities are tiny
// (1/vocabulary), so a fixed 3 decimals would print 0.000 everywhere: small values switch to
// scientific notation instead.

/** A probability: 3 decimals, or 2 significant digits in scientific notation below 0.001. */
export function formatProb(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return '–';
  if (p === 0 || p >= 0.001) return p.toFixed(3);
  return p.toExponential(1);
}

/** A log-ratio (utility) with its sign: 2 decimals, or scientific notation when it is that small. */
export function formatSigned(u: number | null | undefined): string {
  if (u === null || u === undefined || !Number.isFinite(u)) return '–';
  if (u === 0) return '0';
  const sign = u > 0 ? '+' : '−';
  const a = Math.abs(u);
  return sign + (a >= 0.01 ? a.toFixed(2) : a.toExponential(1));
}

/** A wordpiece by id; ids past the corpus vocabulary (the model's output layer can be larger) are named as such. */
export function pieceName(vocab: readonly string[], id: number): string {
  return vocab[id] ?? `(unused id ${id})`;
}
