// `npm run eval:qa -- --model M --qa FILE`: a fine-tuned Open-QA model (npm run finetune) on a question
// file (NQ-open jsonl or DPR's QA tsv), over its corpus folder's passages as the fixed evidence index,
// beside the paper's baselines on the same questions (src/model/qa-answer.ts, qa-retrieval.ts):
//   the model          its retriever (top k over the fixed index) + its reader;
//   BM25 + reader      BM25 over the same wordpieces picks the k documents, the same reader reads them;
//   null document      the same reader over the null document alone (no document: no span, EM 0 unless
//                      an answer normalises to nothing);
//   ICT-only (--ict-model)  a model fine-tuned the same way from the checkpoint before any REALM step
//                      (npm run train's PATH-mlm: ICT retriever, MLM reader; ORQA's setup).
// Exact match is ORQA's (normalised, best over the references); recall@k: an answer's wordpieces in the
// body of a document read (containsAnswer). Zero-shot recall@k is the pre-trained retriever's before
// fine-tuning (the checkpoint the model was fine-tuned from, or --pretrained). --predictions writes the
// model's answers as ORQA does, one {question, prediction} per line.
import { existsSync, writeFileSync } from 'node:fs';
import { startBackend, writeJsonReport } from './cli-backend';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QaItem } from '../src/corpus/corpus-format';
import { Rng } from '../src/corpus/rng';
import { initModelWeights } from '../src/model/checkpoint';
import { formatMetric } from '../src/model/evaluate';
import { evaluateOpenQa, QA_RECALL_RULE, retrievalRecall, type OpenQaEval } from '../src/model/qa-answer';
import { openQaModel } from '../src/model/qa-finetune';
import { bm25Retrieval, denseRetrieval, FixedDocumentIndex, nullRetrieval } from '../src/model/qa-retrieval';
import { RealmModel } from '../src/model/realm-model';
import { checkKnownOptions, CliArgsError, numOption, parseCliArgs } from './cli-args';
import { checkpointBase, readCheckpoint } from './checkpoint-files';
import { checkpointPath, loadQaSetup, readQaFile, type QaSetup } from './qa-setup';

const HELP = `usage: npm run eval:qa -- --model M --qa FILE [options]
  --model M          a fine-tuned checkpoint: the folder npm run finetune --out wrote, or its PATH.json + PATH.bin
  --qa FILE          questions: NQ-open jsonl {"question", "answer": [...]} or DPR's tsv question<TAB>["a", ...]
  --corpus DIR       the corpus folder whose passages are the evidence (default: the model's)
  --k N              documents read per question (default: the k the model was fine-tuned with)
  --pretrained P     the pre-trained checkpoint, for zero-shot recall@k (default: the one the model was fine-tuned from)
  --ict-model M2     a model fine-tuned the same way from the checkpoint before REALM pre-training (npm run train's PATH-mlm:
                     the ICT retriever and the MLM reader): the ORQA row
  --predictions FILE the model's answers as jsonl, one {"question", "prediction"} per line
  --json FILE        the figures as JSON
  --backend wasm|cpu (default wasm)`;

const OPTIONS = ['model', 'qa', 'corpus', 'k', 'pretrained', 'ict-model', 'predictions', 'json', 'backend'];

/** One row of the table: a system's EM and recall@k, and its retriever's zero-shot recall@k. */
export interface QaSystemRow {
  system: string;
  exactMatch: number;
  recallAtK: number;
  /** Recall@k of the retriever before fine-tuning (NaN where it does not apply). */
  zeroShotRecallAtK: number;
}

export interface QaFileEval {
  questions: number;
  passages: number;
  k: number;
  rows: QaSystemRow[];
  recallRule: string;
  predictions: OpenQaEval['predictions'];
}

