// The small preset (the browser's default demo) trains on wasm in Node: two steps of each phase on
// the bundled tiny corpus, with finite losses, no tensor left behind, and the heap far from the
// 4 GiB a wasm module can address. Before the wasm kernels and the custom gradients, this aborted
// the module ("Aborted()" or "memory access out of bounds") at the end of the first phase.
// About 1-3 minutes on 2 cores.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { guardedWasmStep, installWasmKernels, uninstallWasmKernels, wasmHeapBytes } from '../src/platform/wasm-kernels';
import { makeConfig, PRESETS } from '../src/model/config';
import type { StepMetrics } from '../src/model/metrics';
import { RealmTrainer } from '../src/model/trainer';
import { loadData } from './corpus-loader';

beforeAll(async () => {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
});
afterAll(() => uninstallWasmKernels());

it('2 ICT, 2 MLM and 2 REALM steps of the small preset on wasm: finite losses, tf.memory() flat', async () => {
  const small = PRESETS.small;
  const data = loadData('public/corpus/tiny', 1, {
    masking: small.masking,
    maxQueryLength: small.maxQueryLength,
    maxMasks: small.maxMasks,
  });
  const config = makeConfig('small', { vocabSize: data.vocabSize, ictSteps: 2, mlmSteps: 2, realmSteps: 2 });
  const before = tf.memory().numTensors;
  const trainer = new RealmTrainer({ config, data });
  const steps: StepMetrics[] = [];
  const tensors: number[] = [];
  while (!trainer.done) {
    const at = trainer.phaseAt()!;
    const m = await guardedWasmStep(`${at.phase} step ${at.phaseStep + 1} of the small preset`, () => trainer.step());
    steps.push(m!);
    tensors.push(tf.memory().numTensors);
  }
  expect(steps.map((s) => s.phase)).toEqual(['ict', 'ict', 'mlm', 'mlm', 'realm', 'realm']);
  for (const s of steps) {
    expect(Number.isFinite(s.loss), `${s.phase} step ${s.phaseStep} loss ${s.loss}`).toBe(true);
    expect(Number.isFinite(s.gradNorm), `${s.phase} step ${s.phaseStep} gradient norm ${s.gradNorm}`).toBe(true);
  }
  // The first step of a phase adds that phase's AdamW moments (and REALM's index); the second adds nothing.
  expect([tensors[1] - tensors[0], tensors[3] - tensors[2], tensors[5] - tensors[4]]).toEqual([0, 0, 0]);
  const heap = wasmHeapBytes()!;
  console.log(
    `small on wasm: ${steps.map((s) => `${s.phase} ${s.stepMs.toFixed(0)} ms`).join(', ')}; heap ${(heap / 2 ** 30).toFixed(2)} GiB`,
  );
  expect(heap).toBeLessThan(3 * 2 ** 30);
  trainer.dispose();
  expect(tf.memory().numTensors).toBe(before);
}, 400_000);
