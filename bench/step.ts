// `npm run bench:step`: milliseconds per ICT, MLM and REALM training step for each preset on webgpu,
// wasm and cpu, side by side in one run, with the shares of a step spent in the forward pass, the
// backward pass, the optimizer, the MIPS search and the reader, the matMul GFLOP/s the step achieved,
// and each backend's plain tf.matMul GFLOP/s measured in the same run (docs/benchmarks.md explains the
// columns). Builds the bench pages (vite.lab.config.ts) into dist-bench-step/, serves them, and opens
// step.html in headless Chromium (WebGPU as the e2e tests run it) once per cell: a fresh browser
// context per backend x preset x phase, so a backend that aborts or runs out of memory fails only its
// own row ("failed: ..."), and a cell past --cell-limit is stopped ("skipped: over N s").
// With --node, wasm and cpu also run in Node, one child process per cell.
// Prints the tables and writes bench/results/step.md and step.json.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import type { Browser } from '@playwright/test';
import { serveAndLaunch } from './browser';
import {
  formatMatMulTable,
  formatStepTable,
  partialCell,
  RESULT_MARK,
  shortReason,
  STEP_PHASES,
  type CellOutcome,
  type MatMulResult,
  type StepCellRequest,
  type StepCellResult,
  type StepPhase,
  type StepTableRow,
} from './step-report';
import type { StepPageState } from './pages/step';

const HELP = `usage: npm run bench:step -- [options]
  --backends LIST    browser backends, comma-separated (default webgpu,wasm,cpu)
  --presets LIST     presets (default tiny,small)
  --phases LIST      phases (default ict,mlm,realm)
  --steps N          timed steps per cell, and repetitions of each part (default 3)
  --slow-ms MS       a warm-up step slower than this leaves 1 timed step and 1 repetition (default 10000)
  --cell-limit S     stop a cell after S seconds and report it skipped (default 240)
  --node             also run wasm and cpu in Node (a child process per cell)
  --no-build         reuse dist-bench-step/ as built before
  --out FILE         the markdown (default bench/results/step.md; FILE.json beside it holds every number)`;

const DIST = 'dist-bench-step';
const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Options {
  backends: string[];
  presets: string[];
  phases: StepPhase[];
  steps: number;
  slowMs: number;
  cellLimitS: number;
  node: boolean;
  build: boolean;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const o: Options = {
    backends: ['webgpu', 'wasm', 'cpu'],
    presets: ['tiny', 'small'],
    phases: [...STEP_PHASES],
    steps: 3,
    slowMs: 10_000,
    cellLimitS: 240,
    node: false,
    build: true,
    out: 'bench/results/step.md',
  };
  const list = (v: string) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const num = (k: string, v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${k} must be a positive number, got "${v}"`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value (see --help)`);
      return v;
    };
    if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else if (a === '--backends') o.backends = list(value());
    else if (a === '--presets') o.presets = list(value());
    else if (a === '--phases') {
      const phases = list(value());
      const bad = phases.find((p) => !(STEP_PHASES as readonly string[]).includes(p));
      if (bad) throw new Error(`unknown phase "${bad}": use ${STEP_PHASES.join(', ')}`);
      o.phases = phases as StepPhase[];
    } else if (a === '--steps') o.steps = Math.round(num('steps', value()));
    else if (a === '--slow-ms') o.slowMs = num('slow-ms', value());
    else if (a === '--cell-limit') o.cellLimitS = num('cell-limit', value());
    else if (a === '--node') o.node = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--out') o.out = value();
    else throw new Error(`unknown option "${a}" (see --help)`);
  }
  return o;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A promise's value, or `fallback` after `ms`. */
const within = <T>(p: Promise<T>, ms: number, fallback: T): Promise<T> =>
  Promise.race([p.catch(() => fallback), sleep(ms).then(() => fallback)]);

type PageEnv = NonNullable<StepPageState['env']>;

