// `npm run train -- --corpus synthetic --preset tiny --steps 200`: headless REALM training in Node.
// Progress goes to stderr, one JSON line per step (StepMetrics) and per refresh/evaluation to stdout
// (or --metrics FILE). Checkpoints (PATH.json header + PATH.bin buffers, with the model's vocab.txt
// beside them) are written after ICT (PATH-ict), after MLM (PATH-mlm) and at the end (PATH).
// `--init PATH` starts the model from a checkpoint's weights (step 0, fresh optimiser), tokenizing the
// corpus with the vocab.txt in its folder when there is one. The options mirror the page's training
// settings and every setting of the learning bench (its LEARNING_* variables; see `--help`).
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initArchitecture, initModelWeights } from '../src/model/checkpoint';
import { formatMetric } from '../src/model/evaluate';
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
import { checkKnownOptions, CliArgsError, flagOption, numOption as num, parseCliArgs } from './cli-args';
import { loadInit, vocabSha256, writeCheckpoint, type InitCheckpoint } from './checkpoint-files';
import { configForCheckpoint, initFromCheckpoint, parseImportTarget } from './hf-io';
import { checkWasmFitsModel, guardedWasmStep } from '../src/platform/wasm-kernels';
import { startBackend } from './cli-backend';

const HELP = `usage: npm run train -- [options]
  --corpus synthetic[:N] | DIR   training data: the synthetic world of N people (default 60), or a corpus folder
  --preset tiny|mini|small|base  model size (default tiny; mini is the shipped warm start's)
  --hidden H, --layers L, --heads A, --intermediate I, --retriever-dim D
                                 the encoders' size (default: the preset's; --hidden alone keeps the preset's
                                 intermediate/hidden ratio, e.g. 2H for tiny, as the learning bench does)
  --share-embedders 0|1          1: Embed_input and Embed_doc share one BERT (the learning bench's LEARNING_SHARE=1);
                                 0: separate ones (default, REALM's)
  --steps N                      REALM steps (default: the preset's)
  --ict-steps N, --mlm-steps N   warm-start steps (default: the preset's)
  --backend wasm|cpu             tfjs backend (default wasm)
  --masking salient|random-token|random-span   how a corpus folder's sentences are masked (default salient)
  --max-queries N                sample at most N training queries from a corpus folder
  --spans-per-sentence N         training queries per sentence, one per salient span up to N (default 1, REALM's)
  --held-out-passages N          N passages never used as training queries; their salient spans are a second,
                                 larger held-out set, evaluated beside the cloze set (default 0)
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
  --out PATH                     checkpoints: PATH-ict and PATH-mlm after those phases, PATH at the end (each
                                 PATH.json + PATH.bin), and the model's vocab.txt in PATH's folder
                                 (default $TMPDIR/realm-runs/<time>/checkpoint)
  --init PATH                    start the model from PATH.json + PATH.bin's weights (e.g. a warm start:
                                 public/warmstart/NAME/checkpoint): its architecture, step 0, a fresh optimiser;
                                 with a vocab.txt in PATH's folder the corpus is tokenized with it
  --resume PATH                  continue from PATH.json + PATH.bin (weights, optimiser, step, RNG), e.g. PATH-mlm
  --init-hf DIR                  start from a Hugging Face checkpoint folder (model.safetensors, config.json, vocab.txt;
                                 or an npm run export folder); its config.json sets the architecture
  --init-encoders LIST           which encoders --init-hf starts: reader, embedders or all (default all)`;

/** Every option `npm run train` reads (a typo is an error, not a silent default). */
const OPTIONS = [
  'corpus',
  'preset',
  'steps',
  'ict-steps',
  'mlm-steps',
  'backend',
  'masking',
  'max-queries',
  'seed',
  'lr',
  'batch',
  'k',
  'mode',
  'refresh-every',
  'dropout',
  'ict-batch',
  'exclude',
  'tau',
  'retriever-lr-scale',
  'reader-lr-scale',
  'realm-ict-weight',
  'realm-doc-gradient',
  'ict-masked',
  'mlm-pairs',
  'mlm-pair-masking',
  'eval-every',
  'metrics',
  'out',
  'resume',
  'init',
  'init-hf',
  'init-encoders',
  'hidden',
  'layers',
  'heads',
  'intermediate',
  'retriever-dim',
  'share-embedders',
  'spans-per-sentence',
  'held-out-passages',
  'weight-decay',
  'warmup',
  'clip-norm',
];

/**
 * The run's config: the preset, the options given, and with `init` the checkpoint's architecture (an
 * option that contradicts it is an error).
 */
