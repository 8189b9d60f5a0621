// `npm run train -- --corpus synthetic --preset tiny --steps 200`: headless REALM training in Node.
// Progress goes to stderr, one JSON line per step (StepMetrics) and per refresh/evaluation to stdout
// (or --metrics FILE), and a checkpoint (FILE.json header + FILE.bin buffers) is written at the end.
// The options mirror the page's training settings (see `--help`).
import { mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { decodeCheckpoint, encodeCheckpoint } from '../src/model/checkpoint';
import {
  makeConfig,
  PRESETS,
  parseMarginalisationOption,
  type MlmPairMasking,
  type PresetName,
  type RealmConfig,
} from '../src/model/config';
import { type MaskingStrategy } from '../src/corpus/masking';
import type { TrainingData } from '../src/corpus/data';
import { RealmTrainer } from '../src/model/trainer';
import { formatEta, ProgressMeter } from '../src/model/progress';
import { loadData } from './corpus-loader';
import { checkWasmFitsModel, guardedWasmStep, installWasmKernels } from '../src/platform/wasm-kernels';
import { configForCheckpoint, initFromCheckpoint, parseImportTarget } from './hf-io';

const HELP = `usage: npm run train -- [options]
  --corpus synthetic[:N] | DIR   training data: the synthetic world of N people (default 60), or a corpus folder
  --preset tiny|small|base       model size (default tiny)
  --steps N                      REALM steps (default: the preset's)
  --ict-steps N, --mlm-steps N   warm-start steps (default: the preset's)
  --backend wasm|cpu             tfjs backend (default wasm)
  --masking salient|random-token|random-span   how a corpus folder's sentences are masked (default salient)
  --max-queries N                sample at most N training queries from a corpus folder
  --seed N, --lr X, --batch N, --k N, --mode per-mask|joint, --refresh-every N, --dropout X
  --ict-batch N                  ICT batch size (passages per step; default: the preset's)
  --exclude passage|sentence     the trivial candidate: never retrieve the query's passage (REALM), or retrieve it without the query sentence
  --tau X                        retrieval temperature: p(z|x) = softmax(f(x,z)/X) (default 1, REALM's)
  --retriever-lr-scale X         REALM phase: the embedders learn at lr x X (default 1)
  --reader-lr-scale X            REALM phase: the reader learns at lr x X (default 1; 0 freezes it)
  --realm-ict-weight W           REALM phase: add W x the ICT loss on a fresh ICT batch to each step's loss (default 0)
  --realm-doc-gradient 0|1       REALM phase: 0 holds the retrieved passages' Embed_doc(z) fixed in p(z|x), so only Embed_input
                                 learns from the marginal likelihood (default 1, REALM's)
  --ict-masked P                 share of ICT pseudo-queries that are masked REALM queries (default 0, as in ORQA/REALM)
  --mlm-pairs P                  share of MLM warm-up inputs that are sentence pairs in the reader's layout (default 0)
  --mlm-pair-masking M           how those pairs are masked: random (BERT's 15%, the default), salient (a REALM query's
                                 salient span, then the rest of its passage) or answer (the same, then another passage holding the span)
  --eval-every N                 evaluate on the held-out cloze set every N steps (default: at phase ends)
  --metrics FILE                 JSON lines here instead of stdout
  --out PATH                     checkpoint PATH.json + PATH.bin (default $TMPDIR/realm-runs/<time>/checkpoint)
  --resume PATH                  continue from PATH.json + PATH.bin
  --init-hf DIR                  start from a Hugging Face checkpoint folder (model.safetensors, config.json, vocab.txt;
                                 or an npm run export folder); its config.json sets the architecture
  --init-encoders LIST           which encoders --init-hf starts: reader, embedders or all (default all)`;

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') out.set('help', '1');
    else if (a.startsWith('--')) {
      const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i]];
      if (v === undefined) throw new Error(`option --${k} needs a value (see --help)`);
      out.set(k, v);
    } else throw new Error(`unexpected argument "${a}" (see --help)`);
  }
  return out;
}

