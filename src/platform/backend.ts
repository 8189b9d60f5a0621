// Backend selection: webgpu, then wasm, then webgl, then cpu.
//
// The decision is split in two so that it can be unit-tested in Node:
//   planBackends()  pure: given what is available, what was asked for and a probe, returns the order
//                   to try and the human-readable notes that explain it;
//   selectBackend() effects: detects the WebGPU adapter, probes webgpu against wasm on a software
//                   adapter, calls tf.setBackend in the planned order and verifies the result.
// The app never falls back silently: every deviation from the request becomes a note.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { installFoldedAddN } from './addn-fold';
import { installWasmKernels } from './wasm-kernels';

type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';
export type BackendRequest = BackendName | 'auto';

/** Preference order when nothing is requested. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'wasm', 'webgl', 'cpu'];

/** What we learn about the WebGPU adapter; shown in the header badge. */
interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser such as SwiftShader: WebGPU runs on the CPU. */
  software: boolean;
  limits: {
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxBufferSize: number;
    maxComputeInvocationsPerWorkgroup: number;
  };
  features: string[];
}

/** Milliseconds per probe matMul on each backend (lower is faster). */
export interface ProbeResult {
  webgpuMs: number;
  wasmMs: number;
  shapes: [number, number, number][];
}

type Availability = Partial<Record<BackendName, string | true>>;

interface BackendPlan {
  order: BackendName[];
  notes: string[];
}

export interface BackendReport {
  backend: BackendName;
  requested: BackendRequest;
  adapter: AdapterReport | null;
  probe: ProbeResult | null;
  notes: string[];
}

/** Thrown when no backend at all could be initialised. */
class BackendUnavailableError extends Error {
  constructor(detail: string) {
    super(
      `No TensorFlow.js backend could start (${detail}). ` +
        'Use a recent Chrome or Edge (113+) with WebGPU, or open the app with ?backend=cpu.',
    );
    this.name = 'BackendUnavailableError';
  }
}

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render|warp/i;

/** A software adapter emulates the GPU on the CPU (SwiftShader in headless Chromium). */
export function isSoftwareAdapter(
  info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean },
  isFallbackAdapter?: boolean,
): boolean {
  if (isFallbackAdapter === true || info.isFallbackAdapter === true) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  return SOFTWARE_NAMES.test(text);
}

/** Reads `?backend=` (or any string); unknown values fall back to auto with a note. */
export function parseBackendRequest(value: string | null | undefined): { request: BackendRequest; note?: string } {
  if (value == null || value === '' || value === 'auto') return { request: 'auto' };
  const v = value.toLowerCase();
  if ((BACKEND_ORDER as readonly string[]).includes(v)) return { request: v as BackendName };
  return {
    request: 'auto',
    note: `Unknown backend "${value}" in the URL; valid values are ${BACKEND_ORDER.join(', ')} or auto. Choosing automatically.`,
  };
}

/**
 * Pure decision. `available[name]` is `true` when the backend can be tried, or a string saying why not.
 * A backend missing from `available` is assumed to be worth trying.
 */
export function planBackends(
  request: BackendRequest,
  available: Availability,
  software: boolean,
  probe: ProbeResult | null,
): BackendPlan {
  const notes: string[] = [];
  const ok = (b: BackendName) => available[b] === undefined || available[b] === true;
  const why = (b: BackendName) => (typeof available[b] === 'string' ? (available[b] as string) : 'not available');
  const usable = BACKEND_ORDER.filter(ok);

  if (software && ok('webgpu')) {
    notes.push('WebGPU is emulated on the CPU by a software adapter (no GPU was found): it works, but slowly.');
  }

  if (request !== 'auto') {
    if (ok(request)) {
      return { order: [request, ...usable.filter((b) => b !== request)], notes };
    }
    notes.push(`You asked for the ${request} backend, but it is unavailable: ${why(request)}.`);
    return { order: usable, notes };
  }

  if (!ok('webgpu')) {
    notes.push(`WebGPU is unavailable: ${why('webgpu')}. Use Chrome or Edge 113+ (see chrome://gpu).`);
  }
  let order = usable;
  if (software && ok('webgpu') && ok('wasm')) {
    if (probe) {
      const faster: BackendName = probe.wasmMs < probe.webgpuMs ? 'wasm' : 'webgpu';
      notes.push(
        `Probe: webgpu ${probe.webgpuMs.toFixed(1)} ms, wasm ${probe.wasmMs.toFixed(1)} ms per matMul; ` +
          `${faster} is faster here, so it is the default. Add ?backend=webgpu to force WebGPU.`,
      );
      order = [faster, ...usable.filter((b) => b !== faster)];
    } else {
      notes.push('The webgpu/wasm speed probe did not run; keeping WebGPU.');
    }
  }
  return { order, notes };
}

/** Where the wasm binaries are served from (the browser passes Vite asset URLs; Node needs none). */
export type WasmPaths = Record<string, string>;

