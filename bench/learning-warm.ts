// `npm run bench:learning` (LEARNING_START=warm, the default): what retrieval adds in the Classroom
// demo as the paper starts it. For each seed: the shipped warm start (a pre-trained reader, an
// ICT-trained retriever, BERT's vocabulary), REALM steps only, on a bundled corpus tokenized with the
// warm start's vocabulary; measured before and after REALM on the corpus's held-out cloze sentences:
//   EM            held-out cloze exact match with retrieval, and with the null document alone;
//   utility       mean per-query retrieval utility log p(y|x) - log p(y|null, x);
//   gold R@5      the gold passage (the one the sentence was cut from, which stays in the index and is
//                 read and searched without the sentence: trivialExclusion 'sentence') in the top 5;
//   answer R@5    a top-5 passage holds the answer's wordpieces;
// beside BM25 over the same wordpieces (same rule) and chance. Mean ± standard error over the seeds.
// Env: LEARNING_WARM_START (public/warmstart/mini), LEARNING_CORPUS (public/corpus/tiny),
// LEARNING_SEEDS (1,2,3), LEARNING_REALM_STEPS (150, the Classroom demo's), LEARNING_BATCH, LEARNING_LR, LEARNING_K,
// LEARNING_REFRESH_EVERY (the mini preset's otherwise), LEARNING_TAU (retrievalTemperature, default 4) and
// LEARNING_RETRIEVER_LR_SCALE (the embedders' share of the learning rate, default 0.1), the page's `tau` and `rlr`.
// Writes bench/results/learning-warm.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { buildTrainingData } from '../src/corpus/corpus-data';
import { containsSpan, trivialCandidate, type ClozeQuery, type DocumentStore } from '../src/corpus/data';
import { Rng } from '../src/corpus/rng';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { Bm25Retriever } from '../src/model/bm25';
import { initArchitecture, initModelWeights } from '../src/model/checkpoint';
import { makeConfig, type PresetName, type RealmConfig } from '../src/model/config';
import { answerRecallAtK, formatMetric, goldPassages, goldRecallAtK, topKRows } from '../src/model/evaluate';
import { freshIndex } from '../src/model/index-refresh';
import { RealmTrainer } from '../src/model/trainer';
import type { WarmStart } from '../src/model/warm-start';
import { loadCorpusDir } from '../scripts/corpus-loader';
import { readWarmStart } from '../scripts/warmstart-files';
import { learningEnv } from './learning-setup';

/** What one model does on the held-out set. */
export interface HeldOutMeasure {
  exactMatch: number;
  exactMatchNullOnly: number;
  utility: number;
  goldRecall: number;
  answerRecall: number;
}

export interface WarmDemoSeed {
  seed: number;
  before: HeldOutMeasure;
  after: HeldOutMeasure;
  realmSeconds: number;
}

/** Held-out query i's view of a row (its own passage without the sentence) and whether it holds the answer. */
function answerHolds(docs: DocumentStore, queries: readonly ClozeQuery[]) {
  return (i: number, row: number) =>
    containsSpan(trivialCandidate('sentence', docs, queries[i]).tokensOf(row), queries[i].answer);
}

/** EM with retrieval and null-only, mean utility, gold and answer recall@5 of the trainer's current model. */
export async function measureHeldOut(trainer: RealmTrainer): Promise<HeldOutMeasure> {
  const queries = trainer.trainingData.heldOut;
  const e = await trainer.evaluate(queries, { logLikelihood: true });
  const own = goldPassages(trainer.docs, queries);
  const gold = own.map((o) => (o ? [o.row] : null));
  const holds = answerHolds(trainer.docs, queries);
  const index = await freshIndex(trainer.model, trainer.docs);
  try {
    const rows = await topKRows(trainer.model, index, queries, 5, 16, own);
    return {
      exactMatch: e.clozeAccuracy,
      exactMatchNullOnly: e.clozeAccuracyNullOnly,
      utility: e.utilities.length > 0 ? e.utilities.reduce((a, b) => a + b, 0) / e.utilities.length : NaN,
      goldRecall: goldRecallAtK(rows, gold, 5).recall,
      answerRecall: answerRecallAtK(rows, holds, 5).recall,
    };
  } finally {
    index.dispose();
  }
}

