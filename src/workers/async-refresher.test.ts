import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLS_ID, SEP_ID } from '../corpus/tokenizer';
import { makeConfig } from '../model/config';
import { denseIndexFactory, type IndexInUse } from '../model/index-refresh';
import { RealmModel } from '../model/realm-model';
import { RealmStore } from '../storage/db';
import { AsyncRefresher, type BuildEvent, type RefreshPolicy } from './async-refresher';
import type { BuiltIndex } from './index-builder';
import { BuilderCrashedError, BuilderSupervisor } from './index-builder-client';

const cfg = makeConfig('tiny', { vocabSize: 50, hidden: 16, intermediate: 32, retrieverDim: 8, layers: 1 });
const N = 12;
let model: RealmModel;
let store: RealmStore;
let builder: BuilderSupervisor;
let seed = 0;
const docs = { ids: [] as string[], tokens: [] as Int32Array[] };

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = new RealmModel(cfg, () => ++seed);
  store = await RealmStore.open();
  await store.putChunks(
    Array.from({ length: N }, (_, seq) => ({
      corpusId: 'c',
      seq,
      id: `d${seq}`,
      title: 't',
      text: 'x',
      tokenIds: Int32Array.from([CLS_ID, 5 + seq, SEP_ID, 6 + seq, 7, SEP_ID]),
    })),
  );
  // In Node there is no Worker: the supervisor runs the builder on the main thread, as in a browser without workers.
  builder = await BuilderSupervisor.start({ backend: 'cpu' });
});
afterAll(() => {
  model.dispose();
  store.close();
});

const tick = () => new Promise((r) => setTimeout(r, 0));

async function run(policy: RefreshPolicy, every: number, steps: number, opts: { settle?: boolean } = {}) {
  const starts: BuildEvent[] = [];
  const ends: BuildEvent[] = [];
  const refresher = new AsyncRefresher({
    policy,
    every,
    builder,
    corpusId: 'c',
    runId: `r-${policy}`,
    factory: denseIndexFactory,
    onBuildStart: (e) => starts.push(e),
    onBuildEnd: (e) => ends.push(e),
  });
  const used: IndexInUse[] = [];
  for (let step = 0; step < steps; step++) {
    used.push(await refresher.onStep({ step, model, docs }));
    if (opts.settle)
      for (let i = 0; i < 20; i++) await tick(); // let a main-thread build progress between steps
    else await tick();
  }
  const versions = used.map((u) => u.index.version);
  const staleness = used.map((u, step) => step - u.snapshotStep);
  refresher.dispose();
  return { used, versions, staleness, starts, ends };
}

describe('AsyncRefresher', () => {
  it('builds a first index before the first step, whatever the policy', async () => {
    const { used } = await run('frozen', 5, 1);
    expect(used[0].index.version).toBe(1);
    expect(used[0].refreshed?.swapStep).toBe(0);
    expect(used[0].index.size).toBe(N);
  });

  it('async: keeps stepping on the stale index while a build runs, then swaps it in', async () => {
    const { versions, staleness, starts, ends, used } = await run('async', 2, 30);
    expect(starts.length).toBeGreaterThanOrEqual(3);
    // Steps were taken between a build's start and its end.
    const second = starts[1];
    const secondEnd = ends.find((e) => e.version === second.version)!;
    expect(secondEnd.step).toBeGreaterThan(second.step);
    // Versions in use never decrease and rise over the run.
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(versions.at(-1)!).toBeGreaterThan(2);
    // Staleness drops at each swap: it is step - snapshotStep, and a swap brings a newer snapshot.
    used.forEach((u, step) => {
      if (u.refreshed && step > 0) expect(staleness[step]).toBeLessThan(staleness[step - 1] + 1);
      if (u.refreshed) expect(u.refreshed.snapshotStep).toBe(u.snapshotStep);
    });
  });

  it('sync: the trainer waits, so the staleness is 0 at every refresh and below R in between', async () => {
    const { staleness, used } = await run('sync', 3, 10);
    expect(staleness).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);
    expect(used.filter((u) => u.refreshed).map((u) => u.refreshed!.swapStep)).toEqual([0, 3, 6, 9]);
  });

  it('frozen: never refreshes after the first index', async () => {
    const { versions, starts } = await run('frozen', 2, 8);
    expect(new Set(versions)).toEqual(new Set([1]));
    expect(starts).toHaveLength(1);
  });

  it('every-R-steps: snapshots exactly every R steps and bounds the staleness by 2R', async () => {
    const { starts, staleness } = await run('every-R-steps', 4, 17, { settle: true });
    expect(starts.map((s) => s.snapshotStep)).toEqual([0, 4, 8, 12, 16]);
    expect(Math.max(...staleness)).toBeLessThan(8);
  });

  it('carries on with the index it has when a build fails, and reports the failure', async () => {
    let calls = 0;
    const errors: Error[] = [];
    const flaky = {
      build: (req: { version: number }): Promise<BuiltIndex> => {
        calls++;
        if (calls === 1) return builder.build({ ...req, corpusId: 'c', runId: 'flaky' } as never);
        return Promise.reject(new BuilderCrashedError('killed by the test'));
      },
      cancel: () => {},
    };
    const refresher = new AsyncRefresher({
      policy: 'async',
      every: 1,
      builder: flaky,
      corpusId: 'c',
      runId: 'flaky',
      factory: denseIndexFactory,
      onError: (e) => errors.push(e),
    });
    const versions: number[] = [];
    for (let step = 0; step < 8; step++) {
      versions.push((await refresher.onStep({ step, model, docs })).index.version);
      await tick();
    }
    expect(new Set(versions)).toEqual(new Set([1]));
    expect(errors.length).toBe(3); // then it stops trying and says so
    expect(errors[2].message).toMatch(/Refreshing stopped after 3 failures/);
    expect(errors[0].name).toBe('BuilderCrashedError');
    refresher.dispose();
  });
});
