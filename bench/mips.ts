// `npm run bench:mips`: the fused MIPS kernel against its peers, measured side by side in one page
// (the kernel lab, bench/pages/lab.html) in headless Chromium on WebGPU, in one run. Prints one markdown table
// and saves it to bench/results/mips.md.
//
// Steps: vite build of bench/pages/lab.html alone into dist-bench/ (its own minimal config, so that work in
// progress elsewhere in the app cannot break the benchmark); vite preview on a free port; Chromium
// (same executable and flags as playwright.config.ts); window.__lab.benchCell for each cell.
// Env: BENCH_QUICK=1 runs a small plan (a smoke test of the driver); REALM_CHROMIUM picks the browser.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { serveAndLaunch } from './browser';
import type { BenchCell, BenchRow, Impl, KernelLab } from './pages/lab';

declare global {
  interface Window {
    __lab: KernelLab;
  }
}

const DIST = 'dist-bench';
const D = 128;
const K = 10;

interface PlannedCell extends BenchCell {
  /** Implementations left out of this cell, and why. */
  skipped: { impl: Impl; why: string }[];
}

const ALL: Impl[] = ['kernel-f32', 'kernel-int8', 'matmul-topk-webgpu', 'matmul-topk-wasm', 'ts-loop', 'hnsw'];

/** The plan, sized so that the run ends in minutes on SwiftShader (WebGPU emulated on the CPU). */
function plan(quick: boolean): PlannedCell[] {
  const cells: PlannedCell[] = [];
  const add = (n: number, b: number, impls: Impl[], skipped: { impl: Impl; why: string }[] = [], reps = 3) =>
    cells.push({ n, d: D, b, k: K, impls, reps, skipped });
  if (quick) {
    add(2000, 4, ALL, [], 1);
    return cells;
  }
  const hnswSkip = {
    impl: 'hnsw' as const,
    why: 'mememo built its 10k graph in ~50 s here (~5 ms per vector): about 8 minutes at 100k',
  };
  for (const b of [1, 16, 64]) {
    const withHnsw = b === 16;
    add(
      10_000,
      b,
      withHnsw ? ALL : ALL.filter((i) => i !== 'hnsw'),
      withHnsw ? [] : [{ impl: 'hnsw', why: 'graph built once, timed at B = 16' }],
    );
  }
  for (const b of [1, 16, 64])
    add(
      100_000,
      b,
      ALL.filter((i) => i !== 'hnsw'),
      [hnswSkip],
    );
  for (const b of [1, 16, 64]) {
    const peers: Impl[] = ['kernel-f32', 'kernel-int8', 'matmul-topk-wasm', 'ts-loop'];
    const skipped: { impl: Impl; why: string }[] = [hnswSkip];
    if (b === 64) {
      skipped.unshift({
        impl: 'matmul-topk-webgpu',
        why: 'about 1.5 minutes per search on SwiftShader (8.5 s at 100k, x10), twice with the warm-up',
      });
    } else {
      peers.splice(2, 0, 'matmul-topk-webgpu');
    }
    add(1_000_000, b, peers, skipped, 1);
  }
  return cells;
}

const fmt = (x: number | null, digits = 1) => (x === null ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(digits));

function table(
  rows: ((BenchRow & { asked: number }) | { impl: Impl; n: number; b: number; skipped: string })[],
  baseline: Map<string, number>,
) {
  const lines = [
    '| N | B | implementation | median ms / search | speedup vs matMul+topk (webgpu) | effective GB/s | recall@10 | note |',
    '| ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of rows) {
    const n = r.n >= 1e6 ? `${r.n / 1e6}M` : `${r.n / 1e3}k`;
    if ('skipped' in r) {
      lines.push(`| ${n} | ${r.b} | ${r.impl} | skipped | | | | ${r.skipped} |`);
      continue;
    }
    const base = baseline.get(`${r.n}/${r.b}`);
    const speedup = r.ms !== null && base !== undefined ? `${(base / r.ms).toFixed(2)}x` : '–';
    const gbs = r.ms !== null ? (r.indexBytes / 1e9 / (r.ms / 1000)).toFixed(3) : '–';
    const recall = r.recall === null ? '' : r.recall.toFixed(3);
    const note = [r.reps < r.asked ? 'one timed run (slow warm-up)' : `median of ${r.reps}`, r.note].filter(Boolean).join('; ');
    lines.push(`| ${n} | ${r.b} | ${r.impl} | ${fmt(r.ms)} | ${speedup} | ${gbs} | ${recall} | ${note} |`);
  }
  return lines.join('\n');
}

async function main() {
  const quick = process.env.BENCH_QUICK === '1';
  console.log(`building the lab page into ${DIST}/ ...`);
  const root = fileURLToPath(new URL('..', import.meta.url));
  await build({
    configFile: false,
    root: fileURLToPath(new URL('./pages', import.meta.url)),
    base: './',
    logLevel: 'warn',
    build: {
      outDir: fileURLToPath(new URL(`../${DIST}`, import.meta.url)),
      emptyOutDir: true,
      target: 'es2022',
      chunkSizeWarningLimit: 8192,
      rollupOptions: { input: { lab: fileURLToPath(new URL('./pages/lab.html', import.meta.url)) } },
    },
  });
  const { browser, baseUrl, close } = await serveAndLaunch(root, DIST);
  try {
    const url = `${baseUrl}/lab.html?backend=webgpu`;
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => window.__lab?.ready === true, undefined, { timeout: 120_000 });
    const backend = await page.evaluate(() => window.__lab.backend());
    if (backend !== 'webgpu') throw new Error(`the lab page runs on ${backend}, not webgpu: no WebGPU in this browser`);
    const report = await page.evaluate(() => window.__lab.report());
    const dot4 = await page.evaluate(() => window.__lab.hasBuiltinDot4());
    const a = report?.adapter;
    const device = a
      ? `${a.vendor} ${a.architecture} ${a.description}`.trim() +
        (a.software ? ' (software adapter: WebGPU emulated on the CPU)' : '')
      : 'unknown adapter';

    const rows: Parameters<typeof table>[0] = [];
    const baseline = new Map<string, number>();
    for (const cell of plan(quick)) {
      const { skipped, ...spec } = cell;
      if (spec.impls.length > 0) {
        const t0 = Date.now();
        const got = await page.evaluate((c) => window.__lab.benchCell(c), spec);
        for (const r of got) {
          if (r.impl === 'matmul-topk-webgpu' && r.ms !== null) baseline.set(`${r.n}/${r.b}`, r.ms);
          rows.push({ ...r, asked: spec.reps });
          console.log(
            `N=${r.n} B=${r.b} ${r.impl}: ${fmt(r.ms)} ms${r.recall !== null ? `, recall@10 ${r.recall.toFixed(3)}` : ''}`,
          );
        }
        console.log(`  (cell took ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
      for (const s of skipped) rows.push({ impl: s.impl, n: cell.n, b: cell.b, skipped: s.why });
    }

    const header = [
      `MIPS top-${K}, d = ${D}, measured ${new Date().toISOString().slice(0, 10)} in headless Chromium on ${device}.`,
      `dot4I8Packed: ${dot4 ? 'available' : 'missing (unpacked fallback)'}. Speedups are against matMul + topk on webgpu in the same cell;`,
      'effective GB/s = index bytes read per search (N x d x 4 for f32, N x (d + 4) for int8) / time.',
    ].join('\n');
    const out = `${header}\n\n${table(rows, baseline)}\n`;
    console.log(`\n${out}`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/mips.md', out);
    console.log('saved to bench/results/mips.md');
  } finally {
    await close();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
