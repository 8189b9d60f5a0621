// The fused WGSL MIPS top-k kernel, in headless Chromium on WebGPU, against the plain-tf reference
// computed here in the test process (tfjs cpu backend: tf.matMul, then a stable top-k that breaks
// ties by the lower row). The page and this process build the same seeded data; a checksum proves it.
import type { Page } from '@playwright/test';
import * as tf from '@tensorflow/tfjs';
import type { BuildReport, BuildRequest, KernelLab, SearchReport } from '../bench/pages/lab';
import { checksum, makeVectors, recallAtK, tfReference, type DataSpec, type TopK } from '../src/kernels/reference';
import { expectAllclose } from '../src/testing/allclose';
import { expect, LAB_URL, test, watchPage } from './helpers';

declare global {
  interface Window {
    __lab: KernelLab;
  }
}

test.describe.configure({ mode: 'serial' });

let page: Page;
let errors: string[];

test.beforeAll(async ({ browser }) => {
  await tf.setBackend('cpu');
  page = await browser.newPage();
  errors = watchPage(page, LAB_URL).errors;
  await page.goto(`${LAB_URL}/lab.html?backend=webgpu`);
  await page.waitForFunction(() => window.__lab?.ready === true);
  expect(await page.evaluate(() => window.__lab.backend())).toBe('webgpu');
});

test.afterAll(async () => {
  await page.close();
});

async function build(req: BuildRequest): Promise<BuildReport> {
  const report = await page.evaluate((r) => window.__lab.build(r), req);
  expect(report.checksum).toBeCloseTo(checksum(makeVectors(req.data)), 3);
  return report;
}

async function search(handle: number, queries: DataSpec, k: number, excludeRows?: (number | null)[]): Promise<SearchReport> {
  return page.evaluate(([h, q, kk, ex]) => window.__lab.search(h, q, kk, ex), [handle, queries, k, excludeRows] as const);
}

function reference(data: DataSpec, queries: DataSpec, k: number, excludeRows?: (number | null)[]): TopK {
  return tfReference(
    makeVectors(queries),
    makeVectors(data),
    queries.n,
    data.n,
    data.d,
    k,
    excludeRows?.map((r) => r ?? -1),
  );
}

function expectSame(got: SearchReport, want: TopK, label: string) {
  if (got.error !== undefined) throw new Error(`${label}: the kernel threw ${got.name}: ${got.error}`);
  expect(got.indices, `${label}: indices`).toEqual(want.indices);
  expectAllclose(got.scores, want.scores, { rtol: 1e-5, atol: 1e-4 });
}

/** Builds, searches, compares with the reference, disposes. */
async function check(data: DataSpec, b: number, k: number, opts: Partial<BuildRequest> = {}, excludeRows?: (number | null)[]) {
  const { handle } = await build({ version: 1, data, ...opts });
  const queries: DataSpec = { kind: data.kind, n: b, d: data.d, seed: data.seed + 1000 };
  const got = await search(handle, queries, k, excludeRows);
  await page.evaluate((h) => window.__lab.dispose(h), handle);
  expectSame(got, reference(data, queries, k, excludeRows), `${data.kind} N=${data.n} d=${data.d} B=${b} k=${k}`);
}

test('matches the reference on random shapes, N not a multiple of the tile, k = 1 and 64 (and 100)', async () => {
  const cases: [number, number, number, number][] = [
    // [N, d, B, k]
    [1, 4, 1, 1],
    [37, 8, 3, 5],
    [1000, 32, 5, 1],
    [2049, 64, 16, 10],
    [777, 20, 2, 64], // d not a multiple of 4: padded
    [3001, 128, 9, 64],
    [500, 16, 4, 100], // k > 64: a larger list, slower but correct
  ];
  for (const [n, d, b, k] of cases) await check({ kind: 'grid', n, d, seed: n + d }, b, k);
});

test('float data: indices exact, scores within tolerance', async () => {
  await check({ kind: 'gauss', n: 5000, d: 64, seed: 3 }, 8, 10);
});