/** Runs one cell in a fresh browser context; never throws. */
async function browserCell(
  browser: Browser,
  baseUrl: string,
  req: StepCellRequest,
  limitS: number,
): Promise<{ outcome: CellOutcome<unknown>; env: PageEnv | null; started: boolean; healthy: boolean }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  let crashed = false;
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('crash', () => (crashed = true));
  const read = () => page.evaluate(() => (window as unknown as { __step?: StepPageState }).__step ?? null);
  let outcome: CellOutcome<unknown>;
  let env: PageEnv | null = null;
  let started = false;
  let finished = false;
  try {
    await page.goto(`${baseUrl}/step.html?cell=${encodeURIComponent(JSON.stringify(req))}`, {
      waitUntil: 'domcontentloaded',
      timeout: 120_000,
    });
    started = true;
    const deadline = Date.now() + limitS * 1000;
    let last: StepPageState | null = null;
    for (;;) {
      if (crashed) throw new Error(`the page crashed${errors.length ? ` (${errors.at(-1)})` : ''}`);
      // A page busy in a long synchronous kernel answers late: give up on it at the deadline.
      const left = deadline - Date.now();
      const s = left > 0 ? await within(read(), Math.min(left, 30_000), null) : null;
      if (s) last = s;
      finished = s?.state === 'done' || s?.state === 'failed';
      if (s?.state === 'done') {
        outcome = { ok: true, value: s.result };
        break;
      }
      if (s?.state === 'failed') {
        outcome = { ok: false, reason: shortReason('failed', s.error ?? 'unknown error') };
        break;
      }
      if (Date.now() >= deadline) {
        const p = last?.partial as Partial<StepCellResult> | null;
        const at = last?.stage || 'start';
        const warm = p?.warmupMs ? `; warm-up step ${(p.warmupMs / 1000).toFixed(1)} s` : '';
        // Steps timed before the limit are worth printing; the parts not reached show as —.
        outcome =
          p?.stepMs !== undefined
            ? { ok: true, value: partialCell({ ...p, stepMs: p.stepMs }), note: `stopped after ${limitS} s at ${at}${warm}` }
            : { ok: false, reason: `skipped: over ${limitS} s (at ${at}${warm})` };
        break;
      }
      await sleep(500);
    }
    env = last?.env ?? null;
  } catch (e) {
    outcome = { ok: false, reason: shortReason('failed', (e as Error).message) };
  }
  const closed = await within(
    context.close().then(() => true),
    15_000,
    false,
  );
  // A cell stopped at the limit may leave work running (a busy renderer, WebGPU work queued in the GPU
  // process): the driver then starts a new browser before the next cell.
  return { outcome, env, started, healthy: closed && finished };
}

/** Runs one cell in a Node child process; never throws. */
function nodeCell(req: StepCellRequest, limitS: number): Promise<CellOutcome<unknown>> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/step-node.ts', JSON.stringify(req)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let stage = 'start';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /: ([^:\n]+)\n$/.exec(d.toString());
      if (m) stage = m[1];
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, reason: `skipped: over ${limitS} s (at ${stage})` });
    }, limitS * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (code === 0 && line) resolve({ ok: true, value: JSON.parse(line.slice(RESULT_MARK.length)) });
      else {
        const lines = err
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => l && !l.startsWith('=') && !/^(Hi, looks like|\w+ \w+ \w+: )/.test(l));
        resolve({ ok: false, reason: shortReason('failed', lines.at(-1) ?? `exit code ${code}`) });
      }
    });
  });
}

/**
 * The order cells run in: per preset MLM (the cheapest step: the reader over B passages), then REALM
 * (the reader over B x k), then ICT (both embedders over the larger ICT batch).
 */
const RUN_ORDER: readonly StepPhase[] = ['mlm', 'realm', 'ict'];
function runOrder(rows: readonly StepTableRow[]): StepTableRow[] {
  const presets = [...new Set(rows.map((r) => r.preset))];
  const key = (r: StepTableRow) => presets.indexOf(r.preset) * RUN_ORDER.length + RUN_ORDER.indexOf(r.phase);
  return [...rows].sort((a, b) => key(a) - key(b));
}

/**
 * A cell stopped before its warm-up step ended says the preset's heavier phases would too: the rest of
 * that backend x preset is skipped with this reason (by preset), instead of each waiting out the limit.
 */
function stopRest(row: StepTableRow, c: CellOutcome<unknown>): Record<string, string> {
  if (c.ok || !c.reason.startsWith('skipped') || !/at (start|warm-up)/.test(c.reason)) return {};
  return { [row.preset]: `skipped: the ${row.phase.toUpperCase()} warm-up step did not end within the limit` };
}

