// The kernel lab (bench/pages/lab.html): a bare page that starts tfjs (webgpu unless ?backend= says otherwise)
// and exposes `window.__lab` to the e2e spec and the benchmark driver: build an index from seeded
// data, search it, check memory, and time one benchmark cell side by side with the peers.
import * as tf from '@tensorflow/tfjs';
import { HNSW } from 'mememo';
import { parseBackendRequest, selectBackend, type BackendReport } from '../../src/platform/backend';
import { DenseMipsIndex, type MipsIndex } from '../../src/model/mips';
import { WASM_PATHS } from '../../src/platform/wasm-assets';
import { createMipsIndex, hasBuiltinDot4, WgslMipsIndex, type WgslMipsOptions } from '../../src/kernels/mips-index';
import { checksum, loopSearch, makeVectors, recallAtK, type DataSpec, type TopK } from '../../src/kernels/reference';
import { pageGpuMonitor, webgpuDevice } from '../../src/platform/gpu-guard';
import { trainOnBackends } from './train-lab';

export interface BuildRequest extends WgslMipsOptions {
  version: number;
  data: DataSpec;
  /** 'kernel' (default) or 'auto' (createMipsIndex: what training uses). */
  implementation?: 'kernel' | 'auto';
}

export interface BuildReport {
  handle: number;
  checksum: number;
  kind: string;
  gpuBytes: number;
  f32Bytes: number;
  numShards: number;
  shardRows: number;
}

export type SearchReport = (TopK & { error?: undefined }) | { error: string; name: string };

export type Impl = 'kernel-f32' | 'kernel-int8' | 'matmul-topk-webgpu' | 'matmul-topk-wasm' | 'ts-loop' | 'hnsw';

export interface BenchCell {
  n: number;
  d: number;
  b: number;
  k: number;
  impls: Impl[];
  /** Timed repetitions (after one warm-up); fewer when a warm-up is slow. */
  reps: number;
  /** A warm-up slower than this (ms) leaves one timed repetition. */
  slowMs?: number;
  seed?: number;
}

export interface BenchRow {
  impl: Impl;
  n: number;
  b: number;
  d: number;
  /** Median ms per search (null: skipped). */
  ms: number | null;
  reps: number;
  /** Bytes of index data one search reads (N x d x 4 for f32, N x (d + 4) for int8). */
  indexBytes: number;
  recall: number | null;
  note?: string;
}

const indexes = new Map<number, MipsIndex>();
let nextHandle = 1;
let report: BackendReport | null = null;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function readTopK(scores: tf.Tensor2D, indices: tf.Tensor2D): Promise<TopK> {
  const [s, i] = await Promise.all([scores.array(), indices.array()]);
  return { scores: s, indices: i };
}

/** Times `once` (which must await the GPU): one warm-up, then up to `reps` runs; median ms. */
async function time(once: () => Promise<void>, reps: number, slowMs: number) {
  const w0 = performance.now();
  await once();
  const warm = performance.now() - w0;
  const n = warm > slowMs ? 1 : reps;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), reps: n };
}

async function searchOnce(index: MipsIndex, q: tf.Tensor2D, k: number): Promise<TopK> {
  const { scores, indices } = index.search(q, k);
  try {
    return await readTopK(scores, indices);
  } finally {
    tf.dispose([scores, indices]);
  }
}

async function benchCell(cell: BenchCell): Promise<BenchRow[]> {
  const { n, d, b, k, reps } = cell;
  const slowMs = cell.slowMs ?? 5000;
  const seed = cell.seed ?? 7;
  const vectors = makeVectors({ kind: 'gauss', n, d, seed });
  const queries = makeVectors({ kind: 'gauss', n: b, d, seed: seed + 1 });
  const ids = Array.from({ length: n }, (_, i) => `doc-${i}`);
  const rows: BenchRow[] = [];
  const base = { n, b, d };
  let exact: number[][] | null = null;
  const f32Bytes = n * d * 4;

  for (const impl of cell.impls) {
    if (impl === 'kernel-f32' || impl === 'kernel-int8' || impl === 'matmul-topk-webgpu') {
      await tf.setBackend('webgpu');
      const index =
        impl === 'matmul-topk-webgpu'
          ? new DenseMipsIndex(1, vectors, ids, d)
          : new WgslMipsIndex(1, vectors, ids, d, { quantize: impl === 'kernel-int8' ? 'int8' : 'f32' });
      const q = tf.tensor2d(queries, [b, d]);
      let last: TopK | null = null;
      const t = await time(
        async () => {
          last = await searchOnce(index, q, k);
        },
        reps,
        slowMs,
      );
      if (impl === 'kernel-f32') exact = last!.indices;
      const recall = impl === 'kernel-int8' && exact ? recallAtK(last!.indices, exact, Math.min(k, 10)) : null;
      const indexBytes = impl === 'kernel-int8' ? n * (d + 4) : f32Bytes;
      rows.push({ impl, ...base, ...t, indexBytes, recall });
      q.dispose();
      index.dispose();
    } else if (impl === 'matmul-topk-wasm') {
      await tf.setBackend('wasm');
      const index = new DenseMipsIndex(1, vectors, ids, d);
      const q = tf.tensor2d(queries, [b, d]);
      const t = await time(async () => void (await searchOnce(index, q, k)), reps, slowMs);
      rows.push({ impl, ...base, ...t, indexBytes: f32Bytes, recall: null });
      q.dispose();
      index.dispose();
      await tf.setBackend('webgpu');
    } else if (impl === 'ts-loop') {
      const t = await time(async () => void loopSearch(queries, vectors, b, n, d, k), reps, slowMs);
      rows.push({ impl, ...base, ...t, indexBytes: f32Bytes, recall: null });
    } else if (impl === 'hnsw') {
      // mememo: a pure-TypeScript HNSW. Inner product as a distance: -a.b (MIPS through HNSW is an
      // approximation on top of an approximation: the graph is built for that "distance").
      const dot = (x: number[], y: number[]) => {
        let s = 0;
        for (let j = 0; j < x.length; j++) s += x[j] * y[j];
        return -s;
      };
      const hnsw = new HNSW({ distanceFunction: dot, seed: 1, useIndexedDB: false });
      const t0 = performance.now();
      const values = Array.from({ length: n }, (_, r) => Array.from(vectors.subarray(r * d, (r + 1) * d)));
      await hnsw.bulkInsert(ids, values);
      const buildMs = performance.now() - t0;
      const qs = Array.from({ length: b }, (_, r) => Array.from(queries.subarray(r * d, (r + 1) * d)));
      let found: number[][] = [];
      const t = await time(
        async () => {
          found = [];
          for (const qv of qs) {
            const res = await hnsw.query(qv, k);
            found.push(res.keys.map((key) => Number(key.slice(4))));
          }
        },
        reps,
        slowMs,
      );
      const recall = exact ? recallAtK(found, exact, Math.min(k, 10)) : null;
      rows.push({
        impl,
        ...base,
        ...t,
        indexBytes: f32Bytes,
        recall,
        note: `graph built in ${(buildMs / 1000).toFixed(1)} s (m=16, efConstruction=100)`,
      });
    }
  }
  return rows;
}