test('d = 256 and B = 256 (small N)', async () => {
  await check({ kind: 'grid', n: 300, d: 256, seed: 11 }, 4, 10);
  await check({ kind: 'grid', n: 200, d: 32, seed: 12 }, 256, 8);
});

test('ties are broken by the lower row', async () => {
  // Entries in {-1, 0, 1} with d = 4: only 9 distinct scores per query, so most of the top k are ties.
  await check({ kind: 'ties', n: 3000, d: 4, seed: 5 }, 6, 50);
  // Every row identical: the answer is rows 0..k-1 in order, across lists, merges and shards.
  const { handle } = await build({ version: 1, data: { kind: 'same', n: 5000, d: 8, seed: 9 }, maxShardRows: 1234 });
  const got = await search(handle, { kind: 'same', n: 3, d: 8, seed: 10 }, 64);
  if (got.error !== undefined) throw new Error(got.error);
  for (const row of got.indices) expect(row).toEqual(Array.from({ length: 64 }, (_, i) => i));
  await page.evaluate((h) => window.__lab.dispose(h), handle);
});

test('one excluded id per query is never returned', async () => {
  const data: DataSpec = { kind: 'grid', n: 1500, d: 32, seed: 21 };
  const queries: DataSpec = { kind: 'grid', n: 5, d: 32, seed: 22 };
  // Exclude each query's true best row (and none for one query).
  const best = reference(data, queries, 1).indices.map((r) => r[0]);
  const exclude: (number | null)[] = [best[0], best[1], null, best[3], best[4]];
  const { handle } = await build({ version: 1, data });
  const got = await search(handle, queries, 10, exclude);
  expectSame(got, reference(data, queries, 10, exclude), 'exclusion');
  for (let q = 0; q < 5; q++) if (exclude[q] !== null) expect((got as TopK).indices[q]).not.toContain(exclude[q]);
  await page.evaluate((h) => window.__lab.dispose(h), handle);
});

test('N < k and k > N - excluded fail with a clear message', async () => {
  const { handle } = await build({ version: 1, data: { kind: 'grid', n: 5, d: 8, seed: 1 } });
  const tooMany = await search(handle, { kind: 'grid', n: 2, d: 8, seed: 2 }, 6);
  expect(tooMany.error).toMatch(/cannot return the top 6 of 5 documents: lower k to at most 5/);
  const excluded = await search(handle, { kind: 'grid', n: 2, d: 8, seed: 2 }, 5, [0, null]);
  expect(excluded.error).toMatch(/with one excluded per query/);
  // k = N is fine.
  expect((await search(handle, { kind: 'grid', n: 2, d: 8, seed: 2 }, 5)).error).toBeUndefined();
  await page.evaluate((h) => window.__lab.dispose(h), handle);
});

test('shards: a tiny shard size splits the index and the shard merge is exact', async () => {
  const data: DataSpec = { kind: 'grid', n: 2500, d: 16, seed: 31 };
  const report = await build({ version: 1, data, maxShardRows: 300 });
  expect(report.numShards).toBe(9);
  const queries: DataSpec = { kind: 'grid', n: 7, d: 16, seed: 32 };
  const exclude = [5, null, 2499, 300, null, 0, 1];
  expectSame(await search(report.handle, queries, 20, exclude), reference(data, queries, 20, exclude), 'shards');
  await page.evaluate((h) => window.__lab.dispose(h), report.handle);
});