function describeAdapter(env: PageEnv | null): string {
  const a = env?.adapter;
  if (!a) return 'no WebGPU adapter';
  const name = [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ');
  return `${name}${a.software ? ' (a software adapter: WebGPU emulated on the CPU)' : ''}`;
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  if (o.build) {
    console.log(`building the bench pages into ${DIST}/ ...`);
    await build({
      configFile: fileURLToPath(new URL('../vite.lab.config.ts', import.meta.url)),
      logLevel: 'warn',
      build: { outDir: DIST, emptyOutDir: true },
    });
  }
  const columns = [...o.backends, ...(o.node ? ['wasm (node)', 'cpu (node)'] : [])];
  const rows: StepTableRow[] = [];
  for (const preset of o.presets) for (const phase of o.phases) rows.push({ preset, phase, cells: {} });
  const matMul: CellOutcome<MatMulResult[]>[] = [];
  const envs: Record<string, PageEnv | null> = {};
  const started = Date.now();
  const log = (column: string, what: string, c: CellOutcome<unknown>) =>
    console.log(`  ${column} ${what}: ${c.ok ? 'ok' : c.reason} (${((Date.now() - started) / 1000).toFixed(0)} s into the run)`);

  /**
   * One column of the table: the backend's plain matMul, then every row in run order, through `cell`
   * (a browser page or a Node child process). After a cell that failed or ran out of time, the heavier
   * phases of its preset are not tried (`stopRest`).
   */
  const runColumn = async (
    column: string,
    backend: string,
    corpus: string,
    cell: (req: StepCellRequest) => Promise<CellOutcome<unknown>>,
  ) => {
    const mm = (await cell({ kind: 'matmul', backend, presets: o.presets })) as CellOutcome<MatMulResult[]>;
    log(column, 'matMul', mm);
    matMul.push(mm);
    let stopped: Record<string, string> = {};
    for (const row of runOrder(rows)) {
      if (stopped[row.preset]) {
        row.cells[column] = { ok: false, reason: stopped[row.preset] };
        continue;
      }
      const c = await cell({
        kind: 'step',
        backend,
        preset: row.preset,
        phase: row.phase,
        steps: o.steps,
        slowMs: o.slowMs,
        corpus,
      });
      log(column, `${row.preset} ${row.phase}`, c);
      row.cells[column] = c as CellOutcome<StepCellResult>;
      stopped = { ...stopped, ...stopRest(row, c) };
    }
  };

  let session = await serveAndLaunch(ROOT, DIST);
  try {
    for (const backend of o.backends) {
      const cell = async (req: StepCellRequest) => {
        const restart = async () => {
          await within(session.close(), 15_000, undefined);
          session = await serveAndLaunch(ROOT, DIST);
        };
        let r = await browserCell(session.browser, session.baseUrl, req, o.cellLimitS);
        if (!r.healthy) await restart();
        // A page that did not even load had a busy browser to blame: once more, in the new one.
        if (!r.started) {
          r = await browserCell(session.browser, session.baseUrl, req, o.cellLimitS);
          if (!r.healthy) await restart();
        }
        if (r.env) envs[backend] = r.env;
        return r.outcome;
      };
      await runColumn(backend, backend, './corpus/tiny', cell);
    }
  } finally {
    await within(session.close(), 15_000, undefined);
  }
  if (o.node) {
    for (const backend of ['wasm', 'cpu'])
      await runColumn(`${backend} (node)`, backend, 'public/corpus/tiny', (req) => nodeCell(req, o.cellLimitS));
  }

  // Each backend's best plain-matMul rate of the shapes measured is the yardstick of its steps.
  const bestMatMul: Record<string, number> = {};
  matMul.forEach((m, i) => {
    if (m.ok) bestMatMul[columns[i]] = Math.max(...m.value.map((r) => r.gflops));
  });
  const any = Object.values(envs).find((e) => e) ?? null;
  const wasmEnv = envs.wasm;
  const gpuErrors = Object.entries(envs).flatMap(([b, e]) => (e?.gpuErrors ?? []).map((m) => `${b}: ${m}`));
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${process.platform}`;
  const md = [
    `Step benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${o.steps} timed steps per cell (fewer where a warm-up step took over ${o.slowMs / 1000} s), bundled tiny corpus.`,
    `Machine: ${machine}; load average at the end ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}.`,
    `Browser: headless Chromium ${any?.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? ''}` +
      (o.backends.includes('webgpu') ? `; WebGPU adapter: ${describeAdapter(envs.webgpu ?? null)}.` : '.'),
    wasmEnv
      ? `wasm in the page: SIMD ${wasmEnv.wasmSimd ? 'on' : 'off'}, threads ${wasmEnv.wasmThreads ? 'on' : 'off'} (crossOriginIsolated ${wasmEnv.crossOriginIsolated}).`
      : '',
    gpuErrors.length ? `WebGPU errors during the run (those rows are suspect): ${gpuErrors.slice(0, 3).join('; ')}` : '',
    '',
    formatStepTable(rows, columns, bestMatMul),
    '',
    'Plain tf.matMul, GFLOP/s (ms per product) on each backend, in the same run; "matMul GFLOP/s" above is the best of these per backend:',
    '',
    formatMatMulTable(matMul, columns),
    '',
  ]
    .filter((l, i, all) => l !== '' || all[i - 1] !== '')
    .join('\n');
  console.log(`\n${md}`);
  const out = resolve(ROOT, o.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, md);
  writeFileSync(`${out.replace(/\.md$/, '')}.json`, JSON.stringify({ options: o, machine, envs, matMul, rows }, null, 1));
  console.log(`written to ${o.out} (and .json)`);
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
