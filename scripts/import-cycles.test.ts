// The layout has no import circles: every relative import (type imports included) among src/, bench/,
// research/, scripts/ and e2e/ forms a graph without cycles. ESLint keeps which folder may import which;
// this keeps the order within and across them acyclic.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FOLDERS = ['src', 'bench', 'research', 'scripts', 'e2e'];
const IMPORT = /(?:from|import)\s*\(?\s*'(\.[^']*)'/g;

function walk(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((n) => {
    const p = posix.join(dir, n);
    return statSync(join(ROOT, p)).isDirectory() ? walk(p) : [p];
  });
}

function resolveImport(from: string, spec: string): string | null {
  const base = posix.normalize(posix.join(posix.dirname(from), spec.split('?')[0]));
  for (const c of [base, `${base}.ts`, `${base}.tsx`])
    if (existsSync(join(ROOT, c)) && statSync(join(ROOT, c)).isFile()) return c;
  return null;
}

/** The strongly connected components with more than one file (or a file importing itself): the circles. */
function importCircles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1 || (graph.get(v) ?? []).includes(v)) circles.push(part);
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return circles;
}

describe('import graph', () => {
  it('finds a circle when there is one (the check can fail)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(importCircles(g).map((c) => c.sort())).toEqual([['a', 'b', 'c']]);
  });

  it('has no import circles in the repository', () => {
    const files = FOLDERS.flatMap(walk).filter((f) => /\.tsx?$/.test(f));
    const graph = new Map(
      files.map((f) => [
        f,
        [...readFileSync(join(ROOT, f), 'utf8').matchAll(IMPORT)]
          .map((m) => resolveImport(f, m[1]))
          .filter((x): x is string => !!x),
      ]),
    );
    expect(files.length).toBeGreaterThan(100);
    expect([...graph.values()].flat().length).toBeGreaterThan(500);
    expect(importCircles(graph)).toEqual([]);
  });
});
