import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { syntheticWorld, type TrainingData } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { MICRO_SIZES } from '../testing/micro-config';
import { ABLATION_ROWS, ablationRow, type AblationScale } from './ablation-rows';
import {
  AblationStoppedError,
  AblationWorkMismatchError,
  composeWeights,
  estimateAblationSeconds,
  planAblation,
  PRIOR_SECONDS,
  runAblation,
  tableEtaSeconds,
  type AblationJobRecord,
  type AblationProgress,
  type AblationStore,
  type QaExecutor,
  type ZeroShotRecallFn,
} from './ablation-runner';
import { ablationTable } from './ablation-table';
import type { RealmCheckpoint } from './trainer';
import { answerRecallAtK, topKRows } from './evaluate';
import { freshIndex } from './index-refresh';

let data: TrainingData;
let scale: AblationScale;

beforeAll(async () => {
  await tf.setBackend('cpu');
  data = syntheticWorld(8, { seedRng: new Rng(5) });
  scale = {
    preset: 'tiny',
    overrides: {
      vocabSize: data.vocabSize,
      ...MICRO_SIZES,
      k: 3,
      batchSize: 2,
      ictBatchSize: 4,
      ictSteps: 2,
      mlmSteps: 2,
      realmSteps: 3,
      refreshEvery: 1,
    },
  };
});

/**
 * A recall@5 of the retriever alone (the CLI and the page use ablation-qa.ts's, which needs text): the
 * held-out cloze sentences as questions, a passage "holds" the answer when it holds its first wordpiece.
 */
const recall: ZeroShotRecallFn = async (model, docs) => {
  const index = await freshIndex(model, docs);
  try {
    const queries = data.heldOut.map((q) => ({ inputIds: q.inputIds, maskPositions: [], targets: [], sourceDocId: null }));
    const rows = await topKRows(model, index, queries, 5);
    const holds = (i: number, row: number) => {
      const p = data.passages[row];
      return [...p.title, ...p.sentences.flat()].includes(data.heldOut[i].answer[0]);
    };
    return answerRecallAtK(rows, holds, 5);
  } finally {
    index.dispose();
  }
};

/** The store in memory (the Node CLI's is files: scripts/ablate.ts, tested in scripts/ablate.test.ts). */
class MemoryStore implements AblationStore {
  readonly records = new Map<string, AblationJobRecord>();
  readonly models = new Map<string, RealmCheckpoint>();
  async record(id: string) {
    return this.records.get(id) ?? null;
  }
  async saveRecord(r: AblationJobRecord) {
    this.records.set(r.jobId, structuredClone(r));
  }
  async model(key: string) {
    return this.models.get(key) ?? null;
  }
  async saveModel(key: string, c: RealmCheckpoint) {
    this.models.set(key, c);
  }
}

/**
 * A deterministic test double for Open-QA fine-tuning (#34 is not here yet): "EM" is a function of the
 * model's weights (a checksum), so two runs on the same model agree and different models differ.
 */
class ChecksumExecutor implements QaExecutor {
  readonly steps = 2;
  readonly calls: string[] = [];
  constructor(private readonly after?: (rowId: string, seed: number) => void) {}
  async finetuneAndEvaluate(model: RealmCheckpoint, opts: { rowId: string; seed: number; onStep?: (d: number) => void }) {
    this.calls.push(`${opts.rowId}/${opts.seed}`);
    let sum = 0;
    for (const w of model.weights) for (const x of new Float32Array(w.data)) sum += Math.abs(x);
    for (let s = 1; s <= this.steps; s++) opts.onStep?.(s);
    this.after?.(opts.rowId, opts.seed);
    return { em: (sum * 1000 + opts.seed) % 1, questions: 10 };
  }
}

