// `npm run bench:learning`: does retrieval help? By default (LEARNING_START=warm) the Classroom demo
// from the shipped warm start over 3 seeds: see bench/learning-warm.ts. With LEARNING_START=cold, the
// earlier recipe from random weights: trains the tiny preset (wasm backend) ICT -> MLM ->
// REALM with a fixed seed on the bundled tiny corpus (public/corpus/tiny) and prints, after each phase:
// held-out cloze accuracy with retrieval against the same model reading only the null document; the
// held-out log p(answer) with the retrieved documents, with k-1 random documents (RandomRetrieval) and
// with the null document, and the per-query differences (mean ± standard error, queries helped / hurt);
// recall@5 of a passage holding the answer next to what random retrieval would give (answers such as
// country names sit in many passages) and, at the end, beside BM25 and the query-independent floor of
// answerPriorRecallAtK; the same gain and recall on a fixed sample of 260 training
// queries (less noisy, but seen in training). Writes bench/results/learning-seed<N>.md.
// Env: LEARNING_CORPUS (a corpus folder, or synthetic[:N] for the synthetic world; default
// public/corpus/tiny), LEARNING_QUICK=1 for a short smoke run, LEARNING_STEPS="ict,mlm,realm"
// (default 400,1000,600), LEARNING_K (8), LEARNING_LR (1e-3), LEARNING_BATCH (8), LEARNING_ICT_BATCH
// (16, the tiny preset's: passages per ICT step, the in-batch negatives), LEARNING_SEED (1),
// LEARNING_SHARE (1: one BERT for both embedders; 0: separate, REALM's default),
// LEARNING_TAU (4: temperature of p(z|x)), LEARNING_RETRIEVER_LR_SCALE (0.1: the embedders' share of
// the learning rate in REALM), LEARNING_READER_LR_SCALE (1: the reader's; 0 freezes it), LEARNING_REALM_ICT_WEIGHT (0: the ICT loss added to each REALM step), LEARNING_DOC_GRADIENT (1; 0 holds
// Embed_doc(z) fixed in REALM's p(z|x), see realmDocGradient in config.ts), LEARNING_ICT_MASKED (0: share of masked ICT pseudo-queries),
// LEARNING_MLM_PAIRS (0: share of sentence pairs in the MLM warm-up), LEARNING_MLM_PAIR_MASKING
// (random | salient | answer: how those pairs are masked, see mlmPairMasking in config.ts), LEARNING_HIDDEN (32),
// LEARNING_SPANS_PER_SENTENCE (1: training queries per sentence, one per salient span up to this many),
// LEARNING_HELD_OUT_PASSAGES (0: N passages never trained on as queries, whose salient spans are a
// second, larger held-out set, in its own table: cloze right with retrieval / null document, recall@5),
// LEARNING_MODE=per-mask|joint, LEARNING_EXCLUDE=passage|sentence (the trivial candidate, see
// trivialExclusion in config.ts), LEARNING_WARM=PATH (reuse the ICT + MLM warm starts; the trained
// model is saved to PATH-final). About 15 minutes on 2 quiet cores.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/platform/wasm-kernels';
import { decodeCheckpoint, encodeCheckpoint } from '../src/model/checkpoint';
import { Bm25Retriever } from '../src/model/bm25';
import { maskedAnswer } from '../src/corpus/data';
import { answerPriorRecallAtK, chanceRecallAtK, utilitySummary } from './retrieval-stats';
import { RealmTrainer } from '../src/model/trainer';
import { formatMetric } from '../src/model/evaluate';
import { warmLearningBench } from './learning-warm';
import { formatSummary, learningConfig, learningData, learningEnv, learningSchedule, trainingSample } from './learning-setup';

