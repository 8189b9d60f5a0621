// The run log of a pre-training run: the inspector's pin records are written at once while the run is
// not training, kept for the next try when storage fails, and handed back on resume up to the checkpoint.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
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
    async latestCheckpoint() {
      return undefined;
    },
  };
  return s;
}

describe('PretrainingRun: pin records in the run log', () => {
  const data = syntheticWorld(6, { seedRng: new Rng(1) });
  const config = makeConfig('tiny', {
    vocabSize: data.vocabSize,
    hidden: 16,
    layers: 1,
    heads: 2,
    intermediate: 32,
    retrieverDim: 8,
    maxPositions: 64,
    maxQueryLength: 16,
    maxDocLength: 32,
    maxReaderLength: 48,
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
