// `npx tsx research/qa-recall.ts BEFORE AFTER`: the paper's "zero-shot Recall@5" (docs/realm.md, the table of
// paper figures): for open-QA questions the model never trained on, is a passage holding an answer
// among the retriever's top 5? The bundled corpora come with questions (qa-train.jsonl and
// qa-dev.jsonl, e.g. "Amsterdam is the capital of which country?"); no phase of the trainer reads
// them, so all of them are held out here (372 on the tiny corpus, against 65 held-out cloze queries).
// A passage holds the answer when it contains any of the question's answer strings. For each
// checkpoint (bench:learning's, written with LEARNING_WARM=PATH; env as that run) it ranks the whole
// corpus on a fresh index and prints recall@5 and @20, next to random retrieval and BM25; then the
// pair: questions gained / lost at 5 and the mean change of log2 of the rank of the first passage
// holding an answer (negative = moved up), with the questions moved down / up; and the query-swap
// control (swappedShare): each question scored on the other questions' top 5, before → after, with the
// rise of recall@5 beyond it (answers such as "Europe" sit in many passages, so hubs alone score well).
// QA_RECALL_OUT=FILE.json (two checkpoints) also writes the per-question ranks and swapped shares in
// research/recall-pool.ts's format, to pool seeds.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/platform/wasm-kernels';
import { mean } from 'simple-statistics';
import { Bm25Retriever } from '../src/model/bm25';
import { decodeCheckpoint } from '../src/model/checkpoint';
import { parseQa } from '../src/corpus/corpus-format';
import { containsSpan, type ClozeQuery } from '../src/corpus/data';
import { chanceOfHit, swappedShare } from '../bench/retrieval-stats';
import { freshIndex } from '../src/model/index-refresh';
import { CLS_ID, SEP_ID, WordPieceTokenizer } from '../src/corpus/tokenizer';
import { RealmTrainer } from '../src/model/trainer';
import {
  answerRanksOver,
  formatSummary,
  learningConfig,
  learningData,
  learningEnv,
  learningSchedule,
  rankShift,
} from '../bench/learning-setup';
import { queryDependentRise } from './stats';

/** One retrieval query per (question, answer string); `question[i]` is the question of query i. */
function qaQueries(dir: string): { queries: ClozeQuery[]; question: number[]; count: number } {
  const tokenizer = WordPieceTokenizer.fromText(readFileSync(join(dir, 'vocab.txt'), 'utf8'));
  const items = ['qa-train.jsonl', 'qa-dev.jsonl'].flatMap((f) => parseQa(readFileSync(join(dir, f), 'utf8')));
  const queries: ClozeQuery[] = [];
  const question: number[] = [];
  items.forEach((item, i) => {
    const inputIds = [CLS_ID, ...tokenizer.encode(item.question), SEP_ID];
    for (const a of item.answer) {
      const answer = tokenizer.encode(a);
      if (answer.length === 0) continue;
      queries.push({ inputIds, maskPositions: [], targets: [], sourceDocId: null, answer });
      question.push(i);
    }
  });
  return { queries, question, count: items.length };
}