describe('planAblation', () => {
  it('one warm start, four pre-trainings per seed (REALM shared by the swap rows), a recall and a qa job per row and seed', () => {
    const jobs = planAblation({ scale, seeds: [1, 2, 3], finetuneSteps: 5 });
    expect(jobs).toHaveLength(1 + 3 * (4 + 7 + 7));
    expect(jobs.filter((j) => j.kind === 'warm-start')).toHaveLength(1);
    expect(jobs.filter((j) => j.kind === 'pretrain').map((j) => j.id)).toEqual(
      [1, 2, 3].flatMap((s) =>
        ['realm', 'random-uniform-masks', 'random-span-masks', 'stale-30x'].map((k) => `pretrain/${k}/seed-${s}`),
      ),
    );
    const byId = new Map(jobs.map((j, i) => [j.id, { j, i }]));
    const cfg = (id: string) => (byId.get(id)!.j as { config: { masking: string; refreshEvery: number; seed: number } }).config;
    expect(cfg('pretrain/realm/seed-3')).toMatchObject({ masking: 'salient', refreshEvery: 1, seed: 3 });
    expect(cfg('pretrain/random-uniform-masks/seed-1')).toMatchObject({ masking: 'random-token', refreshEvery: 1 });
    expect(cfg('pretrain/random-span-masks/seed-1')).toMatchObject({ masking: 'random-span', refreshEvery: 1 });
    expect(cfg('pretrain/stale-30x/seed-1')).toMatchObject({ masking: 'salient', refreshEvery: 30 });
    expect(cfg('warm-start')).toMatchObject({ ictSteps: 2, mlmSteps: 2, realmSteps: 0, seed: 1 });
    for (const { j, i } of byId.values())
      if (j.kind === 'recall' || j.kind === 'qa') {
        expect(byId.get(j.retrieverFrom)!.i).toBeLessThan(i);
        expect(byId.get(j.readerFrom)!.i).toBeLessThan(i);
      }
    const src = (id: string) => {
      const j = byId.get(id)!.j;
      return j.kind === 'recall' ? [j.retrieverFrom, j.readerFrom] : null;
    };
    expect(src('recall/realm/seed-2')).toEqual(['pretrain/realm/seed-2', 'pretrain/realm/seed-2']);
    expect(src('recall/realm-retriever-baseline-encoder/seed-2')).toEqual(['pretrain/realm/seed-2', 'warm-start']);
    expect(src('recall/baseline-retriever-realm-encoder/seed-2')).toEqual(['warm-start', 'pretrain/realm/seed-2']);
    expect(src('recall/baseline/seed-2')).toEqual(['warm-start', 'warm-start']);
    expect(src('recall/stale-30x/seed-2')).toEqual(['pretrain/stale-30x/seed-2', 'pretrain/stale-30x/seed-2']);
    // Seed-major: every job of seed 1 before seed 2's.
    const seeds = jobs.flatMap((j) => (j.kind === 'warm-start' ? [] : [j.seed]));
    expect(seeds).toEqual([...seeds].sort());
    expect(planAblation({ scale, seeds: [1], finetuneSteps: null }).some((j) => j.kind === 'qa')).toBe(false);
  });

  it('a subset of rows plans only their prerequisites; the budget counts the steps', () => {
    const jobs = planAblation({ scale, seeds: [1], rows: [ablationRow('baseline')], finetuneSteps: 4 });
    expect(jobs.map((j) => j.id)).toEqual(['warm-start', 'recall/baseline/seed-1', 'qa/baseline/seed-1']);
    const p = PRIOR_SECONDS;
    expect(estimateAblationSeconds(jobs)).toBeCloseTo(2 * p.ict + 2 * p.mlm + p.recall + 4 * p.qa, 10);
  });
});

describe('tableEtaSeconds', () => {
  const big: AblationScale = { preset: 'tiny', overrides: { ictSteps: 10, mlmSteps: 20, realmSteps: 100 } };
  const jobs = planAblation({
    scale: big,
    seeds: [1],
    rows: [ablationRow('realm'), ablationRow('random-uniform-masks')],
    finetuneSteps: 8,
  });
  const at = (id: string) => jobs.find((j) => j.id === id)!;
  const pending = jobs.slice(1); // the warm start was reused

  it('prices the running job and the jobs of its kind at its own pace, the others at the priors', () => {
    const p = PRIOR_SECONDS;
    // Half of REALM's pre-training in 100 s: 2 s a step for its other 50 and the next pre-training's 100;
    // two recall jobs and two fine-tunings of 8 steps by the priors.
    expect(tableEtaSeconds(pending, at('pretrain/realm/seed-1'), 50, 100, new Map())).toBeCloseTo(
      50 * 2 + 100 * 2 + 2 * p.recall + 2 * 8 * p.qa,
      10,
    );
    // Before its first step: the prior for a REALM step, less the time already spent.
    expect(tableEtaSeconds(pending, at('pretrain/realm/seed-1'), 0, 10, new Map())).toBeCloseTo(
      100 * p.realm - 10 + 100 * p.realm + 2 * p.recall + 2 * 8 * p.qa,
      10,
    );
    // A finished job of a kind sets its rate; a finished job adds nothing of its own.
    const measured = new Map([['pretrain', 3]] as const);
    expect(tableEtaSeconds(pending, at('recall/realm/seed-1'), null, 4, measured)).toBeCloseTo(
      8 * PRIOR_SECONDS.qa + 100 * 3 + PRIOR_SECONDS.recall + 8 * PRIOR_SECONDS.qa,
      10,
    );
    expect(tableEtaSeconds(pending, pending.at(-1)!, null, 1, measured)).toBe(0);
  });
});

describe('composeWeights', () => {
  it('Embed_input and Embed_doc from the retriever, the reader from the other model', () => {
    const w = (name: string, v: number) => ({ name, shape: [1], data: new Float32Array([v]).buffer as ArrayBuffer });
    const a = [w('embed_input/x', 1), w('embed_doc/y', 1), w('reader/z', 1)];
    const b = [w('embed_input/x', 2), w('embed_doc/y', 2), w('reader/z', 2)];
    const got = composeWeights(a, b).map((x) => [x.name, new Float32Array(x.data)[0]]);
    expect(got).toEqual([
      ['embed_input/x', 1],
      ['embed_doc/y', 1],
      ['reader/z', 2],
    ]);
    expect(() => composeWeights([w('reader/z', 1)], b)).toThrow(/lacks embed_input\/x/);
  });
});

