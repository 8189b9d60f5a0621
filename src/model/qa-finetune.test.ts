// Open-QA fine-tuning on a tiny world (issue #34): the span head starts fresh over pre-trained weights,
// a few questions are overfit, Embed_doc and the fixed index stay bit-identical, runs repeat under a
// seed, nothing leaks, and the answer function returns k documents with p(z|x) summing to 1 and an
// answer cut from one of them.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { QaItem } from '../corpus/corpus-format';
import { Rng } from '../corpus/rng';
import { SPECIAL_TOKENS, WordPieceTokenizer } from '../corpus/tokenizer';
import { initArchitecture, initModelWeights } from './checkpoint';
import type { RealmConfig } from './config';
import { answerQuestion, evaluateOpenQa, retrievalRecall } from './qa-answer';
import { finetunedParamNames, OpenQaFinetuner, openQaModel } from './qa-finetune';
import { bm25Retrieval, denseRetrieval, FixedDocumentIndex, nullRetrieval, qaEvidence } from './qa-retrieval';
import { RealmModel } from './realm-model';
import type { RealmCheckpoint } from './trainer';
import { microConfig } from '../testing/micro-config';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const PASSAGES = [
  { id: 'ada', title: 'Ada', text: 'Ada was born in Paris in 1815.' },
  { id: 'bob', title: 'Bob', text: 'Bob was born in Rome in 1901.' },
  { id: 'cy', title: 'Cy', text: 'Cy was born in Oslo in 1950.' },
  { id: 'di', title: 'Di', text: 'Di was born in Lima in 1777.' },
  { id: 'eve', title: 'Eve', text: 'Eve lived in Cairo until 1888.' },
  { id: 'fay', title: 'Fay', text: 'Fay lived in Quito until 1999.' },
];
const TRAIN: QaItem[] = [
  { question: 'Where was Ada born?', answer: ['Paris'] },
  { question: 'Where was Bob born?', answer: ['Rome'] },
  { question: 'When was Cy born?', answer: ['1950'] },
  { question: 'Where did Eve live?', answer: ['Cairo'] },
];
const words = new Set<string>();
for (const t of [...PASSAGES.flatMap((p) => [p.title, p.text]), ...TRAIN.map((q) => q.question)])
  for (const w of t.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? []) words.add(w);
const tokenizer = new WordPieceTokenizer([...SPECIAL_TOKENS, ...words]);

// The unit tests' micro model, with a wider retriever and shorter documents (dropout off).
const CONFIG: RealmConfig = microConfig(
  { vocabSize: tokenizer.size },
  { retrieverDim: 16, maxDocLength: 24, maxReaderLength: 40, dropout: 0, attentionDropout: 0 },
);

/** A "pre-trained" checkpoint: a seeded model without a span head, as npm run train saves it. */
async function pretrained(seed = 3, config = CONFIG): Promise<RealmCheckpoint> {
  const rng = new Rng(seed);
  const m = new RealmModel(config, () => rng.nextUint32());
  const weights = await m.getWeights();
  m.dispose();
  return {
    runId: 'pre',
    step: 10,
    createdAt: 0,
    phase: 'realm',
    weights,
    optimizer: [],
    rngState: [1, 2, 3, 4],
    indexVersion: 1,
    extra: { config },
  };
}

const evidence = qaEvidence(PASSAGES, tokenizer, CONFIG.maxDocLength);

async function finetuner(seed = 1, steps = 40, checkpoint?: RealmCheckpoint) {
  const model = openQaModel(checkpoint ?? (await pretrained()), seed);
  return OpenQaFinetuner.create(model, evidence, tokenizer, TRAIN, { k: 3, steps, batchSize: 4, learningRate: 1e-2, seed });
}

const values = async (m: RealmModel, names: string[]) =>
  Promise.all(names.map(async (n) => Array.from((await m.variables().get(n)!.data()) as Float32Array)));