export function configFromArgs(args: Map<string, string>, data: TrainingData, init?: InitCheckpoint): RealmConfig {
  const preset = (args.get('preset') ?? 'tiny') as PresetName;
  if (!PRESETS[preset]) throw new CliArgsError(`--preset is tiny, mini, small or base, got "${preset}"`);
  const over: Partial<RealmConfig> = {};
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
  set('realmDocGradient', flagOption(args, 'realm-doc-gradient'));
  set('weightDecay', num(args, 'weight-decay'));
  set('warmupFraction', num(args, 'warmup'));
  set('clipNorm', num(args, 'clip-norm'));
  // The architecture: from the options, or (with --init) from the checkpoint.
  const base = PRESETS[preset];
  const arch: Partial<RealmConfig> = {};
  const setArch = <K extends keyof RealmConfig>(k: K, v: RealmConfig[K] | undefined) => {
    if (v !== undefined) arch[k] = v;
  };
  setArch('hidden', num(args, 'hidden'));
  setArch('intermediate', num(args, 'intermediate'));
  setArch('layers', num(args, 'layers'));
  setArch('heads', num(args, 'heads'));
  setArch('retrieverDim', num(args, 'retriever-dim'));
  setArch('shareRetrieverWeights', flagOption(args, 'share-embedders'));
  if (init) {
    Object.assign(over, initArchitecture(init.checkpoint, arch));
    if (over.vocabSize !== data.vocabSize)
      throw new CliArgsError(
        `the checkpoint's model reads ${over.vocabSize} wordpieces but the corpus was tokenized with ${data.vocabSize}: ` +
          `put the model's vocab.txt beside the checkpoint (${init.vocabFile ?? 'none found'})`,
      );
  } else {
    // --hidden alone keeps the preset's intermediate/hidden ratio (the learning bench's LEARNING_HIDDEN: 2H on tiny).
    if (arch.hidden !== undefined && arch.intermediate === undefined)
      arch.intermediate = (arch.hidden * base.intermediate) / base.hidden;
    Object.assign(over, arch, { vocabSize: data.vocabSize });
  }
  const dropout = num(args, 'dropout');
  set('dropout', dropout);
  set('attentionDropout', dropout);
  if (args.has('masking')) over.masking = args.get('masking') as MaskingStrategy;
  if (args.has('mode')) over.marginalisation = parseMarginalisationOption(args.get('mode')!);
  if (args.has('mlm-pair-masking')) over.mlmPairMasking = args.get('mlm-pair-masking') as MlmPairMasking; // validateConfig rejects other values
  if (args.has('exclude')) {
    const e = args.get('exclude');
    if (e !== 'passage' && e !== 'sentence') throw new CliArgsError(`--exclude is passage or sentence, got "${e}"`);
    over.trivialExclusion = e;
  }
  return makeConfig(preset, over);
}