test('an index version swap replaces the old index and frees its buffers', async () => {
  const before = await page.evaluate(() => window.__lab.memory());
  const v1: DataSpec = { kind: 'grid', n: 3000, d: 64, seed: 41 };
  const v2: DataSpec = { kind: 'grid', n: 3500, d: 64, seed: 42 };
  const queries: DataSpec = { kind: 'grid', n: 4, d: 64, seed: 43 };
  const a = await build({ version: 1, data: v1, implementation: 'auto' });
  expect(a.kind).toBe('WgslMipsIndex'); // training's factory picks the kernel on webgpu
  expectSame(await search(a.handle, queries, 10), reference(v1, queries, 10), 'version 1');
  const b = await build({ version: 2, data: v2, implementation: 'auto' });
  await page.evaluate((h) => window.__lab.dispose(h), a.handle);
  expect(await page.evaluate((h) => window.__lab.version(h), b.handle)).toBe(2);
  expectSame(await search(b.handle, queries, 10), reference(v2, queries, 10), 'version 2');
  // A disposed index refuses to search instead of reading freed buffers.
  expect((await search(a.handle, queries, 10)).error).toMatch(/no index/);
  await page.evaluate((h) => window.__lab.dispose(h), b.handle);
  const after = await page.evaluate(() => window.__lab.memory());
  expect(after.numTensors).toBe(before.numTensors);
  expect(after.numBytes).toBe(before.numBytes);
});

test('int8: recall@10 >= 0.99 on random and on clustered (embedding-like) vectors, both dot paths', async () => {
  const builtin = await page.evaluate(() => window.__lab.hasBuiltinDot4());
  const paths: ('builtin' | 'unpacked')[] = builtin ? ['builtin', 'unpacked'] : ['unpacked'];
  for (const kind of ['gauss', 'clustered'] as const) {
    const data: DataSpec = { kind, n: 8000, d: 64, seed: 51 };
    const queries: DataSpec = { kind, n: 32, d: 64, seed: 52 };
    const want = reference(data, queries, 10);
    for (const dot4 of paths) {
      for (const rerank of ['f32', 'int8'] as const) {
        const report = await build({ version: 1, data, quantize: 'int8', dot4, rerank });
        // The scan reads a quarter of f32: one byte per code, one scale per row, 2 x d stats.
        expect(report.gpuBytes).toBe(8000 * (64 + 4) + 2 * 64 * 4);
        expect(report.f32Bytes).toBe(rerank === 'f32' ? 8000 * 64 * 4 : 0);
        const got = await search(report.handle, queries, 10);
        await page.evaluate((h) => window.__lab.dispose(h), report.handle);
        if (got.error !== undefined) throw new Error(got.error);
        const recall = recallAtK(got.indices, want.indices, 10);
        console.log(`int8 recall@10 ${kind}, ${dot4} dot, ${rerank} re-rank: ${recall.toFixed(4)}`);
        if (rerank === 'f32') {
          expect(recall).toBeGreaterThanOrEqual(0.99);
          // Exact re-rank: the scores of the rows found are their f32 scores.
          expectAllclose(got.scores[0], want.scores[0], { rtol: 1e-4, atol: 1e-3 });
        } else {
          // Without the f32 rows the order carries the quantisation error (reported, not the target).
          expect(recall).toBeGreaterThanOrEqual(0.95);
          expectAllclose(got.scores[0], want.scores[0], { rtol: 0.02, atol: 0.02 * Math.abs(want.scores[0][0]) });
        }
      }
    }
  }
  // int8 with exclusion and shards.
  const data: DataSpec = { kind: 'clustered', n: 3000, d: 48, seed: 61 };
  const queries: DataSpec = { kind: 'clustered', n: 6, d: 48, seed: 62 };
  const report = await build({ version: 1, data, quantize: 'int8', maxShardRows: 700 });
  expect(report.numShards).toBe(5);
  const exclude = reference(data, queries, 1).indices.map((r) => r[0]);
  const got = await search(report.handle, queries, 10, exclude);
  if (got.error !== undefined) throw new Error(got.error);
  for (let q = 0; q < 6; q++) expect(got.indices[q]).not.toContain(exclude[q]);
  expect(recallAtK(got.indices, reference(data, queries, 10, exclude).indices, 10)).toBeGreaterThanOrEqual(0.99);
  await page.evaluate((h) => window.__lab.dispose(h), report.handle);
});

test('no errors in the page', async () => {
  expect(errors).toEqual([]);
});