describe('a span-reader model from a pre-trained checkpoint', () => {
  it('takes every pre-trained weight and a fresh span head; a fine-tuned checkpoint loads back, span head included', async () => {
    const c = await pretrained();
    const model = openQaModel(c, 7);
    const byName = new Map(c.weights.map((w) => [w.name, new Float32Array(w.data)]));
    for (const [name, v] of model.variables()) {
      if (name.startsWith('span/')) expect(byName.has(name)).toBe(false);
      else expect(Array.from(await v.data())).toEqual(Array.from(byName.get(name)!));
    }
    expect(model.spanReader).not.toBeNull();
    // Fine-tuned weights (with span/) into another span-reader model: the span head is loaded, not redrawn.
    const tuned: RealmCheckpoint = { ...c, weights: await model.getWeights(), extra: { config: model.config } };
    expect(initArchitecture(tuned).spanReader).toBe(true);
    expect(initArchitecture(c).spanReader).toBe(false);
    const again = openQaModel(tuned, 99);
    expect(await values(again, ['span/output/kernel'])).toEqual(await values(model, ['span/output/kernel']));
    // A plain model ignores the span head; a span model refuses a checkpoint missing non-span weights.
    const plain = new RealmModel(CONFIG, () => 1);
    initModelWeights(plain, tuned);
    const broken: RealmCheckpoint = { ...c, weights: c.weights.filter((w) => w.name !== 'reader/layer0/ln1/gamma') };
    expect(() => openQaModel(broken, 1)).toThrow(/lacks 1 of the model's weights \(first: reader\/layer0\/ln1\/gamma\)/);
    // A fine-tuned checkpoint cut short of one span weight is another architecture, not a fresh head.
    const cut: RealmCheckpoint = { ...tuned, weights: tuned.weights.filter((w) => w.name !== 'span/ln/beta') };
    expect(() => openQaModel(cut, 1)).toThrow(/span\/ln\/beta/);
    [model, again, plain].forEach((m) => m.dispose());
  });
});

describe('OpenQaFinetuner', () => {
  it('fits a few questions: the loss on the fixed batch falls, and EM on them rises', async () => {
    const ft = await finetuner();
    const before = await ft.lossOn(TRAIN);
    expect(before.loss).toBeGreaterThan(1);
    for (let i = 0; i < 40; i++) await ft.step();
    const after = await ft.lossOn(TRAIN);
    // The reader learns fast; a randomly initialised retriever, mapping questions onto fixed random
    // Embed_doc vectors, slowly (its term stays near -log(1/3) in 40 steps).
    expect(after.loss).toBeLessThan(0.8 * before.loss);
    expect(after.readerLoss).toBeLessThan(0.5 * before.readerLoss);
    const e = await evaluateOpenQa(ft.model, evidence, tokenizer, denseRetrieval(ft.model, ft.index), TRAIN, { k: 3 });
    expect(e.exactMatch).toBeGreaterThanOrEqual(0.5);
    const untrained = openQaModel(await pretrained(), 1);
    const e0 = await evaluateOpenQa(untrained, evidence, tokenizer, denseRetrieval(untrained, ft.index), TRAIN, { k: 3 });
    expect(e0.exactMatch).toBeLessThan(e.exactMatch);
    untrained.dispose();
    ft.dispose();
  }, 60_000);

  it('never moves Embed_doc: its weights and the index are bit-identical after steps', async () => {
    const ft = await finetuner(1, 5);
    const frozen = ft.model.embedDoc.paramNames();
    expect(frozen.some((n) => finetunedParamNames(ft.model).includes(n))).toBe(false);
    const w0 = await values(ft.model, frozen);
    const v0 = Array.from(ft.index.vectors);
    const q0 = await values(ft.model, ['embed_input/projection/kernel', 'span/output/kernel', 'reader/layer0/ffn/in/kernel']);
    for (let i = 0; i < 5; i++) await ft.step();
    expect(await values(ft.model, frozen)).toEqual(w0);
    const rebuilt = await FixedDocumentIndex.build(ft.model, evidence);
    expect(Array.from(rebuilt.vectors)).toEqual(v0);
    rebuilt.dispose();
    // What trains did move.
    const q1 = await values(ft.model, ['embed_input/projection/kernel', 'span/output/kernel', 'reader/layer0/ffn/in/kernel']);
    q1.forEach((v, i) => expect(v).not.toEqual(q0[i]));
    ft.dispose();
  }, 60_000);

  it('repeats under a seed and leaks no tensor per step', async () => {
    const run = async (seed: number) => {
      const ft = await finetuner(seed, 4);
      const losses: number[] = [];
      for (let i = 0; i < 2; i++) losses.push((await ft.step(TRAIN.slice(0, 2))).loss);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 2; i++) losses.push((await ft.step()).loss); // optimiser slots exist by now
      await ft.lossOn(TRAIN);
      expect(tf.memory().numTensors).toBe(before);
      const w = await values(ft.model, ['span/output/kernel', 'embed_input/projection/kernel']);
      ft.dispose();
      return { losses, w };
    };
    const start = tf.memory().numTensors;
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    expect(b).toEqual(a);
    expect(c.losses).not.toEqual(a.losses);
    expect(tf.memory().numTensors).toBe(start);
  }, 60_000);
});

