// The step bench page (step.html): one cell of `npm run bench:step` per page load, so that a backend
// that aborts or runs out of memory takes only its own cell down. `?cell=` holds the StepCellRequest
// as JSON; the page selects that backend, measures, and leaves its state in `window.__step` for the
// driver (bench/step.ts) to read: the stage it is at and what it has measured so far, then the result.
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendReport } from '../../src/platform/backend';
import { WASM_PATHS } from '../../src/platform/wasm-assets';
import { createMipsIndex } from '../../src/kernels/mips-index';
import { pageGpuMonitor, webgpuDevice } from '../../src/platform/gpu-guard';
import type { PresetName } from '../../src/model/config';
import { matMulShapes, measureMatMul, measureStepCell, stepBenchData } from '../step-timing';
import type { StepCellRequest } from '../step-report';

/** What the page shows the driver. */
export interface StepPageState {
  state: 'starting' | 'running' | 'done' | 'failed';
  stage: string;
  partial: unknown;
  result: unknown;
  error: string | null;
  env: {
    backend: string;
    adapter: BackendReport['adapter'];
    wasmSimd: boolean | null;
    wasmThreads: boolean | null;
    crossOriginIsolated: boolean;
    hardwareConcurrency: number;
    userAgent: string;
    gpuErrors: string[];
  } | null;
}

const page: StepPageState = { state: 'starting', stage: '', partial: null, result: null, error: null, env: null };
(globalThis as unknown as { __step: StepPageState }).__step = page;
const status = document.getElementById('status');
const show = (text: string) => {
  if (status) status.textContent = text;
};

async function main() {
  const req = JSON.parse(new URLSearchParams(location.search).get('cell') ?? '') as StepCellRequest;
  const report = await selectBackend({ request: req.backend as 'webgpu' | 'wasm' | 'cpu', wasmPaths: WASM_PATHS, probe: false });
  if (report.backend !== req.backend)
    throw new Error(`asked for ${req.backend}, got ${report.backend}: ${report.notes.join(' ')}`);
  pageGpuMonitor.attach(webgpuDevice());
  const wasm = req.backend === 'wasm';
  page.env = {
    backend: report.backend,
    adapter: report.adapter,
    wasmSimd: wasm ? ((await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean) : null,
    wasmThreads: wasm ? ((await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) as boolean) : null,
    crossOriginIsolated: globalThis.crossOriginIsolated ?? false,
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
    gpuErrors: [],
  };
  page.state = 'running';
  show(`running on ${report.backend}`);
  if (req.kind === 'matmul') {
    page.result = await measureMatMul(matMulShapes(req.presets as PresetName[]));
  } else {
    const text = async (name: string) => {
      const r = await fetch(`${req.corpus}/${name}`);
      if (!r.ok) throw new Error(`${req.corpus}/${name}: HTTP ${r.status}`);
      return r.text();
    };
    const [passages, vocab, cloze] = await Promise.all([text('passages.jsonl'), text('vocab.txt'), text('cloze.jsonl')]);
    const data = stepBenchData({ passages, vocab, cloze }, req.preset as PresetName);
    page.result = await measureStepCell({
      phase: req.phase,
      preset: req.preset as PresetName,
      data,
      steps: req.steps,
      slowMs: req.slowMs,
      indexFactory: createMipsIndex,
      onProgress: (stage, partial) => {
        page.stage = stage;
        page.partial = { ...partial };
        show(`${req.backend} ${req.preset} ${req.phase}: ${stage}`);
      },
    });
  }
  page.env.gpuErrors = pageGpuMonitor.all.map((e) => `${e.kind}: ${e.message}`);
  page.state = 'done';
  show('done');
}

const fail = (e: unknown) => {
  if (page.state === 'done' || page.state === 'failed') return;
  page.error = e instanceof Error ? e.message : String(e);
  page.state = 'failed';
  show(`failed: ${page.error}`);
};
// A wasm abort can surface outside main's promise chain too.
addEventListener('error', (e) => fail(e.error ?? e.message));
addEventListener('unhandledrejection', (e) => fail(e.reason));
main().catch(fail);
