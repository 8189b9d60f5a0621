// What every CLI does first and last: start the tfjs backend it was asked for, and write its report
// as JSON (NaN and ±Infinity, which JSON cannot hold, as null).
import { writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { installWasmKernels } from '../src/platform/wasm-kernels';

/** Starts `backend` (wasm by default: single-threaded, with the app's wasm kernels; see src/platform/wasm-kernels.ts). */
export async function startBackend(backend = 'wasm'): Promise<void> {
  if (backend === 'wasm') {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    installWasmKernels(); // data-sharing Identity, XNNPACK matMuls
  }
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not start: use --backend cpu`);
  await tf.ready();
}

/** Writes `value` to `file` as indented JSON, non-finite numbers as null. */
export function writeJsonReport(file: string, value: unknown): void {
  writeFileSync(
    file,
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n',
  );
}
