// `npm run eval -- --model CHECKPOINT --cloze FILE [--corpus DIR] [--k 5]`: a trained model on a cloze
// set from outside the project (src/corpus/external-cloze.ts: {doc_id?, title?, sentence with [MASK],
// answer} per line), over a corpus folder's passages as the index. Prints, for the model's retriever
// and for BM25 over the same wordpieces (src/model/bm25.ts), and for k random passages (chance):
//   gold-passage recall@k  the passage the sentence came from (doc_id names a passage id, or the id of
//                          the record an imported passage was cut from) is among the top k;
//   answer recall@k        a top-k passage holds the answer string (normalised substring on word
//                          boundaries, src/model/evaluate.ts holdsAnswer);
// and cloze exact match (every answer wordpiece right) with retrieval and with the null document alone.
// Nothing is excluded from retrieval: the gold passage stays in the index. When it still holds the
// sentence itself (the bundled and imported cloze sets leave it there), it is read and retrieved
// without that sentence (REALM's trivialExclusion 'sentence'; --keep-sentence 1 turns this off), so
// neither retriever finds it by copying. An empty set prints "n/a".
// The model's vocabulary is the vocab.txt beside the checkpoint (else the corpus folder's).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import '@tensorflow/tfjs-backend-wasm';
import { tokenizePassage } from '../src/corpus/corpus-data';
import { documentStore } from '../src/corpus/data';
import { externalClozeQueries, parseExternalCloze } from '../src/corpus/external-cloze';
import { Rng } from '../src/corpus/rng';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { Bm25Retriever } from '../src/model/bm25';
import { checkpointConfig, initModelWeights } from '../src/model/checkpoint';
import { withConfigDefaults } from '../src/model/config';
import {
  answerRecallAtK,
  chanceRecallAtK,
  evaluateCloze,
  formatMetric,
  goldRecallAtK,
  holdsAnswer,
  normaliseAnswerText,
  topKRows,
  type RecallAtK,
} from '../src/model/evaluate';
import { freshIndex } from '../src/model/index-refresh';
import { RealmModel } from '../src/model/realm-model';
import { startBackend, writeJsonReport } from './cli-backend';
import { checkKnownOptions, CliArgsError, flagOption, numOption, parseCliArgs } from './cli-args';
import { checkpointVocabFile, readCheckpoint } from './checkpoint-files';
import { loadCorpusDir } from './corpus-loader';

const HELP = `usage: npm run eval -- --model CHECKPOINT --cloze FILE [options]
  --model PATH       a checkpoint PATH.json + PATH.bin (npm run train --out, or a warm start); its vocab.txt
                     beside it is the model's vocabulary
  --cloze FILE       jsonl, one {"doc_id"?, "title"?, "sentence": "... [MASK] ...", "answer": "..."} per line
                     (a corpus folder's cloze.jsonl works too)
  --corpus DIR       the corpus folder whose passages are the index (default: the one the checkpoint was trained on)
  --k N              recall@N (default 5)
  --keep-sentence 1  leave the sentence in its gold passage (default: a gold passage that still holds the
                     sentence is read and retrieved without it)
  --backend wasm|cpu (default wasm)
  --json FILE        also write the figures as JSON`;

export interface ClozeFileEval {
  items: number;
  /** Items asked (an answer without a wordpiece is skipped). */
  asked: number;
  /** Items whose gold passage held the sentence itself, searched and read without it. */
  sentenceCut: number;
  skipped: { line: number; reason: string }[];
  k: number;
  passages: number;
  model: { gold: RecallAtK; answer: RecallAtK };
  bm25: { gold: RecallAtK; answer: RecallAtK };
  chance: { gold: number; answer: number };
  /** Cloze exact match with retrieval (the model's k, null document included) and with the null document alone. */
  exactMatch: number;
  exactMatchNullOnly: number;
  readerK: number;
  answerRule: string;
}

export const ANSWER_RULE =
  'normalised substring on word boundaries (NFKD, accents dropped, lower case, punctuation as spaces) of title + text';

export interface ClozeFileOptions {
  model: string;
  cloze: string;
  corpus?: string;
  k?: number;
  /** Leave the sentence in its gold passage (default false: cut it out). */
  keepSentence?: boolean;
}