describe('OpenQaFinetuner checkpoints', () => {
  it('goes on exactly from a checkpoint: 3 + 3 steps give the 6-step run, bit for bit', async () => {
    const opts = { k: 3, steps: 6, batchSize: 3, learningRate: 1e-2, seed: 4 }; // 3 of 4 questions: epochs wrap mid-batch
    const pre = await pretrained();
    const straight = await OpenQaFinetuner.create(openQaModel(pre, 4), evidence, tokenizer, TRAIN, opts);
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) losses.push((await straight.step()).loss);
    const names = finetunedParamNames(straight.model);
    const w = await values(straight.model, names);
    straight.dispose();

    const first = await OpenQaFinetuner.create(openQaModel(pre, 4), evidence, tokenizer, TRAIN, opts);
    const half: number[] = [];
    for (let i = 0; i < 3; i++) half.push((await first.step()).loss);
    const c = await first.checkpoint('half');
    first.dispose();
    expect(c).toMatchObject({ step: 3, phase: 'finetune', extra: { config: { spanReader: true }, finetune: opts } });
    const start = tf.memory().numTensors;
    const resumed = await OpenQaFinetuner.create(openQaModel(c, 77), evidence, tokenizer, TRAIN, opts); // the seed no longer matters
    resumed.restore(c);
    for (let i = 0; i < 3; i++) half.push((await resumed.step()).loss);
    expect(half).toEqual(losses);
    expect(await values(resumed.model, names)).toEqual(w);
    // A pre-training checkpoint has no question order to go on from.
    expect(() => resumed.restore(pre)).toThrow(/no question order for these 4 training questions/);
    resumed.dispose();
    expect(tf.memory().numTensors).toBe(start);
  }, 60_000);
});

describe('answerQuestion', () => {
  it('returns k documents whose p(z|x) sum to 1 and an answer cut from one of them', async () => {
    const ft = await finetuner(2, 3);
    const start = tf.memory().numTensors;
    const a = await answerQuestion(ft.model, evidence, tokenizer, denseRetrieval(ft.model, ft.index), 'Where was Di born?', {
      k: 4,
    });
    expect(tf.memory().numTensors).toBe(start);
    expect(a.documents).toHaveLength(4);
    expect(new Set(a.documents.map((d) => d.row)).size).toBe(4);
    expect(a.documents.reduce((s, d) => s + d.probability, 0)).toBeCloseTo(1, 6);
    for (const d of a.documents) {
      expect(d.spans.length).toBeGreaterThan(0);
      expect(d.spans.length).toBeLessThanOrEqual(3);
      for (const s of d.spans) expect(d.body.slice(s.charStart, s.charEnd)).toBe(s.text);
      for (let i = 1; i < d.spans.length; i++) expect(d.spans[i].score).toBeLessThanOrEqual(d.spans[i - 1].score);
    }
    expect(a.prediction).not.toBeNull();
    const best = a.documents[a.prediction!.doc];
    expect(best.body.slice(a.prediction!.charStart, a.prediction!.charEnd)).toBe(a.answer);
    expect(a.answer.length).toBeGreaterThan(0);
    // The answer is the best span of all the documents.
    expect(a.prediction!.score).toBeCloseTo(Math.max(...a.documents.map((d) => d.spans[0].score)), 5);
    // BM25 and the null document through the same function.
    const b = await answerQuestion(ft.model, evidence, tokenizer, bm25Retrieval(evidence), 'Where was Di born?', { k: 2 });
    expect(b.documents[0].id).toBe('di');
    expect(b.documents.map((d) => d.probability)).toEqual([0.5, 0.5]);
    const n = await answerQuestion(ft.model, evidence, tokenizer, nullRetrieval(), 'Where was Di born?');
    expect(n.documents).toHaveLength(1);
    expect(n.documents[0]).toMatchObject({ row: -1, id: null, probability: 1, spans: [] });
    expect(n).toMatchObject({ answer: '', prediction: null });
    ft.dispose();
  }, 60_000);

  it('retrievalRecall and evaluateOpenQa agree on recall@k (same rule)', async () => {
    const ft = await finetuner(2, 3);
    const dense = denseRetrieval(ft.model, ft.index);
    const r = await retrievalRecall(ft.model, evidence, tokenizer, dense, TRAIN, 2);
    const e = await evaluateOpenQa(ft.model, evidence, tokenizer, dense, TRAIN, { k: 2 });
    expect(e.recallAtK).toBe(r);
    expect(await retrievalRecall(ft.model, evidence, tokenizer, dense, TRAIN, 6)).toBe(1); // every passage read
    expect(await retrievalRecall(ft.model, evidence, tokenizer, nullRetrieval(), TRAIN, 1)).toBe(0);
    ft.dispose();
  }, 60_000);
});
