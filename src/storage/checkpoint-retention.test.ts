// Checkpoint retention: a run keeps its newest N checkpoints and the one with the best held-out
// metric, pruned in the transaction that writes the new one (so a failed write prunes nothing).
import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RealmStore, StorageFullError, type CheckpointRecord } from './db';
import { injectQuotaExceeded, storeFingerprint } from '../testing/storage-faults';

let store: RealmStore;
let n = 0;
let restore: (() => void) | null = null;
beforeEach(async () => {
  store = await RealmStore.open(`retention-${n++}`);
});
afterEach(() => {
  restore?.();
  restore = null;
  store.close();
});

const checkpoint = (runId: string, step: number, heldOut?: number): CheckpointRecord => ({
  runId,
  step,
  createdAt: step,
  phase: 'realm',
  weights: [{ name: 'w', shape: [2], data: new Float32Array([step, -step]).buffer }],
  optimizer: [],
  rngState: [step],
  indexVersion: 1,
  ...(heldOut !== undefined ? { heldOut } : {}),
});

describe('putCheckpoint with retention', () => {
  it('keeps at most N + 1 checkpoints after every write: the newest N and the best held-out one', async () => {
    const metric: Record<number, number> = { 10: 0.1, 20: 0.2, 30: 0.9, 40: 0.3, 50: 0.5, 60: 0.4, 70: 0.6, 80: 0.5 };
    for (let step = 10; step <= 80; step += 10) {
      await store.putCheckpoint(checkpoint('r', step, metric[step]), { keepLatest: 2 });
      expect((await store.checkpointSteps('r')).length).toBeLessThanOrEqual(3);
    }
    expect(await store.checkpointSteps('r')).toEqual([30, 70, 80]);
    // The best one is a whole checkpoint, weights included.
    const best = (await store.getCheckpoints('r')).find((c) => c.step === 30)!;
    expect(Array.from(new Float32Array(best.weights[0].data))).toEqual([30, -30]);
  });

  it('keeps only the newest N when the best is among them, or when no checkpoint has a held-out metric', async () => {
    for (const step of [1, 2, 3, 4]) await store.putCheckpoint(checkpoint('a', step, step / 10), { keepLatest: 2 });
    expect(await store.checkpointSteps('a')).toEqual([3, 4]);
    for (const step of [1, 2, 3, 4, 5]) await store.putCheckpoint(checkpoint('b', step), { keepLatest: 3 });
    expect(await store.checkpointSteps('b')).toEqual([3, 4, 5]);
  });

  it('prunes only the run it writes for, and keeps everything without a retention', async () => {
    for (const step of [1, 2, 3]) await store.putCheckpoint(checkpoint('other', step));
    for (const step of [1, 2, 3]) await store.putCheckpoint(checkpoint('mine', step), { keepLatest: 1 });
    expect(await store.checkpointSteps('other')).toEqual([1, 2, 3]);
    expect(await store.checkpointSteps('mine')).toEqual([3]);
  });

  it('is atomic: a write whose pruning fails stores nothing and deletes nothing', async () => {
    for (const step of [10, 20, 30]) await store.putCheckpoint(checkpoint('r', step));
    const before = await storeFingerprint(store);
    // The put of step 40 goes through, then the first delete of the pruning fails: all is rolled back.
    restore = injectQuotaExceeded('delete', 'checkpoints');
    await expect(store.putCheckpoint(checkpoint('r', 40), { keepLatest: 2 })).rejects.toBeInstanceOf(StorageFullError);
    restore();
    restore = null;
    expect(await storeFingerprint(store)).toEqual(before);
    expect(await store.checkpointSteps('r')).toEqual([10, 20, 30]);
  });

  it('quota exceeded on the checkpoint write: a StorageFullError, and the older checkpoints are all still there', async () => {
    for (const step of [10, 20, 30]) await store.putCheckpoint(checkpoint('r', step, step));
    const before = await storeFingerprint(store);
    restore = injectQuotaExceeded('put', 'checkpoints');
    const put = store.putCheckpoint(checkpoint('r', 40, 99), { keepLatest: 1 });
    await expect(put).rejects.toBeInstanceOf(StorageFullError);
    await expect(put).rejects.toThrow(/checkpoint at step 40.*Nothing already stored was lost/);
    restore();
    restore = null;
    expect(await storeFingerprint(store)).toEqual(before);
  });
});