function num(args: Map<string, string>, key: string): number | undefined {
  const v = args.get(key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${key} must be a number, got "${v}"`);
  return n;
}

export function configFromArgs(args: Map<string, string>, data: TrainingData): RealmConfig {
  const preset = (args.get('preset') ?? 'tiny') as PresetName;
  const over: Partial<RealmConfig> = { vocabSize: data.vocabSize };
  const set = <K extends keyof RealmConfig>(k: K, v: RealmConfig[K] | undefined) => {
    if (v !== undefined) over[k] = v;
  };
  set('realmSteps', num(args, 'steps'));
  set('ictSteps', num(args, 'ict-steps'));
  set('mlmSteps', num(args, 'mlm-steps'));
  set('seed', num(args, 'seed'));
  set('learningRate', num(args, 'lr'));
  set('batchSize', num(args, 'batch'));
  set('ictBatchSize', num(args, 'ict-batch'));
  set('k', num(args, 'k'));
  set('refreshEvery', num(args, 'refresh-every'));
  set('ictMaskedQueryProbability', num(args, 'ict-masked'));
  set('mlmPairProbability', num(args, 'mlm-pairs'));
  set('retrievalTemperature', num(args, 'tau'));
  set('retrieverLearningRateScale', num(args, 'retriever-lr-scale'));
  set('readerLearningRateScale', num(args, 'reader-lr-scale'));
  set('realmIctWeight', num(args, 'realm-ict-weight'));
  const docGradient = args.get('realm-doc-gradient');
  if (docGradient !== undefined && docGradient !== '0' && docGradient !== '1')
    throw new Error(`--realm-doc-gradient is 0 or 1, got "${docGradient}"`);
  if (docGradient !== undefined) over.realmDocGradient = docGradient === '1';
  const dropout = num(args, 'dropout');
  set('dropout', dropout);
  set('attentionDropout', dropout);
  if (args.has('masking')) over.masking = args.get('masking') as MaskingStrategy;
  if (args.has('mode')) over.marginalisation = parseMarginalisationOption(args.get('mode')!);
  if (args.has('mlm-pair-masking')) over.mlmPairMasking = args.get('mlm-pair-masking') as MlmPairMasking; // validateConfig rejects other values
  if (args.has('exclude')) over.trivialExclusion = args.get('exclude') === 'sentence' ? 'sentence' : 'passage';
  return makeConfig(preset, over);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.has('help')) {
    console.log(HELP);
    return;
  }
  const backend = args.get('backend') ?? 'wasm';
  if (backend === 'wasm') {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    installWasmKernels(); // data-sharing Identity, XNNPACK matMuls (src/platform/wasm-kernels.ts)
  }
  if (!(await tf.setBackend(backend))) throw new Error(`the ${backend} backend did not start: use --backend cpu`);
  await tf.ready();
  const seed = num(args, 'seed') ?? 1;
  const preset = PRESETS[(args.get('preset') ?? 'tiny') as PresetName] ?? PRESETS.tiny;
  const data = loadData(args.get('corpus') ?? 'synthetic', seed, {
    masking: (args.get('masking') as MaskingStrategy | undefined) ?? preset.masking,
    maxQueryLength: preset.maxQueryLength,
    maxMasks: preset.maxMasks,
    maxQueries: num(args, 'max-queries'),
  });
  const initHf = args.get('init-hf'); // Hugging Face checkpoint (scripts/hf-io.ts)
  const config = initHf
    ? configForCheckpoint(initHf, configFromArgs(args, data), parseImportTarget(args.get('init-encoders')))
    : configFromArgs(args, data);
  const metricsFile = args.get('metrics');
  const sink = metricsFile ? createWriteStream(metricsFile) : process.stdout;
  const emit = (kind: string, record: object) => sink.write(JSON.stringify({ kind, ...record }) + '\n');
  const trainer = new RealmTrainer({ config, data, onRefresh: (r) => emit('refresh', r) });
  if (args.has('resume')) {
    const p = args.get('resume')!;
    trainer.restore(decodeCheckpoint(readFileSync(`${p}.json`, 'utf8'), readFileSync(`${p}.bin`)));
  }
  if (initHf && !args.has('resume'))
    for (const note of initFromCheckpoint(trainer.model, initHf, parseImportTarget(args.get('init-encoders'))))
      process.stderr.write(`init: ${note}\n`);
  checkWasmFitsModel(trainer.model.parameterCount(), `The ${args.get('preset') ?? 'tiny'} preset`);
  const evalEvery = num(args, 'eval-every') ?? 0;
  const meter = new ProgressMeter('train', 'steps', trainer.totalSteps - trainer.stepCount);
  const start = trainer.stepCount;
  process.stderr.write(
    `REALM ${args.get('preset') ?? 'tiny'} on ${tf.getBackend()}: ${trainer.model.parameterCount().toLocaleString()} parameters, ` +
      `${data.passages.length} passages, ${data.queries.length} training queries, ${data.heldOut.length} held-out; ` +
      `ICT ${config.ictSteps}, MLM ${config.mlmSteps}, REALM ${config.realmSteps} steps\n`,
  );
  const evaluate = async (label: string) => {
    const e = await trainer.evaluate(undefined, { logLikelihood: true });
    const ict = await trainer.ictRecall();
    emit('eval', { label, ...e, ictRecallAt1: ict.recallAt1, ictRecallAt5: ict.recallAt5 });
    process.stderr.write(
      `\n[eval ${label}] cloze acc ${e.clozeAccuracy.toFixed(3)} (null only ${e.clozeAccuracyNullOnly.toFixed(3)}), ` +
        `recall@5 ${e.recallAt5.toFixed(3)}, ICT recall@1/5 ${ict.recallAt1.toFixed(3)}/${ict.recallAt5.toFixed(3)}\n`,
    );
  };
  let lastPhase = trainer.phaseAt()?.phase;
  const presetName = args.get('preset') ?? 'tiny';
  while (!trainer.done) {
    const at = trainer.phaseAt()!;
    const where = `${at.phase.toUpperCase()} step ${at.phaseStep + 1} of the ${presetName} preset (batch ${at.phase === 'ict' ? config.ictBatchSize : config.batchSize})`;
    const m = (await guardedWasmStep(where, () => trainer.step()))!;
    emit('step', m);
    const p = meter.at(trainer.stepCount - start);
    process.stderr.write(
      `\r${m.phase} ${m.phaseStep}  step ${m.step}/${trainer.totalSteps}  loss ${m.loss.toFixed(3)}` +
        (Number.isNaN(m.mlmAccuracy) ? '' : `  acc ${m.mlmAccuracy.toFixed(2)}`) +
        (m.phase === 'realm'
          ? `  p(null) ${m.meanPNull.toFixed(2)}  RU ${m.meanRetrievalUtility.toFixed(3)}  stale ${m.staleness}`
          : '') +
        `  ${m.stepMs.toFixed(0)} ms  ETA ${formatEta(p.etaSeconds)}   `,
    );
    const next = trainer.phaseAt()?.phase;
    if (next !== lastPhase || (evalEvery > 0 && m.step % evalEvery === 0))
      await evaluate(next !== lastPhase ? `end of ${m.phase}` : `step ${m.step}`);
    lastPhase = next;
  }
  const out = args.get('out') ?? join(tmpdir(), 'realm-runs', new Date().toISOString().replace(/[:.]/g, '-'), 'checkpoint');
  mkdirSync(dirname(out), { recursive: true });
  const { header, data: bin } = encodeCheckpoint(await trainer.checkpoint('cli'));
  writeFileSync(`${out}.json`, header);
  writeFileSync(`${out}.bin`, bin);
  writeFileSync(`${out}.config.json`, JSON.stringify(config, null, 2)); // what npm run export needs
  process.stderr.write(`checkpoint: ${out}.json + ${out}.bin (${(bin.byteLength / 1e6).toFixed(1)} MB)\n`);
  trainer.dispose();
  if (metricsFile) (sink as ReturnType<typeof createWriteStream>).end();
}

if (process.argv[1]?.endsWith('train.ts')) {
  main().catch((e) => {
    console.error(`train: ${(e as Error).message}`);
    process.exit(1);
  });
}
