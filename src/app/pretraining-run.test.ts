// The run log of a pre-training run: the inspector's pin records are written at once while the run is
// not training, kept for the next try when storage fails, and handed back on resume up to the checkpoint.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { microConfig } from '../testing/micro-config';
import { GpuErrorMonitor } from '../platform/gpu-guard';
import { syntheticWorld } from '../corpus/data';
import { Rng } from '../corpus/rng';
import type { RealmStore, RunLogRecord, RunRecord } from '../storage/db';
import type { BuilderSupervisor } from '../workers/index-builder-client';
import { pinLogEntry, restorePin, type PinLogEntry } from './pin-log';
import { PretrainingRun, type RunSettings } from './pretraining-run';

/** The part of the store a run uses before it trains, in memory; `failing` makes log writes throw. */
function memoryStore() {
  const runs = new Map<string, RunRecord>();
  const logs: RunLogRecord[] = [];
  const s = {
    failing: false,
    logs,
    async putRun(r: RunRecord) {
      runs.set(r.id, r);
    },
    async getRun(id: string) {
      return runs.get(id);
    },
    async appendRunLogs(add: RunLogRecord[]) {
      if (s.failing) throw new Error('Storage is full: the run logs could not be saved.');
      for (const l of add) {
        if (logs.some((x) => x.runId === l.runId && x.seq === l.seq)) throw new Error(`seq ${l.seq} written twice`);
        logs.push(l);
      }
    },
    async getRunLogs(runId: string) {
      return logs.filter((l) => l.runId === runId).sort((a, b) => a.seq - b.seq);
    },
    checkpoints: [] as { step: number }[],
    async putCheckpoint(c: { step: number }) {
      s.checkpoints.push(c);
    },
    async latestCheckpoint() {
      return s.checkpoints.at(-1);
    },
    async latestEmbeddings() {
      return undefined;
    },
  };
  return s;
}

describe('PretrainingRun: pin records in the run log', () => {
  const data = syntheticWorld(6, { seedRng: new Rng(1) });
  const config = microConfig(data, {
    k: 3,
  });
  const settings: RunSettings = { runId: 'run-t', corpusId: 'c', config, policy: 'sync', checkpointEvery: 5, evalEvery: 0 };
  const builder = {} as BuilderSupervisor;
  const query = { inputIds: [2, 7, 4, 3], maskPositions: [2], targets: [9], sourceDocId: 'd1' };
  const pin = pinLogEntry({ id: 'heldout:0', text: 'a [MASK] b', query, topRows: [3, 1] });
  const point = (step: number): PinLogEntry => ({
    kind: 'pin-point',
    record: { pinId: 'heldout:0', point: { step, version: 1, pz: { null: 1 } }, labels: {}, topRows: [1, 3] },
  });

  it('writes a pin at once while not training, keeps it through a failed write, and resume hands it back', async () => {
    const store = memoryStore();
    const errors: string[] = [];
    const run = await PretrainingRun.create(settings, data, store as unknown as RealmStore, builder, {
      error: (e) => errors.push(e.message),
    });
    await run.logPin(pin);
    expect(store.logs.map((l) => [l.seq, l.kind])).toEqual([[0, 'pin']]);

    store.failing = true;
    await run.logPin(point(0));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/pin was not saved.*Storage is full/);
    expect(store.logs).toHaveLength(1);

    store.failing = false;
    await run.logPin(point(0)); // the failed record goes first, with the seq it would have had
    expect(store.logs.map((l) => [l.seq, l.kind])).toEqual([
      [0, 'pin'],
      [1, 'pin-point'],
      [2, 'pin-point'],
    ]);
    await run.logPin(point(3)); // a point past the restored checkpoint (step 0: no checkpoint stored)
    run.dispose();

    const resumed = await PretrainingRun.resume('run-t', data, store as unknown as RealmStore, builder);
    const restored = restorePin(resumed.restoredPinLog)!;
    expect(restored.pinned.id).toBe('heldout:0');
    expect(restored.pinned.topRows).toEqual([1, 3]);
    expect(restored.points).toHaveLength(2);
    expect(restored.points.map((p) => p.point.step)).toEqual([0, 0]);
    // The resumed run appends after the stored records.
    await resumed.logPin(pinLogEntry(null));
    expect(store.logs.map((l) => l.seq)).toEqual([0, 1, 2, 3, 4]);
    resumed.dispose();
  });
});