/** The pre-trained retriever's recall@k over the same fixed index, before fine-tuning. */
async function zeroShotRecall(
  setup: QaSetup,
  pretrained: string | undefined,
  items: readonly QaItem[],
  k: number,
): Promise<number> {
  if (!pretrained || !existsSync(`${checkpointBase(pretrained)}.json`)) return NaN;
  const c = readCheckpoint(pretrained);
  const rng = new Rng(1);
  const model = new RealmModel({ ...setup.config, spanReader: false }, () => rng.nextUint32());
  try {
    initModelWeights(model, c);
    const index = await FixedDocumentIndex.build(model, setup.evidence);
    try {
      return await retrievalRecall(model, setup.evidence, setup.tokenizer, denseRetrieval(model, index), items, k);
    } finally {
      index.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** The fine-tuned model at `path` (and its baselines when `baselines`) on the questions. */
async function evaluateModel(
  setup: QaSetup,
  items: readonly QaItem[],
  k: number,
  pretrained: string | undefined,
  baselines: boolean,
) {
  const model = openQaModel(setup.checkpoint, 1);
  try {
    const index = await FixedDocumentIndex.build(model, setup.evidence);
    try {
      const run = (r: Parameters<typeof evaluateOpenQa>[3]) =>
        evaluateOpenQa(model, setup.evidence, setup.tokenizer, r, items, { k });
      const own = await run(denseRetrieval(model, index));
      const zeroShot = await zeroShotRecall(setup, pretrained, items, k);
      return {
        own,
        zeroShot,
        bm25: baselines ? await run(bm25Retrieval(setup.evidence)) : null,
        nullDoc: baselines ? await run(nullRetrieval()) : null,
      };
    } finally {
      index.dispose();
    }
  } finally {
    model.dispose();
  }
}

export interface QaFileOptions {
  model: string;
  qa: string;
  corpus?: string;
  k?: number;
  pretrained?: string;
  ictModel?: string;
}

export async function evaluateQaFile(o: QaFileOptions): Promise<QaFileEval> {
  const items = readQaFile(o.qa);
  const setup = loadQaSetup(o.model, o.corpus);
  const tunedK = (setup.checkpoint.extra?.finetune as { k?: number } | undefined)?.k;
  const k = o.k ?? tunedK ?? 5;
  if (!(Number.isInteger(k) && k >= 1 && k <= setup.evidence.docs.ids.length))
    throw new CliArgsError(`--k must be a whole number from 1 to the ${setup.evidence.docs.ids.length} passages, got ${k}`);
  const fromOf = (s: QaSetup) => s.checkpoint.extra?.from as string | undefined;
  const main = await evaluateModel(setup, items, k, o.pretrained ?? fromOf(setup), true);
  const rows: QaSystemRow[] = [
    {
      system: 'fine-tuned model (its retriever + reader)',
      exactMatch: main.own.exactMatch,
      recallAtK: main.own.recallAtK,
      zeroShotRecallAtK: main.zeroShot,
    },
    {
      system: 'BM25 + the same reader',
      exactMatch: main.bm25!.exactMatch,
      recallAtK: main.bm25!.recallAtK,
      zeroShotRecallAtK: main.bm25!.recallAtK,
    },
    {
      system: 'null document only',
      exactMatch: main.nullDoc!.exactMatch,
      recallAtK: main.nullDoc!.recallAtK,
      zeroShotRecallAtK: NaN,
    },
  ];
  if (o.ictModel) {
    const ict = loadQaSetup(o.ictModel, setup.corpusDir);
    if (ict.tokenizer.size !== setup.tokenizer.size)
      throw new CliArgsError('--ict-model reads another vocabulary than --model: fine-tune both from one pre-training run');
    const r = await evaluateModel(ict, items, k, fromOf(ict), false);
    rows.push({
      system: 'ICT-only retriever, fine-tuned (ORQA)',
      exactMatch: r.own.exactMatch,
      recallAtK: r.own.recallAtK,
      zeroShotRecallAtK: r.zeroShot,
    });
  }
  return {
    questions: items.length,
    passages: setup.evidence.docs.ids.length,
    k,
    rows,
    recallRule: QA_RECALL_RULE,
    predictions: main.own.predictions,
  };
}

/** The table `npm run eval:qa` prints. */
export function formatQaFileEval(e: QaFileEval): string {
  const row = (a: string, b: string, c: string, d: string) => `${a.padEnd(44)}${b.padEnd(8)}${c.padEnd(12)}${d}`;
  return [
    `${e.questions} questions, ${e.passages} passages in the fixed index, k = ${e.k}`,
    row('', 'EM', `recall@${e.k}`, `zero-shot recall@${e.k} (before fine-tuning)`),
    ...e.rows.map((r) => row(r.system, formatMetric(r.exactMatch), formatMetric(r.recallAtK), formatMetric(r.zeroShotRecallAtK))),
    `EM: normalised exact match (NFD, lower case, punctuation and a/an/the removed), best over the answers`,
    `recall@${e.k}: ${e.recallRule}`,
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { options: args } = parseCliArgs(argv);
  if (args.has('help')) {
    console.log(HELP);
    return;
  }
  checkKnownOptions(args, OPTIONS);
  const model = args.get('model');
  const qa = args.get('qa');
  if (!model || !qa) throw new CliArgsError('give --model M and --qa FILE');
  await startBackend(args.get('backend'));
  const e = await evaluateQaFile({
    model: checkpointPath(model),
    qa,
    corpus: args.get('corpus'),
    k: numOption(args, 'k'),
    pretrained: args.get('pretrained'),
    ictModel: args.get('ict-model'),
  });
  console.log(formatQaFileEval(e));
  const predictions = args.get('predictions');
  if (predictions) writeFileSync(predictions, e.predictions.map((p) => JSON.stringify(p)).join('\n') + '\n');
  const json = args.get('json');
  if (json) writeJsonReport(json, e);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`eval:qa: ${(err as Error).message}`);
    process.exit(1);
  });
}
