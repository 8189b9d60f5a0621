// The pure half of `npm run bench:step` (no tfjs, no DOM, no Node): the FLOPs of the matMul kernels a
// step ran, counted from their shapes, and the markdown tables the driver prints. The measuring half
// is bench/step-timing.ts; the driver is bench/step.ts.

export type StepPhase = 'ict' | 'mlm' | 'realm';
export const STEP_PHASES: readonly StepPhase[] = ['ict', 'mlm', 'realm'];

/** What the driver asks of one cell (a page's query string, or a Node runner's argument). */
export type StepCellRequest =
  | { kind: 'step'; backend: string; preset: string; phase: StepPhase; steps: number; slowMs: number; corpus: string }
  | { kind: 'matmul'; backend: string; presets: string[] };

/** The Node runner's result line starts with this. */
export const RESULT_MARK = 'STEP_RESULT ';

/** One kernel call, as bench/step-timing.ts records it (the same fields as tf.profile's records). */
export interface KernelShapes {
  name: string;
  inputShapes: number[][];
  outputShapes: number[][];
}

/** The kernels that do the model's matrix products (tfjs-core names; _FusedMatMul adds bias and activation). */
const MATMUL_KERNELS = new Set(['BatchMatMul', '_FusedMatMul']);

/**
 * FLOPs of one matMul-family kernel: 2 x (output elements) x K, where K is the shared dimension. The
 * output [..., M, N] fixes M; A is [..., M, K] or (transposed) [..., K, M] and holds batchA x M x K
 * elements either way, so K = (A's last two dims) / M, whatever the transpose flags were. 0 for any
 * other kernel.
 */
export function matMulFlops(k: KernelShapes): number {
  if (!MATMUL_KERNELS.has(k.name)) return 0;
  const a = k.inputShapes[0];
  const out = k.outputShapes[0];
  if (!a || !out || a.length < 2 || out.length < 2) return 0;
  const m = out[out.length - 2];
  if (m === 0) return 0;
  const inner = (a[a.length - 2] * a[a.length - 1]) / m;
  const outSize = out.reduce((p, d) => p * d, 1);
  return 2 * outSize * inner;
}

/** Matrix-product FLOPs and kernel calls of a recorded step. */
export function countStepWork(kernels: readonly KernelShapes[]): { flops: number; kernels: number; matMuls: number } {
  let flops = 0;
  let matMuls = 0;
  for (const k of kernels) {
    const f = matMulFlops(k);
    flops += f;
    if (MATMUL_KERNELS.has(k.name)) matMuls++;
  }
  return { flops, kernels: kernels.length, matMuls };
}

/** GFLOP/s of `flops` done in `ms` milliseconds. */
export const gflopsPerSecond = (flops: number, ms: number): number => flops / ms / 1e6;

/** What one phase cell measured (bench/step-timing.ts fills it). All times in ms. */
export interface StepCellResult {
  phase: StepPhase;
  preset: string;
  backend: string;
  /** Timed steps (after the recorded warm-up step). */
  steps: number;
  /** Repetitions of each part measured alone. */
  reps: number;
  /** Wall time of the recorded first step (webgpu: shader compilation included). */
  warmupMs: number;
  /** Median wall time of a trainer.step() (which ends by reading the step's loss) over the timed steps. */
  stepMs: number;
  /** Each timed step's wall time. */
  stepTimes: number[];
  /** The phase's loss alone (as the trainer's loss function computes it), no gradient: median. */
  forwardMs: number;
  /** The same loss with tf.variableGrads over the phase's variables: median. */
  forwardBackwardMs: number;
  /** One AdamW update of the phase's variables (global-norm clip included) with given gradients: median. */
  optimizerMs: number;
  /** REALM: the MIPS top-(k-1) search alone on [B, d] query embeddings (null for ICT, MLM). */
  searchMs: number | null;
  /** REALM: prepareRealmBatch (query embedding + search + reader inputs); null otherwise. */
  prepareMs: number | null;
  /** MLM and REALM: the reader's MLM logits over the step's reader inputs, forward only (null for ICT). */
  readerMs: number | null;
  /** Matrix-product FLOPs of one step (the recorded one), forward and backward. */
  matMulFlops: number;
  /** Kernel launches of one step, and how many were matrix products. */
  kernels: number;
  matMuls: number;
  /** Tensors left after the trainer was disposed. */
  leakedTensors: number;
  /** Shapes of the last timed step's batch: [rows, length] per encoder input. */
  shapes: Record<string, [number, number]>;
}

/** A plain tf.matMul [m, k] x [k, n] timed on one backend. */
export interface MatMulResult {
  backend: string;
  m: number;
  k: number;
  n: number;
  ms: number;
  reps: number;
  gflops: number;
}

/**
 * What one cell of the run produced: a result (with `note` when it is partial: a cell stopped at the
 * limit after its steps were timed, whose unmeasured parts are NaN), or why not.
 */
export type CellOutcome<T> = { ok: true; value: T; note?: string } | { ok: false; reason: string };