describe('PretrainingRun: a lost GPU device', () => {
  const data = syntheticWorld(6, { seedRng: new Rng(2) });
  const config = microConfig(data, {
    ictBatchSize: 4,
    ictSteps: 6,
    mlmSteps: 0,
    realmSteps: 0,
  });
  const builder = {} as BuilderSupervisor;

  /** Runs to the end; `loseAfter(step)` says whether the device is lost after that step's event. */
  async function runWithLosses(
    runId: string,
    checkpointEvery: number,
    loseAfter: (step: number) => boolean,
    noNewDevice = false,
  ) {
    await tf.setBackend('cpu');
    const store = memoryStore();
    const monitor = new GpuErrorMonitor();
    const notices: string[] = [];
    const errors: Error[] = [];
    const losses: number[] = [];
    const lost = new Set<number>();
    let reinitialised = 0;
    const run = await PretrainingRun.create(
      { runId, corpusId: 'c', config, policy: 'sync', checkpointEvery, evalEvery: 0 },
      data,
      store as unknown as RealmStore,
      builder,
      {
        step: (m) => {
          losses.push(m.loss);
          if (!lost.has(m.step) && loseAfter(m.step)) {
            lost.add(m.step);
            monitor.lost = { reason: 'destroyed', message: 'test', time: Date.now() };
          }
        },
        notice: (n) => notices.push(n),
        error: (e) => errors.push(e),
      },
    );
    run.gpu = {
      monitor,
      backend: () => 'webgpu',
      reinitialise: async () => {
        if (noNewDevice) throw new Error('No WebGPU adapter is available.');
        reinitialised++;
        monitor.lost = null;
      },
    };
    const finished = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (run.status !== 'running') {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    run.start();
    await finished;
    return { run, store, notices, errors, losses, reinitialised };
  }

  it('restores the last checkpoint on a new device and ends where an unbroken run ends', async () => {
    const before = tf.memory().numTensors;
    const clean = await runWithLosses('clean', 2, () => false);
    const broken = await runWithLosses('lost', 2, (step) => step === 3);
    expect(clean.run.status).toBe('done');
    expect(broken.run.status).toBe('done');
    expect(broken.reinitialised).toBe(1);
    expect(broken.notices).toHaveLength(1);
    expect(broken.notices[0]).toMatch(/device was lost \(destroyed: test\) at step 4.*checkpoint at step 2/);
    // Step 3 was recorded, then the device went during step 4, which is never recorded; both are taken
    // again from the step-2 checkpoint, so only step 3 is seen twice.
    expect(broken.losses).toHaveLength(clean.losses.length + 1);
    expect(broken.run.history.steps.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(broken.run.history.steps.map((m) => m.loss)).toEqual(clean.run.history.steps.map((m) => m.loss));
    expect(broken.store.logs.filter((l) => l.kind === 'step').map((l) => (l.record as { step: number }).step)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect(broken.run.deviceLosses).toBe(0); // a checkpoint was written since
    clean.run.dispose();
    broken.run.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops after three losses in a row and says so', async () => {
    const r = await runWithLosses('thrice', 100, () => true);
    expect(r.run.status).toBe('failed');
    expect(r.reinitialised).toBe(2);
    expect(r.notices).toHaveLength(2);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].name).toBe('GpuDeviceLostError');
    expect(r.errors[0].message).toMatch(/lost 3 times in a row.*\?backend=wasm/);
    r.run.dispose();
  });

  it('a run that failed (no new device) resumes from its last checkpoint and trains to the end', async () => {
    const before = tf.memory().numTensors;
    const clean = await runWithLosses('clean2', 2, () => false);
    const failed = await runWithLosses('failed', 2, (step) => step === 3, true);
    expect(failed.run.status).toBe('failed');
    expect(failed.errors[0].message).toMatch(/No WebGPU adapter/);
    expect((await failed.store.getRun('failed'))?.status).toBe('failed');
    failed.run.dispose();

    const errors: Error[] = [];
    const resumed = await PretrainingRun.resume('failed', data, failed.store as unknown as RealmStore, builder, {
      error: (e) => errors.push(e),
    });
    expect(resumed.restoredFrom).toBe('failed');
    expect(resumed.status).toBe('paused');
    expect(resumed.step).toBe(2);
    expect(resumed.history.steps.map((m) => m.step)).toEqual([1, 2]);
    const done = new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (resumed.status !== 'running') {
          clearInterval(poll);
          resolve();
        }
      }, 20);
    });
    resumed.start();
    await done;
    expect(errors).toEqual([]);
    expect(resumed.status).toBe('done');
    expect(resumed.history.steps.map((m) => m.loss)).toEqual(clean.run.history.steps.map((m) => m.loss));
    expect((await failed.store.getRun('failed'))?.status).toBe('done');
    clean.run.dispose();
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