/** The model at `o.model` on the cloze file `o.cloze` over the corpus folder's passages. */
export async function evaluateClozeFile(o: ClozeFileOptions): Promise<ClozeFileEval> {
  const k = o.k ?? 5;
  if (!(k >= 1 && Number.isInteger(k))) throw new CliArgsError(`--k must be a whole number from 1, got ${k}`);
  const checkpoint = readCheckpoint(o.model);
  const config = withConfigDefaults(checkpointConfig(checkpoint));
  const corpusDir = o.corpus ?? (checkpoint.extra?.corpus as string | undefined);
  if (!corpusDir || corpusDir.startsWith('synthetic'))
    throw new CliArgsError('give the corpus folder whose passages are the index: --corpus DIR');
  const vocabFile = checkpointVocabFile(o.model) ?? join(corpusDir, 'vocab.txt');
  const tokenizer = WordPieceTokenizer.fromText(readFileSync(vocabFile, 'utf8'));
  if (tokenizer.size !== config.vocabSize)
    throw new CliArgsError(
      `${vocabFile} has ${tokenizer.size} pieces but the model reads ${config.vocabSize}: put the model's vocab.txt beside the checkpoint`,
    );
  const corpus = loadCorpusDir(corpusDir, tokenizer);
  const docs = documentStore(
    corpus.passages.map((p) => tokenizePassage(p, tokenizer)),
    config.maxDocLength,
  );
  const items = parseExternalCloze(readFileSync(o.cloze, 'utf8'), o.cloze);
  const q = externalClozeQueries(items, tokenizer, corpus.passages, config.maxQueryLength);
  const own = o.keepSentence ? q.own.map(() => null) : q.own;
  // With its own passage known, a query is asked as REALM's trivialExclusion 'sentence' asks it: that
  // passage may be retrieved, but is read (and, here, searched) without the query sentence.
  const asked = q.queries.map((query, i) => {
    const at = own[i];
    return at ? { ...query, sourceDocId: docs.ids[at.row], sourceSentence: at.sentence } : query;
  });

  const initRng = new Rng(1);
  const model = new RealmModel({ ...config, trivialExclusion: 'sentence' }, () => initRng.nextUint32());
  try {
    initModelWeights(model, checkpoint);
    const index = await freshIndex(model, docs); // Embed_doc(z) of every passage with the checkpoint's weights
    try {
      const cut = own.map((at) => (at ? { row: at.row, tokens: docs.withoutSentence!(at.row, at.sentence) } : null));
      const rows = await topKRows(model, index, asked, k, 16, cut);
      const cloze = await evaluateCloze(model, index, docs, asked, 16);
      const bm25 = new Bm25Retriever(docs);
      const bmRows = asked.map((query) => bm25.search(query, k, 'sentence'));
      const texts = corpus.passages.map((p) => normaliseAnswerText(`${p.title}\n${p.text}`));
      // Query i's view of row r: its own passage without the sentence.
      const textOf = (i: number, row: number) => {
        const at = own[i];
        if (!at || at.row !== row) return texts[row];
        const p = corpus.passages[row];
        return normaliseAnswerText(`${p.title}\n${p.text.slice(0, at.start)} ${p.text.slice(at.end)}`);
      };
      const holds = (i: number, row: number) => holdsAnswer(textOf(i, row), q.items[i].answer, true);
      const holding = q.items.map((_it, i) => texts.filter((_t, row) => holds(i, row)).length);
      const n = docs.ids.length;
      return {
        items: items.length,
        asked: q.queries.length,
        sentenceCut: own.filter((x) => x !== null).length,
        skipped: q.skipped,
        k,
        passages: n,
        model: { gold: goldRecallAtK(rows, q.gold, k), answer: answerRecallAtK(rows, holds, k) },
        bm25: { gold: goldRecallAtK(bmRows, q.gold, k), answer: answerRecallAtK(bmRows, holds, k) },
        chance: {
          gold: chanceRecallAtK(
            n,
            q.gold.map((g) => (g && g.length > 0 ? g.length : null)),
            k,
          ),
          answer: chanceRecallAtK(n, holding, k),
        },
        exactMatch: cloze.clozeAccuracy,
        exactMatchNullOnly: cloze.clozeAccuracyNullOnly,
        readerK: config.k,
        answerRule: ANSWER_RULE,
      };
    } finally {
      index.dispose();
    }
  } finally {
    model.dispose();
  }
}

/** The table `npm run eval` prints. */
export function formatClozeFileEval(e: ClozeFileEval): string {
  const pad = (s: string, w: number) => s.padEnd(w);
  const row = (label: string, m: string, b: string, c: string, note: string) =>
    `${pad(label, 26)}${pad(m, 10)}${pad(b, 10)}${pad(c, 10)}${note}`;
  return [
    `${e.items} cloze items, ${e.asked} asked (${e.skipped.length} skipped), ${e.passages} passages in the index; nothing excluded from retrieval` +
      (e.sentenceCut > 0 ? `; ${e.sentenceCut} gold passages still held the sentence: read and searched without it` : ''),
    row('', 'model', 'BM25', 'chance', ''),
    row(
      `gold-passage recall@${e.k}`,
      formatMetric(e.model.gold.recall),
      formatMetric(e.bm25.gold.recall),
      formatMetric(e.chance.gold),
      `over the ${e.model.gold.queries} items whose doc_id names a passage in the index`,
    ),
    row(
      `answer recall@${e.k}`,
      formatMetric(e.model.answer.recall),
      formatMetric(e.bm25.answer.recall),
      formatMetric(e.chance.answer),
      `a passage holds the answer: ${e.answerRule}`,
    ),
    `cloze exact match (every answer wordpiece right): with retrieval ${formatMetric(e.exactMatch)}, null document alone ${formatMetric(e.exactMatchNullOnly)} (k = ${e.readerK} incl. the null document)`,
    ...e.skipped.slice(0, 10).map((s) => `  skipped line ${s.line}: ${s.reason}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { options: args } = parseCliArgs(argv);
  if (args.has('help')) {
    console.log(HELP);
    return;
  }
  checkKnownOptions(args, ['model', 'cloze', 'corpus', 'k', 'backend', 'json', 'keep-sentence']);
  const model = args.get('model');
  const cloze = args.get('cloze');
  if (!model || !cloze) throw new CliArgsError('give --model CHECKPOINT and --cloze FILE');
  await startBackend(args.get('backend'));
  const e = await evaluateClozeFile({
    model,
    cloze,
    corpus: args.get('corpus'),
    k: numOption(args, 'k'),
    keepSentence: flagOption(args, 'keep-sentence'),
  });
  console.log(formatClozeFileEval(e));
  const json = args.get('json');
  if (json) writeJsonReport(json, e);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`eval: ${(err as Error).message}`);
    process.exit(1);
  });
}
