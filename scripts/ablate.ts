// `npm run ablate -- --corpus DIR --seeds 3 [--work DIR]`: REALM's Table 2 (ablations) on a corpus folder
// in Node (docs/ablations.md). The rows and their config diffs are src/model/ablation-rows.ts, the jobs
// and their reuse src/model/ablation-runner.ts, the statistics src/model/ablation-table.ts. Every finished
// job is kept in the work folder (jobs/*.json, models/*.json + .bin), so the same command after a stop or
// a kill goes on from the last finished job; the table is written there as table.md, table.csv and
// results.json, and printed.
//
// EM: each row's model is fine-tuned on qa-train.jsonl and evaluated on qa-dev.jsonl (issue #34's
// OpenQaFinetuner and evaluateOpenQa, through src/model/ablation-qa.ts); R@5: the same rule as that
// evaluation's recall, before fine-tuning. `--recall-only 1` skips the fine-tuning (EM stays "n/a").
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import '@tensorflow/tfjs-backend-wasm';
import { parseQa } from '../src/corpus/corpus-format';
import { openQaExecutor, openQaZeroShotRecall, type AblationQaCorpus } from '../src/model/ablation-qa';
import type { MaskingStrategy } from '../src/corpus/masking-strategies';
import {
  ABLATION_FINETUNE_STEPS,
  ABLATION_ROWS,
  ablationRow,
  REALM_STEPS,
  REFRESH_EVERY,
  type AblationScale,
} from '../src/model/ablation-rows';
import {
  estimateAblationSeconds,
  planAblation,
  runAblation,
  type AblationJobRecord,
  type AblationStore,
} from '../src/model/ablation-runner';
import { ablationCsv, ablationMarkdown, ablationTable } from '../src/model/ablation-table';
import { initArchitecture } from '../src/model/checkpoint';
import { PRESETS, type PresetName, type RealmConfig } from '../src/model/config';
import { formatEta } from '../src/model/progress';
import type { RealmCheckpoint } from '../src/model/trainer';
import { FINETUNE_DEFAULTS } from '../src/model/qa-finetune';
import { guardedWasmStep } from '../src/platform/wasm-kernels';
import { startBackend } from './cli-backend';
import { loadInit, readCheckpoint, writeCheckpoint } from './checkpoint-files';
import { checkKnownOptions, CliArgsError, numOption, parseCliArgs } from './cli-args';
import { corpusTrainingData, loadCorpusDir } from './corpus-loader';

const HELP = `usage: npm run ablate -- --corpus DIR [options]
  REALM's Table 2 (seven ablation rows) on a corpus folder with qa-train.jsonl and qa-dev.jsonl
  (docs/ablations.md). Each finished job is kept in the work folder; the same command goes on after a stop.
  --corpus DIR          a corpus folder (e.g. public/corpus/tiny)
  --seeds N             seeds 1..N of every row (default 3)
  --work DIR            the work folder (default .scratch/ablate-<corpus folder name>)
  --rows LIST           comma-separated row ids (default all seven: ${ABLATION_ROWS.map((r) => r.id).join(', ')})
  --preset tiny|mini|small|base   model size (default mini; the corpus's vocabulary)
  --steps N             REALM pre-training steps per pre-trained row (default ${REALM_STEPS})
  --refresh-every R     the normal index refresh interval (default ${REFRESH_EVERY}; the stale row uses 30 R)
  --ict-steps N, --mlm-steps N    the shared warm start's phases (default 1000 and 2000)
  --tau T               REALM's retrieval temperature for every pre-trained row (default the preset's, 1;
                        the Classroom demo uses 4)
  --retriever-lr-scale S    the embedders' share of the learning rate in REALM pre-training (default 1;
                        the Classroom demo uses 0.1, which keeps the ICT retriever: docs/research/06)
  --init PATH           use a checkpoint as the warm start (e.g. public/warmstart/mini/checkpoint), its
                        architecture and the vocab.txt beside it, instead of training one
  --backend wasm|cpu    tfjs backend (default wasm)
  --finetune-steps N    Open-QA fine-tuning steps per row and seed (default ${ABLATION_FINETUNE_STEPS}), batch
                        --finetune-batch (default ${FINETUNE_DEFAULTS.batchSize}), k 5, learning rate ${FINETUNE_DEFAULTS.learningRate}
  --recall-only 1       run the pre-training and the zero-shot recall@5 column only (EM stays n/a)
  --plan 1              print the jobs and the expected wall time, run nothing`;

