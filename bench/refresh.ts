// `npm run bench:refresh`: the cost of asynchronous index refresh, measured in one page and one run
// in headless Chromium on WebGPU (see bench/refresh-bench.ts). Builds the bench pages (vite.lab.config.ts) into dist-bench-refresh/,
// opens refresh.html, waits for the bundled tiny corpus, and prints one markdown table (also saved to
// bench/results/refresh.md). Env: BENCH_STEPS (default 20), BENCH_EVERY (default 5), BENCH_PRESET (tiny).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { RefreshBenchResult } from './refresh-bench';
import { serveAndLaunch } from './browser';

const DIST = 'dist-bench-refresh';

async function main() {
  const steps = Number(process.env.BENCH_STEPS ?? 20);
  const every = Number(process.env.BENCH_EVERY ?? 5);
  const preset = process.env.BENCH_PRESET ?? 'tiny';
  const root = fileURLToPath(new URL('..', import.meta.url));
  console.log(`building the bench pages into ${DIST}/ ...`);
  await build({
    configFile: fileURLToPath(new URL('../vite.lab.config.ts', import.meta.url)),
    logLevel: 'warn',
    build: { outDir: DIST, emptyOutDir: true },
  });
  const { browser, baseUrl, close } = await serveAndLaunch(root, DIST);
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await page.goto(`${baseUrl}/refresh.html?backend=webgpu`);
    // The app loads the bundled tiny corpus on first start: wait until it is the active corpus.
    const deadline = Date.now() + 180_000;
    for (;;) {
      const ready = await page.evaluate(async () => {
        const h = (window as unknown as { __realm?: { activeCorpus?: () => Promise<string | null>; bench?: unknown } }).__realm;
        return !!h?.bench && !!(await h.activeCorpus?.());
      });
      if (ready) break;
      if (Date.now() > deadline) throw new Error('the app did not load its bundled corpus within 3 minutes');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const info = await page.evaluate(() =>
      (
        window as unknown as {
          __realm: { backendReport: () => { adapter: { vendor: string; architecture: string; software: boolean } | null } };
        }
      ).__realm.backendReport(),
    );
    console.log(`measuring ${steps} steps per cell, R = ${every}, preset ${preset} ...`);
    const r: RefreshBenchResult = await page.evaluate(
      (o) =>
        (
          window as unknown as { __realm: { bench: { refresh: (o: object) => Promise<RefreshBenchResult> } } }
        ).__realm.bench.refresh(o),
      { steps, every, preset },
    );
    const a = info.adapter;
    const device = a
      ? `${a.vendor} ${a.architecture}${a.software ? ' (software adapter: WebGPU emulated on the CPU)' : ''}`
      : 'no adapter';
    const f = (x: number, d = 2) => x.toFixed(d);
    const out = [
      `Async index refresh, ${preset} preset on the bundled tiny corpus (${r.chunks} chunks), backend ${r.backend}, builder in a ${r.builderMode},`,
      `measured ${new Date().toISOString().slice(0, 10)} in headless Chromium on ${device}.`,
      '',
      '| measure | value |',
      '| --- | ---: |',
      `| trainer steps/s, no build running | ${f(r.idleStepsPerSecond)} |`,
      `| trainer steps/s while the builder re-embeds the corpus (${r.stepsDuringBuilds} steps) | ${f(r.buildingStepsPerSecond)} |`,
      `| ratio: async refresh keeps this share of the idle speed | ${f(r.buildingStepsPerSecond / r.idleStepsPerSecond)}x |`,
      `| wall time of ${steps} REALM steps, sync refresh every ${every} steps | ${f(r.syncSeconds, 1)} s |`,
      `| wall time of ${steps} REALM steps, async refresh (R = ${every}) | ${f(r.asyncSeconds, 1)} s |`,
      `| speedup of async over sync | ${f(r.syncSeconds / r.asyncSeconds)}x |`,
      `| chunks embedded per second, builder in the worker | ${f(r.workerChunksPerSecond, 1)} |`,
      `| chunks embedded per second, same class on the main thread | ${f(r.mainThreadChunksPerSecond, 1)} |`,
      `| ratio worker / main thread | ${f(r.workerChunksPerSecond / r.mainThreadChunksPerSecond)}x |`,
      '',
    ].join('\n');
    console.log(`\n${out}`);
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/refresh.md', out);
  } finally {
    await close();
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