/** A cell stopped part-way: what it measured, every part it did not reach as NaN (printed as —). */
export function partialCell(p: Partial<StepCellResult> & Pick<StepCellResult, 'stepMs'>): StepCellResult {
  return {
    phase: 'ict',
    preset: '',
    backend: '',
    steps: 0,
    reps: 0,
    warmupMs: NaN,
    stepTimes: [],
    forwardMs: NaN,
    forwardBackwardMs: NaN,
    optimizerMs: NaN,
    searchMs: NaN,
    prepareMs: NaN,
    readerMs: NaN,
    matMulFlops: NaN,
    kernels: NaN,
    matMuls: NaN,
    leakedTensors: NaN,
    shapes: {},
    ...p,
  };
}

export interface StepTableRow {
  preset: string;
  phase: StepPhase;
  /** By backend name. */
  cells: Record<string, CellOutcome<StepCellResult>>;
}

const pct = (part: number | null, whole: number): string =>
  part === null || !Number.isFinite(part) ? '—' : `${Math.round((100 * part) / whole)}%`;

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const gf = (x: number | undefined): string =>
  x === undefined || !Number.isFinite(x) ? '—' : x >= 10 ? x.toFixed(1) : x.toFixed(2);

/**
 * The parts of a step in ms: forward (the loss), backward (gradients: forward+backward minus forward),
 * the optimizer update, the MIPS search (REALM), and the rest (the query embedding for the search,
 * batch building, metric reads, and whatever the parts alone do not show): forward + backward +
 * optimizer + search + other = the step. The reader's forward is a part of the forward.
 */
export function stepShares(r: StepCellResult): {
  forward: number;
  backward: number;
  optimizer: number;
  search: number;
  other: number;
} {
  const forward = r.forwardMs;
  const backward = Math.max(0, r.forwardBackwardMs - r.forwardMs);
  const search = r.searchMs ?? 0;
  const optimizer = r.optimizerMs;
  return { forward, backward, optimizer, search, other: r.stepMs - forward - backward - optimizer - search };
}

/**
 * One markdown table: a row per preset x phase x backend with ms/step, the shares, achieved GFLOP/s
 * and the backend's plain matMul GFLOP/s (`matMul[backend]`) measured in the same run.
 */
export function formatStepTable(
  rows: readonly StepTableRow[],
  backends: readonly string[],
  matMul: Record<string, number>,
): string {
  const head = [
    '| preset | phase | backend | ms/step | search | reader fwd | forward | backward | optimizer | other | kernels/step | GFLOP/s | matMul GFLOP/s | of matMul |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const lines: string[] = [];
  const notes: string[] = [];
  for (const row of rows) {
    for (const backend of backends) {
      const cell = row.cells[backend];
      if (!cell) continue;
      const lead = `| ${row.preset} | ${row.phase.toUpperCase()} | ${backend} |`;
      if (!cell.ok) {
        lines.push(`${lead} ${cell.reason.replace(/\|/g, '/').replace(/\s+/g, ' ')} | | | | | | | | | | |`);
        continue;
      }
      const r = cell.value;
      const s = stepShares(r);
      const achieved = gflopsPerSecond(r.matMulFlops, r.stepMs);
      const peak = matMul[backend];
      const mark = cell.note ? ` †${notes.push(`${row.preset} ${row.phase.toUpperCase()} ${backend}: ${cell.note}`)}` : '';
      lines.push(
        `${lead} ${ms(r.stepMs)}${mark} | ${pct(r.searchMs, r.stepMs)} | ${pct(r.readerMs, r.stepMs)} | ${pct(s.forward, r.stepMs)} | ` +
          `${pct(s.backward, r.stepMs)} | ${pct(s.optimizer, r.stepMs)} | ${pct(s.other, r.stepMs)} | ` +
          `${Number.isFinite(r.kernels) ? r.kernels : '—'} | ${gf(achieved)} | ${gf(peak)} | ${peak ? pct(achieved, peak) : '—'} |`,
      );
    }
  }
  return [...head, ...lines, ...(notes.length ? ['', ...notes.map((n, i) => `†${i + 1} ${n}`)] : [])].join('\n');
}

/** The plain-matMul table: GFLOP/s per backend (columns) for each shape (rows). */
export function formatMatMulTable(results: readonly CellOutcome<MatMulResult[]>[], backends: readonly string[]): string {
  const byShape = new Map<string, Record<string, string>>();
  const failed: Record<string, string> = {};
  results.forEach((res, i) => {
    const backend = backends[i];
    if (!res.ok) {
      failed[backend] = res.reason;
      return;
    }
    for (const r of res.value) {
      const key = `${r.m} x ${r.k} x ${r.n}`;
      const row = byShape.get(key) ?? {};
      row[backend] = `${gf(r.gflops)} (${ms(r.ms)} ms)`;
      byShape.set(key, row);
    }
  });
  const lines = [`| matMul [m, k] x [k, n] | ${backends.join(' | ')} |`, `| --- | ${backends.map(() => '---:').join(' | ')} |`];
  for (const [shape, row] of byShape) lines.push(`| ${shape} | ${backends.map((b) => row[b] ?? failed[b] ?? '—').join(' | ')} |`);
  return lines.join('\n');
}

/** The first `n` characters of a one-line reason (error messages can be long). */
export function shortReason(prefix: 'failed' | 'skipped', message: string, n = 160): string {
  const one = message.replace(/\s+/g, ' ').trim();
  return `${prefix}: ${one.length > n ? `${one.slice(0, n - 1)}…` : one}`;
}