/** Per question, the best rank over its answer strings (null: no passage holds any of them). */
function perQuestion(ranks: (number | null)[], question: number[], count: number): (number | null)[] {
  const best: (number | null)[] = new Array(count).fill(null);
  ranks.forEach((r, i) => {
    const q = question[i];
    if (r !== null && (best[q] === null || r < best[q]!)) best[q] = r;
  });
  return best;
}

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  await tf.setBackend('wasm');
  const paths = process.argv.slice(2);
  if (paths.length === 0)
    throw new Error('usage: tsx research/qa-recall.ts CHECKPOINT... (bench:learning checkpoints, without .json)');
  if (process.env.QA_RECALL_OUT && paths.length !== 2)
    throw new Error('QA_RECALL_OUT needs exactly two checkpoints, before and after');
  const { seed } = learningSchedule();
  const data = learningData(seed);
  const trainer = new RealmTrainer({ config: learningConfig(data), data });
  const { queries, question, count } = qaQueries(learningEnv('CORPUS', 'public/corpus/tiny'));
  const docs = trainer.docs;
  const n = docs.ids.length;
  // Chance: k passages drawn uniformly; BM25 over the same wordpieces.
  const holding = new Array(count).fill(0).map(() => new Set<number>());
  queries.forEach((q, i) => docs.tokens.forEach((t, r) => containsSpan(t, q.answer) && holding[question[i]].add(r)));
  const chance = (k: number) => holding.reduce((s, h) => s + chanceOfHit(n, h.size, k), 0) / count;
  const bm25 = new Bm25Retriever(docs);
  const bm25Hit = new Array(count).fill(false);
  queries.forEach((q, i) => {
    if (bm25.search(q, 5, 'passage').some((r) => containsSpan(docs.tokens[r], q.answer))) bm25Hit[question[i]] = true;
  });
  const answerable = holding.filter((h) => h.size > 0).length;
  console.log(
    `${count} QA questions (${queries.length} answer strings; ${count - answerable} with no passage holding an answer); ` +
      `recall@5 by chance ${chance(5).toFixed(3)}, @20 ${chance(20).toFixed(3)}; BM25 recall@5 ${(bm25Hit.filter(Boolean).length / count).toFixed(3)}`,
  );
  // The query-swap control: the answer strings of a question share its input, so its first query's rows are its top.
  const firstQuery = new Array<number>(count).fill(-1);
  question.forEach((q, i) => firstQuery[q] < 0 && (firstQuery[q] = i));
  const asked = firstQuery.flatMap((i, q) => (i < 0 ? [] : [q])); // questions with at least one answer string
  const inTop5 = (q: number, rows: readonly number[]) => rows.slice(0, 5).some((r) => holding[q].has(r));
  const all: (number | null)[][] = [];
  const swapped: number[][] = [];
  for (const path of paths) {
    trainer.restore(decodeCheckpoint(readFileSync(`${path}.json`, 'utf8'), readFileSync(`${path}.bin`)));
    const index = await freshIndex(trainer.model, docs);
    let ranks: (number | null)[];
    const tops: number[][] = [];
    try {
      ranks = await answerRanksOver(trainer.model, index, docs, queries, index.size, tops);
    } finally {
      index.dispose();
    }
    const best = perQuestion(ranks, question, count);
    all.push(asked.map((q) => best[q]));
    const share = swappedShare(
      asked.map((q) => tops[firstQuery[q]]),
      (i, rows) => inTop5(asked[i], rows),
    );
    swapped.push(share);
    const recall = (k: number) => (best.filter((r) => r !== null && r <= k).length / count).toFixed(3);
    console.log(
      `${path} (step ${trainer.stepCount}): recall@5 ${recall(5)}, recall@20 ${recall(20)}; query-swap control ${mean(share).toFixed(3)}`,
    );
  }
  for (let p = 1; p < all.length; p++) {
    const { gained, lost, logShift } = rankShift(all[0], all[p]);
    const rise = queryDependentRise(all[0], all[p], swapped[0], swapped[p]);
    console.log(
      `${paths[0]} → ${paths[p]}: gained ${gained} / lost ${lost} at 5; log2 rank, after − before: ${formatSummary(logShift)} (moved down / up); ` +
        `rise of recall@5 beyond the query-swap control, per question: ${formatSummary(rise)}`,
    );
  }
  const out = process.env.QA_RECALL_OUT;
  if (out) {
    const questions = { before: all[0], after: all[1], swappedBefore: swapped[0], swappedAfter: swapped[1] };
    writeFileSync(out, JSON.stringify({ before: paths[0], after: paths[1], seed, questions }));
  }
  trainer.dispose();
}

main().catch((e) => {
  console.error(`qa-recall: ${(e as Error).message}`);
  process.exit(1);
});