/** "right with retrieval / with the null document of n" from two shares; "n/a" for an empty set. */
const rightOf = (withRetrieval: number, nullOnly: number, n: number) =>
  n === 0 ? 'n/a (no queries)' : `${Math.round(withRetrieval * n)} / ${Math.round(nullOnly * n)} of ${n}`;

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  await tf.setBackend('wasm');
  await tf.ready();
  // The default since #31: the Classroom demo from the shipped warm start (bench/learning-warm.ts).
  if (learningEnv('START', 'warm') === 'warm') return warmLearningBench();
  const { ict, mlm, realm, seed, quick } = learningSchedule();
  const data = learningData(seed);
  const config = learningConfig(data);
  const trainer = new RealmTrainer({ config, data });
  const chance = chanceRecallAtK(trainer.docs, data.heldOut, 5, config.trivialExclusion);
  const bm25 = new Bm25Retriever(trainer.docs).recallAtK(data.heldOut, 5, config.trivialExclusion);
  const seen = trainingSample(data, seed);
  const chanceSeen = chanceRecallAtK(trainer.docs, seen, 5, config.trivialExclusion);
  // The query-independent floor: the 5 passages holding the most training queries' answers, for every query.
  const trainingAnswers = data.queries.map((q) => ({ answer: maskedAnswer(q) }));
  const prior = answerPriorRecallAtK(trainer.docs, trainingAnswers, data.heldOut, 5, config.trivialExclusion);
  const t0 = performance.now();
  const rows: string[][] = [];
  // LEARNING_HELD_OUT_PASSAGES=N: the larger held-out set of those passages' salient spans, per stage.
  const spans = data.heldOutSpans ?? [];
  const chanceSpans = spans.length > 0 ? chanceRecallAtK(trainer.docs, spans, 5, config.trivialExclusion) : 0;
  const spanRows: string[][] = [];
  // Per query: log p(y|x) with the retrieved documents minus with k-1 random ones (the null term cancels).
  const gain = (ret: number[], rnd: number[]) => utilitySummary(ret.map((x, i) => x - rnd[i]));
  const record = async (stage: string) => {
    const e = await trainer.evaluate(data.heldOut, { logLikelihood: true });
    const eRandom = await trainer.evaluate(data.heldOut, { randomDocuments: seed + 123, logLikelihood: true });
    const r = await trainer.ictRecall();
    const s = await trainer.evaluate(seen, { logLikelihood: true });
    const sRandom = await trainer.evaluate(seen, { randomDocuments: seed + 456, logLikelihood: true });
    const n = e.queries;
    rows.push([
      stage,
      String(trainer.stepCount),
      rightOf(e.clozeAccuracy, e.clozeAccuracyNullOnly, n),
      `${formatMetric(e.tokenAccuracy)} / ${formatMetric(e.tokenAccuracyNullOnly)}`,
      `${formatMetric(e.logLikelihood, 2)} / ${formatMetric(eRandom.logLikelihood, 2)} / ${formatMetric(e.logLikelihoodNullOnly, 2)}`,
      formatSummary(utilitySummary(e.utilities)),
      formatSummary(gain(e.utilities, eRandom.utilities)),
      `${formatMetric(e.recallAt5)} (${formatMetric(chance)})`,
      formatMetric(r.recallAt5),
      formatSummary(gain(s.utilities, sRandom.utilities)),
      `${formatMetric(s.recallAt5)} (${formatMetric(chanceSeen)})`,
    ]);
    if (spans.length > 0) {
      const h = await trainer.evaluate(spans);
      const m = h.queries;
      spanRows.push([
        stage,
        String(trainer.stepCount),
        rightOf(h.clozeAccuracy, h.clozeAccuracyNullOnly, m),
        `${formatMetric(h.recallAt5)} (${formatMetric(chanceSpans)})`,
      ]);
    }
    process.stderr.write(
      `\n${stage}: ${rows[rows.length - 1].join(' | ')}${spans.length > 0 ? ` | held-out passages: ${spanRows[spanRows.length - 1].slice(2).join(' | ')}` : ''} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
    );
  };
  // LEARNING_WARM=PATH: reuse the model after ICT + MLM from PATH.json/.bin (written there by the first
  // run with that PATH), so runs that differ only in their REALM settings skip the identical warm starts.
  // MLM trains only the reader, so the retriever (recall@5, ICT recall) is the one ICT left.
  const warm = process.env.LEARNING_WARM;
  if (warm && existsSync(`${warm}.json`)) {
    trainer.restore(decodeCheckpoint(readFileSync(`${warm}.json`, 'utf8'), readFileSync(`${warm}.bin`)));
    if (trainer.stepCount !== ict + mlm)
      throw new Error(`${warm} holds step ${trainer.stepCount}, not the end of ICT ${ict} + MLM ${mlm}`);
    await record('after ICT + MLM (restored)');
  }
  let last = trainer.phaseAt()?.phase;
  while (!trainer.done) {
    const m = (await trainer.step())!;
    if (m.step % 25 === 0) {
      process.stderr.write(
        `\r${m.phase} step ${m.step} loss ${m.loss.toFixed(3)}` +
          (m.phase === 'realm'
            ? ` acc ${m.mlmAccuracy.toFixed(2)} p(null) ${m.meanPNull.toFixed(2)} RU ${m.meanRetrievalUtility.toFixed(3)}`
            : '') +
          `  ${((performance.now() - t0) / 1000).toFixed(0)} s   `,
      );
    }
    const next = trainer.phaseAt()?.phase;
    if (next !== last) await record(`after ${m.phase.toUpperCase()}`);
    if (warm && m.phase === 'mlm' && next !== 'mlm' && !existsSync(`${warm}.json`)) {
      const { header, data: bin } = encodeCheckpoint(await trainer.checkpoint('bench-learning'));
      writeFileSync(`${warm}.bin`, bin);
      writeFileSync(`${warm}.json`, header);
    }
    last = next;
  }
  if (warm) {
    // The trained model too, beside the warm start, for later looks at it.
    const { header, data: bin } = encodeCheckpoint(await trainer.checkpoint('bench-learning'));
    writeFileSync(`${warm}-final.bin`, bin);
    writeFileSync(`${warm}-final.json`, header);
  }
  const secs = (performance.now() - t0) / 1000;
  const header = [
    'stage',
    'step',
    'held-out cloze right: retrieval / null doc',
    'token acc: retrieval / null doc',
    'log p(answer): retrieved / random docs / null doc',
    'utility vs null doc ± s.e. (helped / hurt)',
    'gain vs random docs ± s.e. (helped / hurt)',
    'recall@5 (chance)',
    'ICT recall@5',
    `${seen.length} training queries: gain vs random docs`,
    `${seen.length} training queries: recall@5 (chance)`,
  ];
  const markdownTable = (head: string[], body: string[][]) =>
    [head, head.map(() => '---'), ...body].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const table = markdownTable(header, rows);
  const spanHeader = [
    'stage',
    'step',
    `held-out passages' ${spans.length} span queries: cloze right, retrieval / null doc`,
    'recall@5 (chance)',
  ];
  const spanTable = spans.length > 0 ? `\n\n${markdownTable(spanHeader, spanRows)}` : '';
  const corpus = learningEnv('CORPUS', 'public/corpus/tiny');
  const what = corpus.startsWith('synthetic') ? `Synthetic world (${corpus})` : `Corpus ${corpus}`;
  const text =
    `${what}: ${data.passages.length} passages, ${data.queries.length} training queries, ` +
    `${data.heldOut.length} held-out cloze queries; tiny preset (${trainer.model.parameterCount().toLocaleString()} parameters), ` +
    `batch ${config.batchSize}, k = ${config.k} (incl. null), ${config.marginalisation}, lr ${config.learningRate}, ` +
    `${config.shareRetrieverWeights ? 'shared' : 'separate'} retriever BERTs, τ ${config.retrievalTemperature}, trivial candidate excluded by ${config.trivialExclusion}, masked ICT queries ${config.ictMaskedQueryProbability}, MLM sentence pairs ${config.mlmPairProbability} (${config.mlmPairMasking} masks), retriever lr x${config.retrieverLearningRateScale} and reader lr x${config.readerLearningRateScale} in REALM, ICT loss weight ${config.realmIctWeight} in REALM,${config.realmDocGradient ? '' : ' Embed_doc fixed in p(z|x),'} hidden ${config.hidden}, seed ${seed}; ICT ${ict}, MLM ${mlm}, REALM ${realm} steps; ` +
    `tfjs ${tf.getBackend()}, ${secs.toFixed(0)} s.\n\n${table}${spanTable}\n\nBM25 (MiniSearch, same wordpieces, same trivial-candidate rule) recall@5: ${formatMetric(bm25)}. ` +
    `The 5 passages holding the most training answers, the same for every query (answerPriorRecallAtK): ${formatMetric(prior)}.\n`;
  console.log(text);
  if (!quick) {
    mkdirSync('bench/results', { recursive: true });
    writeFileSync(`bench/results/learning-seed${seed}.md`, text);
  }
  trainer.dispose();
}

main().catch((e) => {
  console.error(`bench:learning: ${(e as Error).message}`);
  process.exit(1);
});
