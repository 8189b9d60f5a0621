// The page's ablation store over IndexedDB (fake-indexeddb, the real idb code of storage/db.ts): records
// and models round-trip, one table never sees another's, and bad settings are refused with a message.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { RealmStore } from '../storage/db';
import {
  checkAblationsSettings,
  DEFAULT_ABLATIONS_SETTINGS,
  deleteAblationGroup,
  IdbAblationStore,
  listAblationGroups,
  latestAblationTable,
  tableRows,
  type StoredAblationTable,
} from './ablations-controller';
import type { RealmCheckpoint } from '../model/trainer';

let n = 0;
const checkpoint = (x: number): RealmCheckpoint => ({
  runId: 'pretrain/realm/seed-1',
  step: 300,
  createdAt: 1,
  phase: 'done',
  weights: [{ name: 'embed_input/w', shape: [2], data: new Float32Array([x, -x]).buffer }],
  optimizer: [],
  rngState: [1, 2],
  indexVersion: 3,
  extra: { config: { hidden: 8 } },
});

describe('IdbAblationStore', () => {
  it('keeps job records and models per table', async () => {
    const db = await RealmStore.open(`ablations-${n++}`);
    const a = new IdbAblationStore(db, 'tA');
    const b = new IdbAblationStore(db, 'tB');
    expect(await a.record('warm-start')).toBeNull();
    await a.saveRecord({ jobId: 'recall/realm/seed-1', planKey: 'k', seconds: 2, finishedAt: 5, recallAt5: 0.25, questions: 18 });
    await a.saveModel('pretrain/realm/seed-1', checkpoint(1.5));
    await a.saveModel('pretrain/realm/seed-1', checkpoint(2.5)); // a rerun replaces the model
    expect(await a.record('recall/realm/seed-1')).toMatchObject({ recallAt5: 0.25, questions: 18 });
    const m = (await a.model('pretrain/realm/seed-1'))!;
    expect(Array.from(new Float32Array(m.weights[0].data))).toEqual([2.5, -2.5]);
    expect(m.extra).toEqual({ config: { hidden: 8 } });
    expect(await db.checkpointSteps('ablation:tA:pretrain/realm/seed-1')).toEqual([0]);
    expect(await b.record('recall/realm/seed-1')).toBeNull();
    expect(await b.model('pretrain/realm/seed-1')).toBeNull();
    db.close();
  });

  it('the latest table and its rows come back from storage', async () => {
    const db = await RealmStore.open(`ablations-${n++}`);
    expect(await latestAblationTable(db)).toBeNull();
    const t: StoredAblationTable = {
      id: 'tX',
      corpusId: 'bundled:micro',
      createdAt: 1,
      updatedAt: 2,
      settings: { ...DEFAULT_ABLATIONS_SETTINGS, rows: ['realm', 'baseline'] },
      status: 'done',
      results: [
        { rowId: 'realm', seed: 1, em: 0.1, recallAt5: 0.3 },
        { rowId: 'baseline', seed: 1, em: 0.05, recallAt5: 0.4 },
      ],
    };
    await db.putSetting('ablation:table:tX', t);
    await db.putSetting('ablation:latest', 'tX');
    const back = (await latestAblationTable(db))!;
    const rows = tableRows(back);
    expect(rows.map((r) => r.row.id)).toEqual(['realm', 'baseline']);
    expect(rows[1].em.difference!.mean).toBeCloseTo(-0.05, 12);
    expect(rows[1].em.directionMatches).toBe(true);
    expect(rows[1].recallAt5.directionMatches).toBe(false);
    db.close();
  });
});

describe('ablation tables as groups of runs (the Runs panel)', () => {
  const table = (id: string, createdAt: number): StoredAblationTable => ({
    id,
    corpusId: 'bundled:micro',
    createdAt,
    updatedAt: createdAt,
    settings: DEFAULT_ABLATIONS_SETTINGS,
    status: 'done',
    results: [],
    plannedJobs: 3,
  });

  it('lists every stored table with its finished jobs, newest first, and deletes one whole', async () => {
    const db = await RealmStore.open(`ablations-${n++}`);
    expect(await listAblationGroups(db)).toEqual([]);
    for (const [id, at] of [
      ['t1', 1],
      ['t10', 2],
    ] as const) {
      await db.putSetting(`ablation:table:${id}`, table(id, at));
      const s = new IdbAblationStore(db, id);
      await s.saveRecord({ jobId: 'warm-start', planKey: 'k', seconds: 4, finishedAt: at });
      await s.saveRecord({ jobId: 'recall/realm/seed-1', planKey: 'k', seconds: 1, finishedAt: at, recallAt5: 0.5 });
      await s.saveModel('warm-start', checkpoint(at));
    }
    await db.putSetting('ablation:latest', 't1');
    await db.putCheckpoint({ ...checkpoint(9), runId: 'a-run' });
    const groups = await listAblationGroups(db);
    expect(groups.map((g) => g.table.id)).toEqual(['t10', 't1']);
    expect(groups[1].jobs.map((j) => j.jobId)).toEqual(['recall/realm/seed-1', 'warm-start']);

    await deleteAblationGroup(db, 't1');
    expect((await listAblationGroups(db)).map((g) => g.table.id)).toEqual(['t10']);
    expect(await new IdbAblationStore(db, 't1').model('warm-start')).toBeNull();
    expect(await new IdbAblationStore(db, 't1').record('warm-start')).toBeNull();
    expect(await latestAblationTable(db)).toBeNull(); // it was the latest
    expect(await new IdbAblationStore(db, 't10').model('warm-start')).not.toBeNull();
    expect(await db.latestCheckpoint('a-run')).toBeDefined();
    db.close();
  });
});

describe('checkAblationsSettings', () => {
  it('names what is wrong', () => {
    expect(() => checkAblationsSettings(DEFAULT_ABLATIONS_SETTINGS)).not.toThrow();
    expect(() => checkAblationsSettings({ ...DEFAULT_ABLATIONS_SETTINGS, rows: [] })).toThrow(/at least one row/);
    expect(() => checkAblationsSettings({ ...DEFAULT_ABLATIONS_SETTINGS, seeds: 0 })).toThrow(/Seeds must be a whole number/);
    expect(() => checkAblationsSettings({ ...DEFAULT_ABLATIONS_SETTINGS, realmSteps: 2.5 })).toThrow(/REALM steps/);
  });
});