/** The demo's config: the warm start's architecture, its preset's REALM settings, REALM steps only. */
export function warmDemoConfig(ws: WarmStart, seed: number, realmSteps: number, over: Partial<RealmConfig> = {}): RealmConfig {
  return makeConfig(ws.manifest.preset as PresetName, {
    ...initArchitecture(ws.checkpoint),
    ictSteps: 0,
    mlmSteps: 0,
    realmSteps,
    seed,
    trivialExclusion: 'sentence',
    retrievalTemperature: 4, // as the Classroom demo (src/app/first-run.ts)
    retrieverLearningRateScale: 0.1,
    ...over,
  });
}

/** One seed of the demo: measure, train `realmSteps` REALM steps, measure. */
export async function warmDemoSeed(ws: WarmStart, corpusDir: string, config: RealmConfig): Promise<WarmDemoSeed> {
  const tokenizer = new WordPieceTokenizer(ws.vocab);
  const corpus = loadCorpusDir(corpusDir, tokenizer);
  const data = buildTrainingData(corpus.passages, tokenizer, corpus.cloze, {
    masking: config.masking,
    rng: new Rng(config.seed + 2000),
    maxQueryLength: config.maxQueryLength,
    maxMasks: config.maxMasks,
  });
  const trainer = new RealmTrainer({ config, data });
  try {
    initModelWeights(trainer.model, ws.checkpoint);
    const before = await measureHeldOut(trainer);
    const t0 = performance.now();
    while (!trainer.done) {
      const m = (await trainer.step())!;
      if (m.step % 10 === 0)
        process.stderr.write(
          `\rseed ${config.seed} REALM ${m.step}/${config.realmSteps} loss ${m.loss.toFixed(3)} p(null) ${m.meanPNull.toFixed(2)} RU ${m.meanRetrievalUtility.toFixed(3)} ${m.stepMs.toFixed(0)} ms   `,
        );
    }
    const realmSeconds = (performance.now() - t0) / 1000;
    return { seed: config.seed, before, after: await measureHeldOut(trainer), realmSeconds };
  } finally {
    trainer.dispose();
  }
}

/** BM25 (same wordpieces, same 'sentence' rule) and chance on the corpus's held-out set. */
export function baselines(
  ws: WarmStart,
  corpusDir: string,
  config: RealmConfig,
): { bm25Gold: number; bm25Answer: number; chanceGold: number; queries: number; passages: number } {
  const tokenizer = new WordPieceTokenizer(ws.vocab);
  const corpus = loadCorpusDir(corpusDir, tokenizer);
  const data = buildTrainingData(
    corpus.passages.map((p) => ({ ...p, spans: p.spans ?? [] })),
    tokenizer,
    corpus.cloze,
    { masking: 'salient', rng: new Rng(1), maxQueryLength: config.maxQueryLength, maxQueries: 0 },
  );
  const trainer = new RealmTrainer({ config, data });
  try {
    const gold = goldPassages(trainer.docs, data.heldOut).map((o) => (o ? [o.row] : null));
    const holds = answerHolds(trainer.docs, data.heldOut);
    const bm25 = new Bm25Retriever(trainer.docs);
    const rows = data.heldOut.map((q) => bm25.search(q, 5, 'sentence'));
    const n = trainer.docs.ids.length;
    return {
      bm25Gold: goldRecallAtK(rows, gold, 5).recall,
      bm25Answer: answerRecallAtK(rows, holds, 5).recall,
      chanceGold: Math.min(1, 5 / n),
      queries: data.heldOut.length,
      passages: n,
    };
  } finally {
    trainer.dispose();
  }
}

/** "mean ± s.e." over seeds. */
export function meanSe(xs: readonly number[], digits = 3): string {
  const v = xs.filter(Number.isFinite);
  if (v.length === 0) return 'n/a';
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const se = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1) / v.length) : NaN;
  return `${mean.toFixed(digits)}${Number.isFinite(se) ? ` ± ${se.toFixed(digits)}` : ''}`;
}

