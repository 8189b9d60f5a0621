// A pre-training run under faults: retention over a run (at most N + 1 checkpoints, numTensors flat),
// a failed resume frees every tensor, and a checkpoint that fails on Pause or Stop is reported, never
// thrown at the button (no unhandled rejection), with the stored checkpoints intact.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { syntheticWorld } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { microConfig } from '../testing/micro-config';
import { RealmStore } from '../storage/db';
import { injectQuotaExceeded, storeFingerprint } from '../testing/storage-faults';
import { soakRun } from '../testing/retention-soak';
import type { BuilderSupervisor } from '../workers/index-builder-client';
import { PretrainingRun, type RunSettings } from './pretraining-run';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
let restore: (() => void) | null = null;
afterEach(() => {
  restore?.();
  restore = null;
});

const data = syntheticWorld(8, { seedRng: new Rng(3) });
const config = microConfig(data, {
  ictBatchSize: 4,
  ictSteps: 40,
  mlmSteps: 0,
  realmSteps: 0,
});
const builder = {} as BuilderSupervisor;
let n = 0;

/** Trains `run` until it has taken at least `steps` steps, then pauses it (its checkpoint written). */
async function trainTo(run: PretrainingRun, steps: number): Promise<void> {
  run.start();
  while (run.step < steps) await new Promise((r) => setTimeout(r, 2));
  await run.pause();
}

/** A run paused after `pauseAt` steps, its only checkpoint the pause's (loop checkpoints every 100 steps). */
async function pausedRun(pauseAt: number) {
  const store = await RealmStore.open(`run-reliability-${n++}`);
  const errors: Error[] = [];
  const settings: RunSettings = { runId: `r${n}`, corpusId: 'c', config, policy: 'sync', checkpointEvery: 100, evalEvery: 0 };
  const run = await PretrainingRun.create(settings, data, store, builder, { error: (e) => errors.push(e) });
  await trainTo(run, pauseAt);
  const saved = (await store.latestCheckpoint(settings.runId))!.step;
  return { store, run, errors, settings, saved };
}

describe('a pre-training run under faults', () => {
  it('retention over a run: at most keepCheckpoints + 1 stored after every checkpoint, numTensors flat', async () => {
    const r = await soakRun({
      ictSteps: 12,
      mlmSteps: 12,
      realmSteps: 12,
      checkpointEvery: 2,
      keepCheckpoints: 2,
      evalEvery: 6,
      dbName: 'soak-unit',
      backend: 'cpu',
      overrides: { ...config, batchSize: 2, refreshEvery: 4 },
    });
    expect(r.status).toBe('done');
    expect(r.errors).toEqual([]);
    expect(r.steps).toBe(36);
    expect(r.checkpointsWritten).toBe(18);
    expect(r.maxKept).toBeLessThanOrEqual(3);
    expect(r.keptAtEnd.slice(-2)).toEqual([34, 36]);
    expect(r.bestStep).not.toBeNull();
    expect(r.keptAtEnd).toContain(r.bestStep);
    // Flat within each phase (the REALM phase holds its index besides the model and optimiser).
    for (const phase of ['ict', 'mlm', 'realm']) {
      const counts = r.tensors.filter((t) => t.phase === phase).map((t) => t.numTensors);
      expect(new Set(counts.slice(1)).size, `${phase}: ${counts.join(' ')}`).toBeLessThanOrEqual(1);
    }
    expect(r.tensorsAfterDispose).toBe(r.tensorsBefore);
  }, 120_000);

  it('failed resume (a checkpoint weight of the wrong shape): a clear error, and every tensor freed', async () => {
    const { store, run, settings } = await pausedRun(4);
    run.dispose();
    const latest = (await store.latestCheckpoint(settings.runId))!;
    const [w0, ...rest] = latest.weights;
    await store.putCheckpoint({ ...latest, weights: [{ ...w0, shape: [w0.shape.reduce((a, b) => a * b, 1)] }, ...rest] });
    const before = tf.memory().numTensors;
    await expect(PretrainingRun.resume(settings.runId, data, store, builder)).rejects.toThrow(/has shape .* the model expects/);
    expect(tf.memory().numTensors).toBe(before);
    store.close();
  });

  it('quota exceeded on the Pause checkpoint: pause() resolves, the error is reported, stored checkpoints intact', async () => {
    const { store, run, errors, settings, saved } = await pausedRun(4);
    const before = (await storeFingerprint(store)).checkpoints;
    restore = injectQuotaExceeded('put', 'checkpoints');
    run.start();
    while (run.step < saved + 2) await new Promise((r) => setTimeout(r, 2));
    await expect(run.pause()).resolves.toBeUndefined();
    expect(errors.map((e) => e.name)).toEqual(['StorageFullError']);
    expect(errors[0].message).toMatch(
      new RegExp(
        `paused at step ${run.step}, but its checkpoint could not be saved .*Storage still holds its checkpoint at step ${saved}`,
      ),
    );
    restore();
    restore = null;
    expect((await storeFingerprint(store)).checkpoints).toEqual(before);
    // Stop tries again, now with room: the checkpoint is written.
    await expect(run.stop()).resolves.toBeUndefined();
    expect((await store.latestCheckpoint(settings.runId))!.step).toBe(run.step);
    run.dispose();
    store.close();
  });

  it('quota exceeded on the Stop checkpoint: stop() resolves and says what is kept', async () => {
    const { store, run, errors, saved } = await pausedRun(2);
    restore = injectQuotaExceeded('put', 'checkpoints');
    run.start();
    while (run.step < saved + 1) await new Promise((r) => setTimeout(r, 2));
    await expect(run.stop()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(
      new RegExp(`stopped at step ${run.step}, but its checkpoint could not be saved.*checkpoint at step ${saved}`),
    );
    run.dispose();
    store.close();
  });
});
