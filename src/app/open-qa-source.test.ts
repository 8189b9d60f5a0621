// The page's Open-QA side (issue #34) on the cpu backend: the Ask source answers with the run's retriever
// and with BM25 (k documents, p(z|x) summing to 1, the answer cut from a document read), labels a reader
// that was never fine-tuned as untrained, refuses a run that is training, and the fine-tuning phase
// trains from the run's weights with its dev points, hands its reader to the Ask panel, and leaks no
// tensor once disposed.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { QaItem } from '../corpus/corpus-format';
import { Rng } from '../corpus/rng';
import { SPECIAL_TOKENS } from '../corpus/tokenizer';
import type { RealmConfig } from '../model/config';
import { RealmModel } from '../model/realm-model';
import type { RealmCheckpoint } from '../model/trainer';
import type { ChunkRecord } from '../storage/db';
import { FinetuneRun, PAGE_FINETUNE_DEFAULTS } from './finetune-run';
import { OpenQaSource, OpenQaUnavailableError, type QaRun, type QaStore } from './open-qa-source';
import { microConfig } from '../testing/micro-config';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const PASSAGES = [
  { title: 'Ada', text: 'Ada was born in Paris in 1815.' },
  { title: 'Bob', text: 'Bob was born in Rome in 1901.' },
  { title: 'Cy', text: 'Cy was born in Oslo in 1950.' },
  { title: 'Di', text: 'Di was born in Lima in 1777.' },
  { title: 'Eve', text: 'Eve lived in Cairo until 1888.' },
  { title: 'Fay', text: 'Fay lived in Quito until 1999.' },
];
const TRAIN: QaItem[] = [
  { question: 'Where was Ada born?', answer: ['Paris'] },
  { question: 'Where was Bob born?', answer: ['Rome'] },
  { question: 'When was Cy born?', answer: ['1950'] },
  { question: 'Where did Eve live?', answer: ['Cairo'] },
];
const DEV: QaItem[] = [{ question: 'Where was Di born?', answer: ['Lima'] }];
const words = new Set<string>();
for (const t of [...PASSAGES.flatMap((p) => [p.title, p.text]), ...[...TRAIN, ...DEV].map((q) => q.question)])
  for (const w of t.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) words.add(w);
const VOCAB = [...SPECIAL_TOKENS, ...words];

// The unit tests' micro model, with a wider retriever and shorter documents (dropout off).
const CONFIG: RealmConfig = microConfig(
  { vocabSize: VOCAB.length },
  { retrieverDim: 16, maxDocLength: 24, maxReaderLength: 40, dropout: 0, attentionDropout: 0 },
);

const CHUNKS: ChunkRecord[] = PASSAGES.map((p, seq) => ({ corpusId: 'c', seq, id: `id${seq}`, ...p }));
const store = (qaTrain: unknown[] = TRAIN): QaStore => ({
  getVocab: async () => ({ corpusId: 'c', tokens: VOCAB }) as never,
  countChunks: async () => CHUNKS.length,
  getChunks: async (_c: string, from: number, count: number) => CHUNKS.slice(from, from + count),
  getEvalSets: async () => ({ cloze: [], qaTrain, qaDev: [...DEV, { question: 'malformed' }] }),
});