export async function warmLearningBench(): Promise<void> {
  const dir = learningEnv('WARM_START', 'public/warmstart/mini');
  const corpusDir = learningEnv('CORPUS', 'public/corpus/tiny');
  const seeds = learningEnv('SEEDS', '1,2,3').split(',').map(Number);
  const realmSteps = Number(learningEnv('REALM_STEPS', '150'));
  const over: Partial<RealmConfig> = {};
  if (process.env.LEARNING_BATCH) over.batchSize = Number(process.env.LEARNING_BATCH);
  if (process.env.LEARNING_LR) over.learningRate = Number(process.env.LEARNING_LR);
  if (process.env.LEARNING_K) over.k = Number(process.env.LEARNING_K);
  if (process.env.LEARNING_REFRESH_EVERY) over.refreshEvery = Number(process.env.LEARNING_REFRESH_EVERY);
  if (process.env.LEARNING_TAU) over.retrievalTemperature = Number(process.env.LEARNING_TAU);
  if (process.env.LEARNING_RETRIEVER_LR_SCALE) over.retrieverLearningRateScale = Number(process.env.LEARNING_RETRIEVER_LR_SCALE);
  const ws = await readWarmStart(dir);
  const results: WarmDemoSeed[] = [];
  for (const seed of seeds) {
    const config = warmDemoConfig(ws, seed, realmSteps, over);
    const r = await warmDemoSeed(ws, corpusDir, config);
    results.push(r);
    process.stderr.write(`\nseed ${seed}: ${JSON.stringify(r)}\n`);
  }
  const config = warmDemoConfig(ws, seeds[0], realmSteps, over);
  const base = baselines(ws, corpusDir, config);
  const col = (f: (m: HeldOutMeasure) => number, when: 'before' | 'after') => meanSe(results.map((r) => f(r[when])));
  const gap = (m: HeldOutMeasure) => m.exactMatch - m.exactMatchNullOnly;
  const rows: [string, (m: HeldOutMeasure) => number][] = [
    ['held-out cloze EM, with retrieval', (m) => m.exactMatch],
    ['held-out cloze EM, null document alone', (m) => m.exactMatchNullOnly],
    ['EM gap (retrieval - null)', gap],
    ['mean retrieval utility (nats)', (m) => m.utility],
    ['gold-passage recall@5', (m) => m.goldRecall],
    ['answer recall@5', (m) => m.answerRecall],
  ];
  const table = [
    '| measure | warm start (before REALM) | after REALM | per-seed after |',
    '| --- | --- | --- | --- |',
    ...rows.map(
      ([name, f]) =>
        `| ${name} | ${col(f, 'before')} | ${col(f, 'after')} | ${results.map((r) => formatMetric(f(r.after))).join(', ')} |`,
    ),
    `| BM25 gold / answer recall@5 | ${formatMetric(base.bm25Gold)} / ${formatMetric(base.bm25Answer)} | | |`,
    `| chance gold recall@5 | ${formatMetric(base.chanceGold, 4)} | | |`,
  ].join('\n');
  const goldGain = results.map((r) => r.after.goldRecall - r.before.goldRecall);
  const targets = [
    `EM gap >= 0.10: ${meanSe(results.map((r) => gap(r.after)))}`,
    `gold recall@5 gain >= 0.05: ${meanSe(goldGain)}`,
    `mean utility > 0: ${meanSe(results.map((r) => r.after.utility))}`,
  ].join('; ');
  const text =
    `Warm start ${dir} (${ws.manifest.preset}, ${ws.manifest.steps.ict} ICT + ${ws.manifest.steps.mlm} MLM steps), corpus ${corpusDir} ` +
    `(${base.passages} passages, ${base.queries} held-out cloze), REALM ${realmSteps} steps, batch ${config.batchSize}, k ${config.k}, ` +
    `lr ${config.learningRate} (embedders x${config.retrieverLearningRateScale}), τ ${config.retrievalTemperature}, refresh every ${config.refreshEvery}, trivial candidate by '${config.trivialExclusion}', tfjs ${tf.getBackend()}, ` +
    `seeds ${seeds.join(', ')}; REALM wall time per seed ${results.map((r) => r.realmSeconds.toFixed(0)).join(', ')} s.\n\n${table}\n\nTargets (#31): ${targets}.\n`;
  console.log(text);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/learning-warm.md', text);
}
