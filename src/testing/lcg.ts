// A small deterministic generator of test data in [0, 1) (a linear congruential generator), kept apart
// from the model's RNG so that test inputs do not move when the model's draws do.
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