/** A stand-in for the page's pre-training run: a seeded model at step 10, paused. */
function fakeRun(status = 'paused'): QaRun & { model: RealmModel } {
  const rng = new Rng(3);
  const model = new RealmModel(CONFIG, () => rng.nextUint32());
  return {
    model,
    status,
    settings: { runId: 'run-1', corpusId: 'c', config: CONFIG },
    realmTrainer: { stepCount: 10, indexVersion: 2, config: CONFIG, model, phaseAt: () => null },
  } as unknown as QaRun & { model: RealmModel };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('OpenQaSource', () => {
  it('answers with the retriever and with BM25 from k documents, the reader labelled untrained; no tensor leaks', async () => {
    const run = fakeRun();
    const before = tf.memory().numTensors;
    const source = new OpenQaSource(store());
    const ctx = await source.context(run);
    expect(ctx.train).toHaveLength(4);
    expect(ctx.dev).toEqual(DEV); // the malformed item is left out
    const r = await source.ask(run, '  Where was Ada born? ', null, 3);
    expect(r.question).toBe('Where was Ada born?');
    expect(r.reader).toEqual({ kind: 'untrained', pretrainStep: 10, finetuneSteps: 0 });
    for (const a of [r.dense, r.bm25]) {
      expect(a.documents).toHaveLength(3);
      expect(Math.abs(sum(a.documents.map((d) => d.probability)) - 1)).toBeLessThan(1e-6);
      expect(new Set(a.documents.map((d) => d.row)).size).toBe(3);
      const p = a.prediction!;
      expect(a.documents[p.doc].body.slice(p.charStart, p.charEnd)).toBe(a.answer);
      expect(a.documents.every((d) => d.spans.length > 0 && d.spans.length <= 3)).toBe(true);
    }
    expect(r.dense.retrieval).toBe('retriever');
    expect(r.bm25.retrieval).toBe('BM25');
    // BM25 ranks Ada's passage first (the only one holding "ada"); its p(z|x) is uniform.
    expect(r.bm25.documents[0].title).toBe('Ada');
    expect(r.bm25.documents.map((d) => d.probability)).toEqual([1 / 3, 1 / 3, 1 / 3].map((x) => expect.closeTo(x, 6)));
    // A second question reuses the untrained reader: no tensor is added.
    const held = tf.memory().numTensors;
    await source.ask(run, 'Where did Eve live?', null, 3);
    expect(tf.memory().numTensors).toBe(held);
    source.dispose();
    expect(tf.memory().numTensors).toBe(before);
    run.model.dispose();
  });

  it('refuses an empty question, a bad k and a run that is training, with what to do', async () => {
    const source = new OpenQaSource(store());
    const run = fakeRun();
    await expect(source.ask(run, '   ', null)).rejects.toThrow(/Type a question/);
    await expect(source.ask(run, 'Where?', null, 7)).rejects.toThrow(/k must be a whole number from 1 to the 6 passages/);
    const training = fakeRun('running');
    await expect(source.ask(training, 'Where was Ada born?', null)).rejects.toThrow(OpenQaUnavailableError);
    await expect(source.ask(training, 'Where was Ada born?', null)).rejects.toThrow(/pause it/);
    source.dispose();
    run.model.dispose();
    training.model.dispose();
  });
});

describe('FinetuneRun', () => {
  it("fine-tunes from the run's weights with dev points at 0, every E and the end; the Ask panel reads its reader", async () => {
    const run = fakeRun();
    const before = tf.memory().numTensors;
    const source = new OpenQaSource(store());
    const ctx = await source.context(run);
    const statuses: string[] = [];
    const saved: RealmCheckpoint[] = [];
    const f = await FinetuneRun.create(
      run,
      ctx,
      { ...PAGE_FINETUNE_DEFAULTS, steps: 5, k: 3, evalEvery: 2, learningRate: 1e-2 },
      { status: (s) => statuses.push(s) },
      { putFinetuneCheckpoint: async (c) => void saved.push(c as RealmCheckpoint) },
    );
    expect(f.reader()).toBeNull(); // not fine-tuned yet
    f.start();
    expect(f.reader()).toBeNull(); // training
    await f.finished();
    expect(statuses).toEqual(['running', 'done']);
    expect(f.history.steps.map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    expect(f.history.steps.every((m) => Number.isFinite(m.loss))).toBe(true);
    expect(f.history.evals.map((e) => e.step)).toEqual([0, 2, 4, 5]);
    for (const e of f.history.evals) {
      expect(e.questions).toBe(1);
      expect(e.exactMatch).toBeGreaterThanOrEqual(0);
      expect(e.recallAt5).toBeGreaterThanOrEqual(0);
    }
    expect(f.progress).toMatchObject({ done: 5, total: 5 });
    const reader = f.reader()!;
    expect(reader).toMatchObject({ kind: 'fine-tuned', pretrainStep: 10, finetuneSteps: 5 });
    const r = await source.ask(run, 'Where was Di born?', reader, 3);
    expect(r.reader.kind).toBe('fine-tuned');
    expect(r.dense.documents).toHaveLength(3);
    // Stored once when it ended; restored, it answers exactly as before, with its step and charts.
    expect(saved.map((c) => [c.runId, c.step, c.phase])).toEqual([['run-1', 5, 'finetune']]);
    const back = await FinetuneRun.restore('run-1', ctx, saved[0]);
    expect(back.status).toBe('done');
    expect(back.history).toEqual(f.history);
    expect(back.fromStep).toBe(10);
    const again = await source.ask(run, 'Where was Di born?', back.reader(), 3);
    expect(again.dense).toEqual(r.dense);
    expect(again.bm25).toEqual(r.bm25);
    back.dispose();
    await expect(FinetuneRun.restore('run-2', ctx, saved[0])).rejects.toThrow(/not run run-2's/);
    // The run's own model is untouched by fine-tuning (it trains a copy).
    const w0 = (await run.model.getWeights()).find((w) => w.name.startsWith('reader/'))!;
    const rng = new Rng(3);
    const fresh = new RealmModel(CONFIG, () => rng.nextUint32());
    const w1 = (await fresh.getWeights()).find((w) => w.name === w0.name)!;
    fresh.dispose();
    expect(new Float32Array(w0.data)).toEqual(new Float32Array(w1.data));
    f.dispose();
    source.dispose();
    expect(tf.memory().numTensors).toBe(before);
    run.model.dispose();
  });

  it('continues a stopped, stored run to its steps and ends with the weights of an uninterrupted one', async () => {
    const run = fakeRun();
    const before = tf.memory().numTensors;
    const ctx = await new OpenQaSource(store()).context(run);
    const settings = { ...PAGE_FINETUNE_DEFAULTS, steps: 6, k: 3, evalEvery: 0, learningRate: 1e-2 };
    const whole = await FinetuneRun.create(run, ctx, settings);
    whole.start();
    await whole.finished();
    const saved: RealmCheckpoint[] = [];
    const keep = { putFinetuneCheckpoint: async (c: unknown) => void saved.push(c as RealmCheckpoint) };
    let cut: FinetuneRun | null = null;
    let stopping: Promise<void> | null = null;
    cut = await FinetuneRun.create(run, ctx, settings, { step: (m) => m.step === 2 && (stopping = cut!.stop()) }, keep);
    cut.start();
    await cut.finished();
    await stopping;
    cut.dispose();
    // After a reload: restored from what was stored at step 2, then continued to step 6.
    const back = await FinetuneRun.restore('run-1', ctx, saved.at(-1)!, {}, keep);
    expect(back.canContinue).toBe(true);
    back.continue();
    await back.finished();
    expect(back.status).toBe('done');
    expect(back.canContinue).toBe(false);
    expect(back.history.steps.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(back.history.evals.map((e) => e.step)).toEqual([0, 2, 6]);
    expect(saved.map((c) => c.step)).toEqual([2, 6]);
    expect(back.history.steps.map((m) => m.loss)).toEqual(whole.history.steps.map((m) => m.loss));
    const a = await whole.finetuner.model.getWeights();
    const b = await back.finetuner.model.getWeights();
    expect(b.map((w) => w.name)).toEqual(a.map((w) => w.name));
    b.forEach((w, i) => expect(new Float32Array(w.data)).toEqual(new Float32Array(a[i].data)));
    back.continue(); // nothing left: a no-op
    expect(back.status).toBe('done');
    whole.dispose();
    back.dispose();
    expect(tf.memory().numTensors).toBe(before);
    run.model.dispose();
  });

  it('stops after the step in flight when asked: stopped, stored at that step, its reader usable', async () => {
    const run = fakeRun();
    const before = tf.memory().numTensors;
    const ctx = await new OpenQaSource(store()).context(run);
    const saved: RealmCheckpoint[] = [];
    let f: FinetuneRun | null = null;
    let stopping: Promise<void> | null = null;
    f = await FinetuneRun.create(
      run,
      ctx,
      { ...PAGE_FINETUNE_DEFAULTS, steps: 50, k: 3, evalEvery: 0 },
      { step: (m) => m.step === 2 && (stopping = f!.stop()) },
      { putFinetuneCheckpoint: async (c) => void saved.push(c as RealmCheckpoint) },
    );
    f.start();
    await f.finished();
    await stopping;
    expect(f.status).toBe('stopped');
    expect(f.step).toBe(2);
    expect(f.history.evals.map((e) => e.step)).toEqual([0, 2]);
    expect(saved.map((c) => c.step)).toEqual([2]);
    expect(f.reader()).toMatchObject({ kind: 'fine-tuned', finetuneSteps: 2 });
    const back = await FinetuneRun.restore('run-1', ctx, saved[0]);
    expect(back.status).toBe('stopped');
    back.dispose();
    f.dispose();
    expect(tf.memory().numTensors).toBe(before);
    run.model.dispose();
  });

  it('refuses a corpus without training questions and bad settings before building anything', async () => {
    const run = fakeRun();
    const training = fakeRun('running');
    const before = tf.memory().numTensors;
    const none = await new OpenQaSource(store([])).context(run);
    await expect(FinetuneRun.create(run, none, PAGE_FINETUNE_DEFAULTS)).rejects.toThrow(/no Open-QA training questions/);
    const ctx = await new OpenQaSource(store()).context(run);
    await expect(FinetuneRun.create(run, ctx, { ...PAGE_FINETUNE_DEFAULTS, k: 9 })).rejects.toThrow(/k must be/);
    await expect(FinetuneRun.create(run, ctx, { ...PAGE_FINETUNE_DEFAULTS, steps: 0 })).rejects.toThrow(/Steps must be/);
    await expect(FinetuneRun.create(training, ctx, PAGE_FINETUNE_DEFAULTS)).rejects.toThrow(/pause it/);
    expect(tf.memory().numTensors).toBe(before);
    run.model.dispose();
    training.model.dispose();
  });
});

describe('OpenQaSource.forgetOtherRuns', () => {
  it("frees another run's untrained reader and keeps the current one's", async () => {
    const run = fakeRun();
    const before = tf.memory().numTensors;
    const source = new OpenQaSource(store());
    await source.ask(run, 'Where was Ada born?', null, 3);
    const held = tf.memory().numTensors;
    expect(held).toBeGreaterThan(before);
    await source.forgetOtherRuns('run-1');
    expect(tf.memory().numTensors).toBe(held);
    await source.forgetOtherRuns('run-2');
    expect(tf.memory().numTensors).toBe(before);
    run.model.dispose();
  });
});
