// A long pre-training run in Node that checks two things over its whole length: a run never keeps
// more than keepCheckpoints + 1 checkpoints (retention), and `tf.memory().numTensors` stays flat from
// checkpoint to checkpoint (no tensor leak in the step, the checkpoint or the index refresh).
// The unit suite runs a short one on a shrunk model (src/app/run-reliability.test.ts);
// `SOAK=1 npx vitest run src/app/retention-soak.long.test.ts` runs the 1,000-step tiny-preset one of
// docs/reliability.md on wasm.
import * as tf from '@tensorflow/tfjs';
import { docTokens, syntheticWorld } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { makeConfig, type RealmConfig } from '../model/config';
import { PretrainingRun } from '../app/pretraining-run';
import { RealmStore } from '../storage/db';
import { BuilderSupervisor } from '../workers/index-builder-client';

export interface SoakOptions {
  ictSteps: number;
  mlmSteps: number;
  realmSteps: number;
  checkpointEvery: number;
  keepCheckpoints: number;
  /** Held-out evaluation every this many steps (ranks checkpoints for retention). */
  evalEvery: number;
  /** IndexedDB name (fake-indexeddb in Node). */
  dbName: string;
  /** The backend of the run and of its builder (one tfjs in Node, so both share it). */
  backend: 'cpu' | 'wasm';
  /** Called once the builder has started (it sets the backend): set up `backend` here, e.g. wasm's binary paths. */
  beforeRun?: () => Promise<void>;
  /** Changes to the tiny preset (the unit test shrinks it). */
  overrides?: Partial<RealmConfig>;
}

export interface SoakReport {
  steps: number;
  checkpointsWritten: number;
  /** Most checkpoints stored at once, read after every checkpoint. */
  maxKept: number;
  /** Steps of the checkpoints stored at the end. */
  keptAtEnd: number[];
  /** Step of the checkpoint with the best held-out metric. */
  bestStep: number | null;
  /** numTensors after each checkpoint, with the phase it was taken in. */
  tensors: { step: number; phase: string; numTensors: number }[];
  tensorsBefore: number;
  tensorsAfterDispose: number;
  seconds: number;
  status: string;
  errors: string[];
}

export async function soakRun(o: SoakOptions): Promise<SoakReport> {
  const t0 = Date.now();
  const data = syntheticWorld(40, { seedRng: new Rng(7) });
  const config = makeConfig('tiny', {
    ...o.overrides,
    vocabSize: data.vocabSize,
    ictSteps: o.ictSteps,
    mlmSteps: o.mlmSteps,
    realmSteps: o.realmSteps,
  });

  const store = await RealmStore.open(o.dbName);
  // No Worker in Node: the supervisor runs the builder on the main thread, as a browser without workers.
  const builder = await BuilderSupervisor.start({ backend: 'cpu' });
  await o.beforeRun?.();
  if (!(await tf.setBackend(o.backend))) throw new Error(`the ${o.backend} backend did not start`);
  const tensorsBefore = tf.memory().numTensors;
  const tensors: SoakReport['tensors'] = [];
  const errors: string[] = [];
  let maxKept = 0;
  let written = 0;
  const pending: Promise<void>[] = [];
  const runId = `soak-${o.dbName}`;
  const corpusId = `synthetic-${o.dbName}`;
  const run = await PretrainingRun.create(
    {
      runId,
      corpusId,
      config,
      policy: 'sync',
      checkpointEvery: o.checkpointEvery,
      evalEvery: o.evalEvery,
      keepCheckpoints: o.keepCheckpoints,
    },
    data,
    store,
    builder,
    {
      checkpoint: (step) => {
        written++;
        tensors.push({ step, phase: run.phase?.phase ?? 'done', numTensors: tf.memory().numTensors });
        pending.push(
          store.checkpointSteps(runId).then((steps) => {
            maxKept = Math.max(maxKept, steps.length);
          }),
        );
      },
      error: (e) => errors.push(`${e.name}: ${e.message}`),
    },
  );
  // The sync policy builds the index on this thread from the corpus chunks in the app's database.
  const chunks = await RealmStore.open();
  await chunks.putChunks(
    data.passages.map((p, seq) => ({
      corpusId,
      seq,
      id: p.id,
      title: '',
      text: '',
      tokenIds: docTokens(p, config.maxDocLength),
    })),
  );
  chunks.close();
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (run.status !== 'running' && run.status !== 'idle') {
        clearInterval(poll);
        resolve();
      }
    }, 50);
    run.start();
  });
  await Promise.all(pending);
  const kept = await store.getCheckpoints(runId);
  const ranked = kept.filter((c) => c.heldOut !== undefined).sort((a, b) => b.heldOut! - a.heldOut! || b.step - a.step);
  const report: SoakReport = {
    steps: run.step,
    checkpointsWritten: written,
    maxKept,
    keptAtEnd: kept.map((c) => c.step),
    bestStep: ranked[0]?.step ?? null,
    tensors,
    tensorsBefore,
    tensorsAfterDispose: 0,
    seconds: (Date.now() - t0) / 1000,
    status: run.status,
    errors,
  };
  run.dispose();
  builder.terminate();
  store.close();
  report.tensorsAfterDispose = tf.memory().numTensors;
  return report;
}
