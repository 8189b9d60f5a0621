// Float comparison for tests: |actual - expected| <= atol + rtol * |expected|, element-wise.
// Used by the Node unit tests and by the Playwright kernel tests alike (no tfjs import here).

export interface AllcloseOptions {
  rtol?: number;
  atol?: number;
}

type Nested = number | ArrayLike<number> | Nested[];

function flatten(x: Nested, out: number[] = []): number[] {
  if (typeof x === 'number') out.push(x);
  else for (let i = 0; i < x.length; i++) flatten((x as ArrayLike<Nested>)[i] as Nested, out);
  return out;
}

/** Returns null when close, or a message naming the first differing element and the worst error. */
export function allcloseReport(actual: Nested, expected: Nested, opts: AllcloseOptions = {}): string | null {
  const { rtol = 1e-5, atol = 1e-6 } = opts;
  const a = flatten(actual);
  const e = flatten(expected);
  if (a.length !== e.length) return `length mismatch: actual ${a.length}, expected ${e.length}`;
  let first = -1;
  let worst = 0;
  let bad = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i] - e[i]);
    const exact = a[i] === e[i] || (Number.isNaN(a[i]) && Number.isNaN(e[i]));
    const close = Number.isFinite(e[i]) && diff <= atol + rtol * Math.abs(e[i]);
    if (!exact && !close) {
      bad++;
      if (first < 0) first = i;
      if (!(diff <= worst)) worst = diff;
    }
  }
  if (bad === 0) return null;
  return (
    `${bad} of ${a.length} elements differ (rtol=${rtol}, atol=${atol}); ` +
    `first at [${first}]: actual ${a[first]}, expected ${e[first]}; max abs error ${worst}`
  );
}

/** Throws with a readable message when `actual` and `expected` are not element-wise close. */
export function expectAllclose(actual: Nested, expected: Nested, opts: AllcloseOptions = {}): void {
  const report = allcloseReport(actual, expected, opts);
  if (report !== null) throw new Error(`expectAllclose: ${report}`);
}
