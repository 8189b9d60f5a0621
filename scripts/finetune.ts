// `npm run finetune -- --from CHECKPOINT --qa FILE [--dev FILE] [--steps N] [--k 5] [--seed S] [--out DIR]`:
// Open-QA fine-tuning of a pre-trained REALM (src/model/qa-finetune.ts) in Node. The model takes the
// checkpoint's weights and a fresh span head; Embed_doc(z) of every passage of the corpus is computed
// once and stays fixed; Embed_input, the reader and the span head train on the questions of FILE
// (NQ-open jsonl or DPR's QA tsv). One JSON line per step goes to stdout (or --metrics FILE), progress
// to stderr; with --dev, exact match and recall@k on the dev questions at the end (and every
// --eval-every steps). Writes DIR/checkpoint.json + .bin with the vocab.txt beside them, and with
// --dev DIR/predictions.jsonl ({question, prediction} per line, as ORQA writes them).
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { QaItem } from '../src/corpus/corpus-format';
import { formatMetric } from '../src/model/evaluate';
import { evaluateOpenQa, QA_RECALL_RULE, type OpenQaEval } from '../src/model/qa-answer';
import { FINETUNE_DEFAULTS, OpenQaFinetuner, openQaModel, type FinetuneOptions } from '../src/model/qa-finetune';
import { denseRetrieval } from '../src/model/qa-retrieval';
import { formatEta, ProgressMeter } from '../src/model/progress';
import { checkWasmFitsModel, guardedWasmStep } from '../src/platform/wasm-kernels';
import { checkKnownOptions, CliArgsError, numOption, parseCliArgs } from './cli-args';
import { vocabSha256, writeCheckpoint } from './checkpoint-files';
import { startBackend } from './cli-backend';
import { loadQaSetup, readQaFile } from './qa-setup';

const HELP = `usage: npm run finetune -- --from CHECKPOINT --qa FILE [options]
  --from PATH        the pre-trained checkpoint PATH.json + PATH.bin (npm run train --out PATH; PATH-mlm, the ICT retriever
                     and MLM reader before any REALM step, for ORQA's baseline); its vocab.txt beside it is the model's vocabulary
  --qa FILE          training questions: NQ-open jsonl {"question", "answer": [...]} or DPR's tsv question<TAB>["a", ...]
  --dev FILE         dev questions: exact match and recall@k at the end, predictions.jsonl in --out
  --corpus DIR       the corpus folder whose passages are the evidence (default: the checkpoint's)
  --steps N          fine-tuning steps (default ${FINETUNE_DEFAULTS.steps})
  --k N              documents retrieved and read per question (default ${FINETUNE_DEFAULTS.k}, REALM's)
  --batch N          questions per step (default ${FINETUNE_DEFAULTS.batchSize})
  --lr X             peak learning rate of AdamW (default ${FINETUNE_DEFAULTS.learningRate}); warm-up and decay as in pre-training
  --seed S           seeds the span head's initialisation, the question order and dropout (default ${FINETUNE_DEFAULTS.seed})
  --eval-every N     also evaluate on --dev every N steps
  --resume DIR       continue a fine-tuning run from DIR/checkpoint (weights, AdamW, step, RNG, question order) up to
                     --steps; its options and --qa file unless given again
  --out DIR          writes DIR/checkpoint.json + .bin and vocab.txt (default $TMPDIR/realm-finetune/<time>)
  --save-every N     also write the checkpoint every N steps (a run stopped then goes on with --resume DIR)
  --metrics FILE     JSON lines here instead of stdout
  --backend wasm|cpu (default wasm)`;

const OPTIONS = [
  'from',
  'resume',
  'qa',
  'dev',
  'corpus',
  'steps',
  'k',
  'batch',
  'lr',
  'seed',
  'eval-every',
  'out',
  'metrics',
  'backend',
  'save-every',
];

export function formatDevEval(e: OpenQaEval): string {
  return `${e.questions} dev questions: EM ${formatMetric(e.exactMatch)}, recall@${e.k} ${formatMetric(e.recallAtK)} (${QA_RECALL_RULE})`;
}

