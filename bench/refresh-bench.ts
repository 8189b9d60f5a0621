// `npm run bench:refresh` runs this in the page (bench/refresh.ts drives headless Chromium).
// Measured side by side on the active corpus, one page, one run:
//   trainer steps/s with no build running, and while the builder re-embeds the corpus;
//   wall time of N REALM steps with the sync policy against the async one (same R);
//   chunks embedded per second by the builder in its worker, and by the same class on the main thread.
import { createMipsIndex } from '../src/kernels/mips-index';
import { makeConfig, type PresetName } from '../src/model/config';
import { snapshotDocEncoder } from '../src/model/realm-model';
import { RealmTrainer } from '../src/model/trainer';
import { AsyncRefresher, type RefreshPolicy } from '../src/workers/async-refresher';
import { IndexBuilder, type BuildRequest } from '../src/workers/index-builder';
import { loadRunData } from '../src/app/run-data';
import type { Runtime } from '../src/app/runtime';

export interface RefreshBenchOptions {
  preset: PresetName;
  /** Steps timed per measurement. */
  steps: number;
  /** R for the sync and async policies. */
  every: number;
}

export interface RefreshBenchResult {
  backend: string;
  builderMode: string;
  chunks: number;
  idleStepsPerSecond: number;
  buildingStepsPerSecond: number;
  stepsDuringBuilds: number;
  syncSeconds: number;
  asyncSeconds: number;
  workerChunksPerSecond: number;
  mainThreadChunksPerSecond: number;
}

const now = () => performance.now();

export async function benchRefresh(rt: Runtime, opts: RefreshBenchOptions): Promise<RefreshBenchResult> {
  const corpusId = await rt.store.activeCorpusId();
  if (!corpusId) throw new Error('no active corpus');
  const config = makeConfig(opts.preset, { ictSteps: 0, mlmSteps: 0, realmSteps: 1_000_000, refreshEvery: opts.every, seed: 1 });
  const data = await loadRunData(rt.store, corpusId, config);
  const chunks = await rt.store.countChunks(corpusId);
  const trainerWith = (policy: RefreshPolicy) => {
    const refresher = new AsyncRefresher({
      policy,
      every: opts.every,
      builder: rt.builder,
      corpusId,
      runId: `bench-${policy}`,
      factory: createMipsIndex,
    });
    return new RealmTrainer({ config, data, refresher, indexFactory: createMipsIndex });
  };
  const request = async (trainer: RealmTrainer, version: number): Promise<BuildRequest> => ({
    version,
    corpusId,
    runId: 'bench',
    snapshotStep: trainer.stepCount,
    config,
    weights: await snapshotDocEncoder(trainer.model),
    persist: false,
  });
  const timeSteps = async (trainer: RealmTrainer, n: number) => {
    const t0 = now();
    for (let i = 0; i < n; i++) await trainer.step();
    return (now() - t0) / 1000;
  };

  // 1. Steps/s with no build running (frozen: one index, never refreshed), then while builds run.
  const trainer = trainerWith('frozen');
  let idleStepsPerSecond = 0;
  let buildingStepsPerSecond = 0;
  let stepsDuringBuilds = 0;
  let workerChunksPerSecond = 0;
  try {
    await timeSteps(trainer, 3); // first index + warm-up (shaders, buffers)
    idleStepsPerSecond = opts.steps / (await timeSteps(trainer, opts.steps));
    let busySeconds = 0;
    let builds = 0;
    let builtChunks = 0;
    let buildSeconds = 0;
    while (stepsDuringBuilds < opts.steps) {
      let done = false;
      const t0 = now();
      const build = rt.builder.build(await request(trainer, 1000 + builds++)).then((b) => {
        done = true;
        builtChunks += b.count;
        buildSeconds += b.durationMs / 1000;
      });
      let steps = 0;
      while (!done) {
        await trainer.step();
        steps++;
        await new Promise((r) => setTimeout(r, 0));
      }
      await build;
      // Count only steps taken while the build was in flight.
      busySeconds += (now() - t0) / 1000;
      stepsDuringBuilds += steps;
    }
    buildingStepsPerSecond = stepsDuringBuilds / busySeconds;
    workerChunksPerSecond = builtChunks / buildSeconds;
  } finally {
    trainer.dispose();
  }

  // 2. The same embedding on the main thread, with nothing else running.
  let mainThreadChunksPerSecond = 0;
  {
    const t = trainerWith('frozen');
    const local = new IndexBuilder();
    try {
      await local.init({ backend: rt.backend.backend });
      await local.build(await request(t, 1)); // warm-up
      const built = await local.build(await request(t, 2));
      mainThreadChunksPerSecond = built.count / (built.durationMs / 1000);
    } finally {
      t.dispose();
    }
  }
  // Idle worker speed for the same comparison, with nothing else running.
  {
    const t = trainerWith('frozen');
    try {
      await rt.builder.build(await request(t, 3)); // warm-up
      const built = await rt.builder.build(await request(t, 4));
      workerChunksPerSecond = built.count / (built.durationMs / 1000);
    } finally {
      t.dispose();
    }
  }

  // 3. Wall time of N steps: sync (the trainer waits for each rebuild) against async (same R).
  const wall = async (policy: RefreshPolicy) => {
    const t = trainerWith(policy);
    try {
      await timeSteps(t, 2); // first index + warm-up
      return await timeSteps(t, opts.steps);
    } finally {
      t.dispose();
    }
  };
  const syncSeconds = await wall('sync');
  const asyncSeconds = await wall('async');

  return {
    backend: rt.backend.backend,
    builderMode: rt.builder.mode,
    chunks,
    idleStepsPerSecond,
    buildingStepsPerSecond,
    stepsDuringBuilds,
    syncSeconds,
    asyncSeconds,
    workerChunksPerSecond,
    mainThreadChunksPerSecond,
  };
}