let wasmConfigured = false;
function configureWasm(paths?: WasmPaths): void {
  if (wasmConfigured) return;
  // A minified build hung on the threaded wasm binary: always run wasm single-threaded (ENV.md).
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (paths) setWasmPaths(paths);
  // Identity that shares data, BatchMatMul through XNNPACK, fast gathers and sums (wasm-kernels.ts).
  installWasmKernels();
  wasmConfigured = true;
}

interface NavigatorWithGpu {
  gpu?: GPU;
}

/** Queries the WebGPU adapter, if any. Returns a reason string when there is none. */
async function detectAdapter(): Promise<AdapterReport | string> {
  const nav = (globalThis as { navigator?: NavigatorWithGpu }).navigator;
  if (!nav?.gpu) return 'navigator.gpu is missing (this browser has no WebGPU, or it is disabled)';
  let adapter: GPUAdapter | null;
  try {
    adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return `requestAdapter failed: ${(e as Error).message}`;
  }
  if (!adapter) return 'requestAdapter() returned no adapter (blocklisted GPU or driver)';
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const raw = {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter,
  };
  return {
    vendor: raw.vendor,
    architecture: raw.architecture,
    device: raw.device,
    description: raw.description,
    software: isSoftwareAdapter(raw, fallback),
    limits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
      maxBufferSize: adapter.limits.maxBufferSize,
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    },
    features: [...adapter.features].sort(),
  };
}

/** Model-sized matMuls: [M, K, N] for (queries x hidden) . (hidden x hidden). */
const DEFAULT_PROBE_SHAPES: [number, number, number][] = [
  [128, 256, 256],
  [64, 256, 1024],
];

async function timeMatMuls(shapes: [number, number, number][], reps: number): Promise<number> {
  const operands = shapes.map(([m, k, n]) => [tf.randomNormal([m, k]), tf.randomNormal([k, n])] as const);
  try {
    const run = async () => {
      for (const [a, b] of operands) {
        const c = tf.matMul(a, b);
        await c.data();
        c.dispose();
      }
    };
    await run(); // warm-up: shader compilation, buffer allocation
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) await run();
    return (performance.now() - t0) / (reps * shapes.length);
  } finally {
    operands.forEach(([a, b]) => tf.dispose([a, b]));
  }
}

/** Times the same matMuls on webgpu and wasm. Leaves the backend on whichever ran last. */
async function probeWebgpuVsWasm(
  shapes: [number, number, number][] = DEFAULT_PROBE_SHAPES,
  reps = 3,
): Promise<ProbeResult | null> {
  try {
    if (!(await tf.setBackend('webgpu'))) return null;
    const webgpuMs = await timeMatMuls(shapes, reps);
    if (!(await tf.setBackend('wasm'))) return null;
    const wasmMs = await timeMatMuls(shapes, reps);
    return { webgpuMs, wasmMs, shapes };
  } catch {
    return null;
  }
}

interface SelectOptions {
  request?: BackendRequest;
  /** Vite asset URLs of the wasm binaries, keyed by file name. */
  wasmPaths?: WasmPaths;
  /** Run the webgpu-vs-wasm probe on a software adapter (default true). */
  probe?: boolean;
  probeShapes?: [number, number, number][];
  /** Notes to prepend (for example an unknown `?backend=` value). */
  notes?: string[];
  /**
   * Replace tfjs-webgpu's AddN with one that fits the device's storage-buffer limit (default true;
   * false only to show what goes wrong without it).
   */
  foldAddN?: boolean;
}

/** Detects, plans, and initialises a backend. Always reports why it chose what it chose. */
export async function selectBackend(opts: SelectOptions = {}): Promise<BackendReport> {
  const request = opts.request ?? 'auto';
  configureWasm(opts.wasmPaths);
  if (opts.foldAddN !== false) installFoldedAddN();
  const adapterOrReason = await detectAdapter();
  const adapter = typeof adapterOrReason === 'string' ? null : adapterOrReason;
  const available: Availability = {
    webgpu:
      typeof adapterOrReason === 'string'
        ? adapterOrReason
        : tf.findBackendFactory('webgpu')
          ? true
          : 'the tfjs webgpu backend is not registered',
    wasm: typeof WebAssembly === 'object' ? true : 'WebAssembly is not supported',
    webgl: tf.findBackendFactory('webgl') ? true : 'the webgl backend is not registered here',
  };
  const software = adapter?.software ?? false;
  const probe =
    request === 'auto' && software && available.webgpu === true && opts.probe !== false
      ? await probeWebgpuVsWasm(opts.probeShapes)
      : null;
  const plan = planBackends(request, available, software, probe);
  const notes = [...(opts.notes ?? []), ...plan.notes];

  for (const name of plan.order) {
    let reason = '';
    try {
      if ((await tf.setBackend(name)) && tf.getBackend() === name) {
        await tf.ready();
        return { backend: name, requested: request, adapter, probe, notes };
      }
      reason = `tf.setBackend('${name}') returned false`;
    } catch (e) {
      reason = (e as Error).message;
    }
    notes.push(`The ${name} backend failed to start (${reason}); trying the next one.`);
  }
  throw new BackendUnavailableError(notes.join(' '));
}
