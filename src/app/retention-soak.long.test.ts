// The 1,000-step retention soak of docs/reliability.md: a tiny-preset run on the wasm backend with a
// checkpoint every 10 steps keeps at most keepCheckpoints + 1 checkpoints, and numTensors is flat.
// Too long for the unit suite (which runs a short one in run-reliability.test.ts): it runs only with
// SOAK=1, e.g. `SOAK=1 SOAK_STEPS=1000 npx vitest run src/app/retention-soak.long.test.ts`.
import 'fake-indexeddb/auto';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { describe, expect, it } from 'vitest';
import { soakRun } from '../testing/retention-soak';

const steps = Number(process.env.SOAK_STEPS ?? 1000);

describe.skipIf(!process.env.SOAK)('retention soak (SOAK=1)', () => {
  it(`${steps} tiny-preset steps on wasm, a checkpoint every 10: at most N + 1 kept, numTensors flat`, async () => {
    const third = Math.floor(steps / 3);
    const r = await soakRun({
      ictSteps: third,
      mlmSteps: third,
      realmSteps: steps - 2 * third,
      checkpointEvery: 10,
      keepCheckpoints: 2,
      evalEvery: 100,
      dbName: 'soak-long',
      backend: 'wasm',
      // The wasm binaries from node_modules (the app's bundled URLs mean nothing in Node).
      beforeRun: async () => {
        const dist = resolve('node_modules/@tensorflow/tfjs-backend-wasm/dist');
        const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;
        setWasmPaths(Object.fromEntries(names.map((n) => [n, `${dist}/${n}`])) as Record<(typeof names)[number], string>);
      },
    });
    const byPhase = (phase: string) => r.tensors.filter((t) => t.phase === phase).map((t) => t.numTensors);
    console.log(
      JSON.stringify({
        backend: tf.getBackend(),
        steps: r.steps,
        seconds: r.seconds,
        checkpointsWritten: r.checkpointsWritten,
        maxKept: r.maxKept,
        keptAtEnd: r.keptAtEnd,
        bestStep: r.bestStep,
        numTensors: { first: r.tensors[0]?.numTensors, last: r.tensors.at(-1)?.numTensors },
        perPhase: Object.fromEntries(['ict', 'mlm', 'realm'].map((p) => [p, [...new Set(byPhase(p))]])),
        before: r.tensorsBefore,
        afterDispose: r.tensorsAfterDispose,
        errors: r.errors,
      }),
    );
    expect(r.status).toBe('done');
    expect(r.steps).toBe(steps);
    expect(r.maxKept).toBeLessThanOrEqual(3);
    for (const p of ['ict', 'mlm', 'realm']) expect(new Set(byPhase(p).slice(1)).size).toBeLessThanOrEqual(1);
    expect(r.tensorsAfterDispose).toBe(r.tensorsBefore);
  }, 3_600_000);
});