const OPTIONS = [
  'corpus',
  'seeds',
  'work',
  'rows',
  'preset',
  'steps',
  'refresh-every',
  'ict-steps',
  'mlm-steps',
  'tau',
  'retriever-lr-scale',
  'init',
  'backend',
  'recall-only',
  'finetune-steps',
  'finetune-batch',
  'plan',
];

/** Writes a file whole or not at all (a kill mid-write leaves the old file or none). */
function writeAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/**
 * The work folder: jobs/<job id>.json per finished job (written after its model), models/<job id>.json +
 * .bin (weights only) with the vocab.txt beside them.
 */
export class FileAblationStore implements AblationStore {
  constructor(
    readonly dir: string,
    private readonly vocab: readonly string[],
  ) {}

  private recordPath(jobId: string) {
    return join(this.dir, 'jobs', `${jobId}.json`);
  }

  private modelPath(key: string) {
    return join(this.dir, 'models', key.replace(/\//g, '--'));
  }

  async record(jobId: string): Promise<AblationJobRecord | null> {
    const p = this.recordPath(jobId);
    return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as AblationJobRecord) : null;
  }

  async saveRecord(r: AblationJobRecord): Promise<void> {
    writeAtomic(this.recordPath(r.jobId), JSON.stringify(r, null, 1));
  }

  async model(key: string): Promise<RealmCheckpoint | null> {
    const p = this.modelPath(key);
    return existsSync(`${p}.json`) && existsSync(`${p}.bin`) ? readCheckpoint(p) : null;
  }

  async saveModel(key: string, c: RealmCheckpoint): Promise<void> {
    writeCheckpoint(this.modelPath(key), c, this.vocab);
  }
}

export async function ablateCommand(
  argv: readonly string[],
  log: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const { options: args } = parseCliArgs(argv);
  if (args.has('help')) {
    console.log(HELP);
    return 0;
  }
  checkKnownOptions(args, OPTIONS);
  const corpus = args.get('corpus');
  if (!corpus) throw new CliArgsError('--corpus DIR is required (e.g. public/corpus/tiny)');
  for (const f of ['qa-train.jsonl', 'qa-dev.jsonl'])
    if (!existsSync(join(corpus, f)))
      throw new CliArgsError(
        `${join(corpus, f)} is missing: the ablation table fine-tunes and evaluates on the corpus's QA sets`,
      );
  const nSeeds = numOption(args, 'seeds') ?? 3;
  if (!Number.isInteger(nSeeds) || nSeeds < 1 || nSeeds > 100)
    throw new CliArgsError(`--seeds is a whole number from 1 to 100, got ${nSeeds}`);
  const seeds = Array.from({ length: nSeeds }, (_, i) => i + 1);
  const preset = (args.get('preset') ?? 'mini') as PresetName;
  if (!PRESETS[preset]) throw new CliArgsError(`--preset is tiny, mini, small or base, got "${preset}"`);
  const rows = args.has('rows')
    ? args
        .get('rows')!
        .split(',')
        .map((id) => ablationRow(id.trim()))
    : ABLATION_ROWS;
  const recallOnly = args.get('recall-only') === '1';
  const planOnly = args.get('plan') === '1';
  const init = args.has('init') ? loadInit(args.get('init')!) : undefined;
  const loaded = loadCorpusDir(corpus, init?.tokenizer ?? undefined);
  const tokenizer = loaded.tokenizer;
  const overrides: Partial<RealmConfig> = {
    vocabSize: tokenizer.size,
    ictSteps: numOption(args, 'ict-steps') ?? 1000,
    mlmSteps: numOption(args, 'mlm-steps') ?? 2000,
    realmSteps: numOption(args, 'steps') ?? REALM_STEPS,
    refreshEvery: numOption(args, 'refresh-every') ?? REFRESH_EVERY,
  };
  const tau = numOption(args, 'tau');
  if (tau !== undefined) overrides.retrievalTemperature = tau;
  const retrieverLrScale = numOption(args, 'retriever-lr-scale');
  if (retrieverLrScale !== undefined) overrides.retrieverLearningRateScale = retrieverLrScale;
  if (init) {
    const arch = initArchitecture(init.checkpoint);
    if (arch.vocabSize !== tokenizer.size)
      throw new CliArgsError(
        `the warm start reads ${arch.vocabSize} wordpieces but its vocab.txt has ${tokenizer.size}: put the model's vocab.txt beside it`,
      );
    Object.assign(overrides, arch);
  }
  const scale: AblationScale = { preset, overrides };
  const finetuneSteps = recallOnly ? null : (numOption(args, 'finetune-steps') ?? ABLATION_FINETUNE_STEPS);
  if (finetuneSteps !== null && !(Number.isInteger(finetuneSteps) && finetuneSteps >= 1))
    throw new CliArgsError(`--finetune-steps is a whole number from 1, got ${finetuneSteps}`);
  const jobs = planAblation({ scale, seeds, rows, finetuneSteps, givenWarmStart: init !== undefined });
  const work = resolve(args.get('work') ?? join('.scratch', `ablate-${basename(resolve(corpus))}`));
  log(
    `ablation table: ${rows.length} rows x ${seeds.length} seeds on ${corpus}, ${preset} preset; ` +
      `${jobs.length} jobs (${jobs.filter((j) => j.kind === 'pretrain').length} REALM pre-trainings of ${overrides.realmSteps} steps, ` +
      `refresh every ${overrides.refreshEvery}); expected ${formatEta(estimateAblationSeconds(jobs))} on a 2-core machine` +
      `${finetuneSteps === null ? ' without Open-QA fine-tuning (--recall-only)' : `, ${finetuneSteps} fine-tuning steps per row`}; work folder ${work}\n`,
  );
  if (planOnly) {
    for (const j of jobs) console.log(`${j.id}\t${j.units} steps`);
    return 0;
  }
  await startBackend(args.get('backend'));
  const store = new FileAblationStore(work, tokenizer.vocab);
  const qa = (f: string) => parseQa(readFileSync(join(corpus, f), 'utf8'), f);
  const qaCorpus: AblationQaCorpus = {
    passages: loaded.passages,
    tokenizer,
    train: qa('qa-train.jsonl'),
    dev: qa('qa-dev.jsonl'),
  };
  const executor =
    finetuneSteps === null
      ? null
      : openQaExecutor(
          qaCorpus,
          { steps: finetuneSteps, batchSize: numOption(args, 'finetune-batch') ?? FINETUNE_DEFAULTS.batchSize },
          guardedWasmStep,
        );
  const maxQueryLength = PRESETS[preset].maxQueryLength;
  const t0 = performance.now();
  let lastLine = 0;
  let lastDetail = '';
  const results = await runAblation({
    scale,
    seeds,
    rows,
    store,
    executor,
    warmStart: init?.checkpoint,
    zeroShotRecall: openQaZeroShotRecall(qaCorpus),
    data: (masking: MaskingStrategy, seed: number) =>
      corpusTrainingData(corpus, { masking, seed, maxQueryLength, maxMasks: PRESETS[preset].maxMasks, tokenizer }),
    onProgress: (p) => {
      // Every job's start and end, and a line every 5 s in between.
      const edge = /: (starting|done in .*)$/.test(p.detail ?? '');
      if ((!edge && performance.now() - lastLine < 5000) || p.detail === lastDetail) return;
      lastDetail = p.detail ?? '';
      lastLine = performance.now();
      log(
        `[${p.jobIndex + 1}/${p.jobs}] ${p.detail}  table ${p.done}/${p.total} steps  ETA ${formatEta(p.etaSeconds)}${p.reused ? `  (${p.reused} jobs reused)` : ''}\n`,
      );
    },
  });
  const table = ablationTable(results, rows);
  const seconds = (performance.now() - t0) / 1000;
  const md = ablationMarkdown(table);
  writeAtomic(join(work, 'table.md'), md);
  writeAtomic(join(work, 'table.csv'), ablationCsv(table));
  writeAtomic(
    join(work, 'results.json'),
    JSON.stringify({ corpus: resolve(corpus), preset, seeds, scale, recallOnly, seconds, results }, null, 1),
  );
  console.log(md);
  log(`wall time of this invocation ${formatEta(seconds)}; ${join(work, 'table.md')}, table.csv and results.json written\n`);
  return 0;
}

if (process.argv[1]?.endsWith('ablate.ts')) {
  ablateCommand(process.argv.slice(2))
    .then((code) => process.exit(code))
    .catch((e) => {
      console.error(`ablate: ${(e as Error).message}`);
      process.exit(1);
    });
}