async function main(argv: string[]): Promise<void> {
  const { options: args } = parseCliArgs(argv);
  if (args.has('help')) {
    console.log(HELP);
    return;
  }
  checkKnownOptions(args, OPTIONS);
  const resume = args.get('resume');
  if (resume && args.has('from'))
    throw new CliArgsError('--from starts a fine-tuning run, --resume continues one: give one of them');
  // --resume: the fine-tuned checkpoint, with the run's options and questions unless given again.
  const resumed = resume ? loadQaSetup(resume, args.get('corpus')) : null;
  const saved = (resumed?.checkpoint.extra?.finetune ?? {}) as Partial<FinetuneOptions> & { qa?: string };
  const from = resumed ? (resumed.checkpoint.extra?.from as string | undefined) : args.get('from');
  const qa = args.get('qa') ?? saved.qa;
  if (!resumed && (!from || !qa)) throw new CliArgsError('give --from CHECKPOINT and --qa FILE');
  if (!qa) throw new CliArgsError('give --qa FILE: the questions the run was fine-tuned on');
  const o: FinetuneOptions = {
    steps: numOption(args, 'steps') ?? saved.steps ?? FINETUNE_DEFAULTS.steps,
    k: numOption(args, 'k') ?? saved.k ?? FINETUNE_DEFAULTS.k,
    batchSize: numOption(args, 'batch') ?? saved.batchSize ?? FINETUNE_DEFAULTS.batchSize,
    learningRate: numOption(args, 'lr') ?? saved.learningRate ?? FINETUNE_DEFAULTS.learningRate,
    seed: numOption(args, 'seed') ?? saved.seed ?? FINETUNE_DEFAULTS.seed,
  };
  for (const key of ['steps', 'k', 'batchSize'] as const)
    if (!(Number.isInteger(o[key]) && o[key] >= 1))
      throw new CliArgsError(`--${key === 'batchSize' ? 'batch' : key} must be a whole number from 1`);
  if (!(o.learningRate > 0)) throw new CliArgsError('--lr must be above 0');
  const train = readQaFile(qa);
  const devFile = args.get('dev');
  const dev: QaItem[] = devFile ? readQaFile(devFile) : [];
  await startBackend(args.get('backend'));
  const setup = resumed ?? loadQaSetup(from!, args.get('corpus'));
  const model = openQaModel(setup.checkpoint, o.seed);
  checkWasmFitsModel(model.parameterCount(), 'This model');
  const ft = await OpenQaFinetuner.create(model, setup.evidence, setup.tokenizer, train, o);
  if (resumed) {
    ft.restore(resumed.checkpoint);
    if (ft.stepCount >= o.steps)
      throw new CliArgsError(`the run is at step ${ft.stepCount} of ${o.steps}: give --steps above it`);
    process.stderr.write(`resuming ${setup.path} at step ${ft.stepCount}\n`);
  }
  const metricsFile = args.get('metrics');
  const sink = metricsFile ? createWriteStream(metricsFile) : process.stdout;
  const emit = (kind: string, record: object) => sink.write(JSON.stringify({ kind, ...record }) + '\n');
  process.stderr.write(
    `fine-tuning ${setup.path} (run "${setup.checkpoint.runId}", step ${setup.checkpoint.step}): ${model.parameterCount().toLocaleString()} parameters, ` +
      `${setup.evidence.docs.ids.length} passages in the fixed index, ${train.length} training questions, ${dev.length} dev; ` +
      `${o.steps} steps of ${o.batchSize}, k ${o.k}, lr ${o.learningRate}, seed ${o.seed}\n`,
  );
  const evaluate = async (label: string) => {
    const e = await evaluateOpenQa(ft.model, setup.evidence, setup.tokenizer, denseRetrieval(ft.model, ft.index), dev, {
      k: o.k,
    });
    emit('eval', { label, step: ft.stepCount, exactMatch: e.exactMatch, recallAtK: e.recallAtK, k: e.k, questions: e.questions });
    process.stderr.write(`\n[eval ${label}] ${formatDevEval(e)}\n`);
    return e;
  };
  const evalEvery = numOption(args, 'eval-every') ?? 0;
  const out = args.get('out') ?? join(tmpdir(), 'realm-finetune', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(out, { recursive: true });
  const save = async () => {
    const c = await ft.checkpoint('finetune');
    c.extra = {
      ...c.extra,
      corpus: resolve(setup.corpusDir),
      ...(from ? { from: resolve(from) } : {}),
      finetune: { ...o, qa: resolve(qa) },
      vocabSha256: vocabSha256(setup.tokenizer.vocab),
    };
    const bytes = writeCheckpoint(join(out, 'checkpoint'), c, setup.tokenizer.vocab);
    process.stderr.write(
      `\ncheckpoint: ${join(out, 'checkpoint')}.json + .bin (${(bytes / 1e6).toFixed(1)} MB, step ${c.step})\n`,
    );
  };
  const saveEvery = numOption(args, 'save-every') ?? 0;
  const first = ft.stepCount;
  const meter = new ProgressMeter('finetune', 'steps', o.steps - first);
  for (let i = first; i < o.steps; i++) {
    const m = await guardedWasmStep(`fine-tuning step ${i + 1} (batch ${o.batchSize}, k ${o.k})`, () => ft.step());
    emit('step', m);
    const p = meter.at(i + 1 - first);
    process.stderr.write(
      `\rstep ${m.step}/${o.steps}  loss ${m.loss.toFixed(3)} (reader ${m.readerLoss.toFixed(3)}, retriever ${m.retrieverLoss.toFixed(3)})  ` +
        `answer retrieved ${m.answerRetrieved.toFixed(2)}  ${m.stepMs.toFixed(0)} ms  ETA ${formatEta(p.etaSeconds)}   `,
    );
    if (dev.length > 0 && evalEvery > 0 && m.step % evalEvery === 0 && m.step < o.steps) await evaluate(`step ${m.step}`);
    if (saveEvery > 0 && m.step % saveEvery === 0 && m.step < o.steps) await save();
  }
  await save();
  if (dev.length > 0) {
    const e = await evaluate('end');
    console.log(formatDevEval(e));
    writeFileSync(join(out, 'predictions.jsonl'), e.predictions.map((p) => JSON.stringify(p)).join('\n') + '\n');
  }
  ft.dispose();
  if (metricsFile) (sink as ReturnType<typeof createWriteStream>).end();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`finetune: ${(err as Error).message}`);
    process.exit(1);
  });
}