describe('runAblation', () => {
  it('runs a two-seed table with real training and recall; no EM without an executor; no leaks', async () => {
    const store = new MemoryStore();
    const before = tf.memory().numTensors;
    const progress: AblationProgress[] = [];
    const results = await runAblation({
      scale,
      seeds: [1, 2],
      store,
      data: () => data,
      zeroShotRecall: recall,
      executor: null,
      onProgress: (p) => progress.push(p),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(results).toHaveLength(14);
    for (const r of results) {
      expect(r.em).toBeNull();
      expect(r.recallAt5).toBeGreaterThanOrEqual(0);
      expect(r.recallAt5).toBeLessThanOrEqual(1);
    }
    // The same retriever gives the same zero-shot recall (the paper's 38.5 / 38.5 and 13.9 / 13.9).
    const r5 = (id: string, seed: number) => results.find((r) => r.rowId === id && r.seed === seed)!.recallAt5;
    for (const seed of [1, 2]) {
      expect(r5('realm-retriever-baseline-encoder', seed)).toBe(r5('realm', seed));
      expect(r5('baseline-retriever-realm-encoder', seed)).toBe(r5('baseline', seed));
    }
    // Pre-trained weights differ from the warm start's (REALM steps were taken), and the models are stored.
    const warm = store.models.get('warm-start')!;
    const realm = store.models.get('pretrain/realm/seed-1')!;
    expect(realm.step).toBe(3);
    const name = 'embed_input/projection/kernel';
    const a = new Float32Array(warm.weights.find((w) => w.name === name)!.data);
    const b = new Float32Array(realm.weights.find((w) => w.name === name)!.data);
    expect(a.some((x, i) => x !== b[i])).toBe(true);
    // Progress: the table's steps, an ETA, ending at the total.
    const last = progress.at(-1)!;
    expect(last.done).toBe(last.total);
    expect(last.total).toBe(4 + 2 * (4 * 3 + 7));
    expect(progress.every((p) => p.etaSeconds !== null && p.etaSeconds >= 0)).toBe(true);
    expect(last.etaSeconds).toBe(0);
    expect(ablationTable(results).every((t) => t.em.summary.n === 0)).toBe(true);
  }, 120_000);

  it('a table stopped after its first row goes on without redoing it (nor its warm start and pre-training)', async () => {
    const store = new MemoryStore();
    const stop = new AbortController();
    const first = new ChecksumExecutor((rowId) => rowId === 'realm' && stop.abort());
    const rows = [ablationRow('realm'), ablationRow('baseline'), ablationRow('realm-retriever-baseline-encoder')];
    const opts = { scale, seeds: [1], rows, data: () => data, zeroShotRecall: recall };
    await expect(runAblation({ ...opts, store, executor: first, signal: stop.signal })).rejects.toThrow(AblationStoppedError);
    expect(first.calls).toEqual(['realm/1']);
    expect([...store.records.keys()]).toEqual(['warm-start', 'pretrain/realm/seed-1', 'recall/realm/seed-1', 'qa/realm/seed-1']);
    const emBefore = store.records.get('qa/realm/seed-1')!.em;

    const second = new ChecksumExecutor();
    const progress: AblationProgress[] = [];
    const results = await runAblation({ ...opts, store, executor: second, onProgress: (p) => progress.push(p) });
    expect(second.calls).toEqual(['baseline/1', 'realm-retriever-baseline-encoder/1']);
    expect(progress.map((p) => p.jobId)).not.toContain('warm-start');
    expect(progress.map((p) => p.jobId)).not.toContain('pretrain/realm/seed-1');
    expect(progress[0].reused).toBe(4);
    expect(results.find((r) => r.rowId === 'realm')!.em).toBe(emBefore);
    // The checksum "EM" tells the rows' models apart: the swap row's reader is the warm start's.
    const em = (id: string) => results.find((r) => r.rowId === id)!.em;
    expect(new Set([em('realm'), em('baseline'), em('realm-retriever-baseline-encoder')]).size).toBe(3);

    // A third run has nothing left to do.
    const third = new ChecksumExecutor();
    expect(await runAblation({ ...opts, store, executor: third })).toEqual(results);
    expect(third.calls).toEqual([]);
  }, 120_000);

  it('refuses a store that holds the table with other settings', async () => {
    const store = new MemoryStore();
    const rows = [ablationRow('baseline')];
    await runAblation({
      scale,
      seeds: [1],
      rows,
      store,
      data: () => data,
      zeroShotRecall: recall,
      executor: null,
    });
    const other: AblationScale = { ...scale, overrides: { ...scale.overrides, mlmSteps: 3 } };
    await expect(
      runAblation({
        scale: other,
        seeds: [1],
        rows,
        store,
        data: () => data,
        zeroShotRecall: recall,
        executor: null,
      }),
    ).rejects.toThrow(AblationWorkMismatchError);
  }, 60_000);

  it('plans all seven rows by default', () => {
    expect(new Set(planAblation({ scale, seeds: [1] }).map((j) => (j.kind === 'recall' ? j.row.id : null)))).toEqual(
      new Set([null, ...ABLATION_ROWS.map((r) => r.id)]),
    );
  });
});