async function main() {
  const { options: args } = parseCliArgs(process.argv.slice(2));
  if (args.has('help')) {
    console.log(HELP);
    return;
  }
  checkKnownOptions(args, OPTIONS);
  if (args.has('init') && args.has('resume'))
    throw new CliArgsError('--init starts a new run from weights, --resume continues one: give one of them');
  await startBackend(args.get('backend'));
  const seed = num(args, 'seed') ?? 1;
  const presetName = args.get('preset') ?? 'tiny';
  const preset = PRESETS[presetName as PresetName] ?? PRESETS.tiny;
  // --init and --resume: the checkpoint, and the model's vocabulary when a vocab.txt lies beside it.
  const from = args.get('init') ?? args.get('resume');
  const init = from ? loadInit(from) : undefined;
  if (init?.tokenizer)
    process.stderr.write(`tokenizing with the model's vocabulary ${init.vocabFile} (${init.tokenizer.size} pieces)\n`);
  const corpus = args.get('corpus') ?? 'synthetic';
  const data = loadData(corpus, seed, {
    masking: (args.get('masking') as MaskingStrategy | undefined) ?? preset.masking,
    maxQueryLength: preset.maxQueryLength,
    maxMasks: preset.maxMasks,
    maxQueries: num(args, 'max-queries'),
    spansPerSentence: num(args, 'spans-per-sentence'),
    heldOutPassages: num(args, 'held-out-passages'),
    tokenizer: init?.tokenizer ?? undefined,
  });
  const initHf = args.get('init-hf'); // Hugging Face checkpoint (scripts/hf-io.ts)
  if (initHf && init) throw new CliArgsError('--init-hf and --init/--resume start the model twice: give one');
  const config = initHf
    ? configForCheckpoint(initHf, configFromArgs(args, data), parseImportTarget(args.get('init-encoders')))
    : configFromArgs(args, data, init);
  const metricsFile = args.get('metrics');
  const sink = metricsFile ? createWriteStream(metricsFile) : process.stdout;
  const emit = (kind: string, record: object) => sink.write(JSON.stringify({ kind, ...record }) + '\n');
  const trainer = new RealmTrainer({ config, data, onRefresh: (r) => emit('refresh', r) });
  if (args.has('resume')) trainer.restore(init!.checkpoint);
  else if (init) {
    initModelWeights(trainer.model, init.checkpoint);
    process.stderr.write(
      `model initialised from ${from} (run "${init.checkpoint.runId}", step ${init.checkpoint.step}); step 0, fresh optimiser\n`,
    );
  }
  if (initHf)
    for (const note of initFromCheckpoint(trainer.model, initHf, parseImportTarget(args.get('init-encoders'))))
      process.stderr.write(`init: ${note}\n`);
  checkWasmFitsModel(trainer.model.parameterCount(), `The ${presetName} preset`);
  const evalEvery = num(args, 'eval-every') ?? 0;
  const meter = new ProgressMeter('train', 'steps', trainer.totalSteps - trainer.stepCount);
  const start = trainer.stepCount;
  process.stderr.write(
    `REALM ${presetName} on ${tf.getBackend()}: ${trainer.model.parameterCount().toLocaleString()} parameters, ` +
      `${config.shareRetrieverWeights ? 'one shared' : 'separate'} retriever BERT${config.shareRetrieverWeights ? '' : 's'}, ` +
      `${data.passages.length} passages, ${data.queries.length} training queries, ${data.heldOut.length} held-out` +
      (data.heldOutSpans?.length ? ` (+ ${data.heldOutSpans.length} held-out passages' spans)` : '') +
      `; ICT ${config.ictSteps}, MLM ${config.mlmSteps}, REALM ${config.realmSteps} steps\n`,
  );
  const evaluate = async (label: string) => {
    const e = await trainer.evaluate(undefined, { logLikelihood: true });
    const ict = await trainer.ictRecall();
    const spans = data.heldOutSpans?.length ? await trainer.evaluate(data.heldOutSpans) : null;
    emit('eval', {
      label,
      ...e,
      ictRecallAt1: ict.recallAt1,
      ictRecallAt5: ict.recallAt5,
      ...(spans
        ? {
            heldOutSpans: {
              clozeAccuracy: spans.clozeAccuracy,
              clozeAccuracyNullOnly: spans.clozeAccuracyNullOnly,
              recallAt5: spans.recallAt5,
              queries: spans.queries,
            },
          }
        : {}),
    });
    process.stderr.write(
      `\n[eval ${label}] ${e.queries} held-out: cloze acc ${formatMetric(e.clozeAccuracy)} (null only ${formatMetric(e.clozeAccuracyNullOnly)}), ` +
        `recall@5 ${formatMetric(e.recallAt5)}, ICT recall@1/5 ${formatMetric(ict.recallAt1)}/${formatMetric(ict.recallAt5)}` +
        (spans
          ? `; ${spans.queries} held-out passage spans: cloze acc ${formatMetric(spans.clozeAccuracy)} (null only ${formatMetric(spans.clozeAccuracyNullOnly)}), recall@5 ${formatMetric(spans.recallAt5)}`
          : '') +
        '\n',
    );
  };
  const out = args.get('out') ?? join(tmpdir(), 'realm-runs', new Date().toISOString().replace(/[:.]/g, '-'), 'checkpoint');
  const vocab = init?.tokenizer?.vocab ?? (data as { corpus?: { tokenizer: { vocab: string[] } } }).corpus?.tokenizer.vocab;
  const save = async (path: string) => {
    const c = await trainer.checkpoint('cli');
    c.extra = {
      ...c.extra,
      corpus: corpus.startsWith('synthetic') ? corpus : resolve(corpus),
      ...(from ? { init: resolve(from) } : {}),
    };
    if (vocab) c.extra.vocabSha256 = vocabSha256(vocab);
    const bytes = writeCheckpoint(path, c, vocab ?? null);
    process.stderr.write(`checkpoint: ${path}.json + ${path}.bin (${(bytes / 1e6).toFixed(1)} MB, step ${c.step})\n`);
  };
  let lastPhase = trainer.phaseAt()?.phase;
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
    // A checkpoint after ICT and after MLM (the last phase's is the final one below).
    if (next !== lastPhase && next !== undefined && m.phase !== 'realm') await save(`${out}-${m.phase}`);
    lastPhase = next;
  }
  await save(out);
  trainer.dispose();
  if (metricsFile) (sink as ReturnType<typeof createWriteStream>).end();
}

if (process.argv[1]?.endsWith('train.ts')) {
  main().catch((e) => {
    console.error(`train: ${(e as Error).message}`);
    process.exit(1);
  });
}