const lab = {
  ready: false,
  backend: () => tf.getBackend(),
  report: () => report,
  hasBuiltinDot4,
  memory: () => {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  },
  /** Builds an index from seeded data (the same generator as the test process). */
  build(req: BuildRequest): BuildReport {
    const vectors = makeVectors(req.data);
    const ids = Array.from({ length: req.data.n }, (_, i) => `doc-${i}`);
    const index =
      req.implementation === 'auto'
        ? createMipsIndex(req.version, vectors, ids, req.data.d, req)
        : new WgslMipsIndex(req.version, vectors, ids, req.data.d, req);
    const handle = nextHandle++;
    indexes.set(handle, index);
    const kernel = index instanceof WgslMipsIndex ? index : null;
    return {
      handle,
      checksum: checksum(vectors),
      kind: index instanceof WgslMipsIndex ? 'WgslMipsIndex' : index instanceof DenseMipsIndex ? 'DenseMipsIndex' : 'other',
      gpuBytes: kernel?.gpuBytes ?? 0,
      f32Bytes: kernel?.f32Bytes ?? 0,
      numShards: kernel?.numShards ?? 1,
      shardRows: kernel?.shardRows ?? req.data.n,
    };
  },
  /** Searches with seeded queries; `excludeRows[b]` is turned into the document id of that row. */
  async search(handle: number, queries: DataSpec, k: number, excludeRows?: (number | null)[]): Promise<SearchReport> {
    const index = indexes.get(handle);
    if (!index) return { error: `no index with handle ${handle}`, name: 'Error' };
    const q = tf.tensor2d(makeVectors(queries), [queries.n, queries.d]);
    try {
      const exclude = excludeRows?.map((r) => (r === null ? null : `doc-${r}`));
      return await searchWith(index, q, k, exclude);
    } catch (e) {
      return { error: (e as Error).message, name: (e as Error).name };
    } finally {
      q.dispose();
    }
  },
  version: (handle: number) => indexes.get(handle)?.version ?? null,
  dispose(handle: number) {
    indexes.get(handle)?.dispose();
    indexes.delete(handle);
  },
  benchCell,
  trainOnBackends,
  /** GPU errors on the page's device outside the training runs' own error scopes. */
  gpuErrors: () => pageGpuMonitor.all,
};

async function searchWith(index: MipsIndex, q: tf.Tensor2D, k: number, exclude?: (string | null)[]): Promise<TopK> {
  const { scores, indices } = index.search(q, k, exclude);
  try {
    return await readTopK(scores, indices);
  } finally {
    tf.dispose([scores, indices]);
  }
}

export type KernelLab = typeof lab;

async function start() {
  const status = document.getElementById('status');
  const params = new URLSearchParams(location.search);
  const { request, note } = parseBackendRequest(params.get('backend') ?? 'webgpu');
  // ?addn=native keeps tfjs-webgpu's own AddN (to show the cross-backend test failing without the fold).
  const foldAddN = params.get('addn') !== 'native';
  report = await selectBackend({ request, wasmPaths: WASM_PATHS, probe: false, notes: note ? [note] : [], foldAddN });
  pageGpuMonitor.attach(webgpuDevice());
  lab.ready = true;
  (globalThis as unknown as { __lab: KernelLab }).__lab = lab;
  if (status) {
    status.textContent = `backend ${tf.getBackend()}; dot4I8Packed ${hasBuiltinDot4() ? 'available' : 'missing'}`;
  }
}

start().catch((e: Error) => {
  const status = document.getElementById('status');
  if (status) status.textContent = `failed: ${e.message}`;
});
