// Asking the fine-tuned model (issue #34; ORQA's get_predictions, REALM's Open-QA inference): retrieve
// k documents (any DocumentRetrieval: the model's fixed index, BM25, the null document), read them
// all, and answer with the highest-scoring span over every (document, span) pair, mapped back to the
// document's text. `answerQuestions` returns plain data (no tensors, no UI) for the CLI and the page's
// Ask panel: the k documents with p(z|x) = softmax over their S_retr, each one's best spans with
// their scores, and the answer. `evaluateOpenQa` adds exact match and recall@k over a question set.
import * as tf from '@tensorflow/tfjs';
import type { QaItem } from '../corpus/corpus-format';
import type { WordPieceTokenizer } from '../corpus/tokenizer';
import { EVAL_CTX } from './bert';
import { answerPieces, containsAnswer, exactMatch, predictAnswer, type PredictedAnswer } from './qa-eval';
import { readerInput } from './knowledge-encoder';
import {
  documentTokens,
  questionInput,
  readerBatch,
  readSpans,
  type DocumentRetrieval,
  type QaEvidence,
  type Retrieved,
} from './qa-retrieval';
import type { RealmModel } from './realm-model';

/** One span of a retrieved document's body, with its score S_read + S_retr. */
export interface AnswerSpan {
  text: string;
  /** [charStart, charEnd) in the document's body text. */
  charStart: number;
  charEnd: number;
  score: number;
}

/** One of the k documents read for a question. */
export interface AnsweredDocument {
  /** Evidence row (-1: the null document, which has no row). */
  row: number;
  id: string | null;
  title: string;
  body: string;
  /** S_retr(z, x) and p(z|x) = softmax over the k documents' S_retr. */
  retrievalScore: number;
  probability: number;
  /** Its best spans, best first (at most `spansPerDocument`; none for the null document). */
  spans: AnswerSpan[];
}

export interface OpenQaAnswer {
  question: string;
  /** The predicted answer text ("" when no document has a span: the null document alone). */
  answer: string;
  /** Which document and span it came from, or null. */
  prediction: PredictedAnswer | null;
  documents: AnsweredDocument[];
  /** The retrieval that chose the documents ("retriever", "BM25", "null document"). */
  retrieval: string;
}

export interface AnswerOptions {
  /** Documents read per question (default 5). */
  k?: number;
  /** Best spans listed per document (default 3). */
  spansPerDocument?: number;
  /** Questions read together (default 4). */
  batchSize?: number;
}

const softmax = (xs: readonly number[]): number[] => {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
};

/** The best `n` body spans of one row of span logits, best first. */
function bestSpans(
  tokenizer: WordPieceTokenizer,
  readerIds: Int32Array,
  body: string,
  candidates: Parameters<typeof predictAnswer>[2],
  logits: Float32Array,
  mask: Float32Array,
  n: number,
): AnswerSpan[] {
  const order: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) order.push(i);
  order.sort((a, b) => logits[b] - logits[a] || a - b);
  const out: AnswerSpan[] = [];
  const only = new Float32Array(mask.length);
  for (const i of order.slice(0, n)) {
    only.fill(-Infinity);
    only[i] = logits[i];
    const p = predictAnswer(tokenizer, [{ readerIds, body }], candidates, [only]);
    if (p) out.push({ text: p.text, charStart: p.charStart, charEnd: p.charEnd, score: p.score });
  }
  return out;
}

/** Answers each question from its k documents chosen by `retrieval`. */
export async function answerQuestions(
  model: RealmModel,
  evidence: QaEvidence,
  tokenizer: WordPieceTokenizer,
  retrieval: DocumentRetrieval,
  questions: readonly string[],
  options: AnswerOptions = {},
): Promise<{ answers: OpenQaAnswer[]; retrieved: Retrieved[]; readerIds: Int32Array[][] }> {
  const k = options.k ?? 5;
  const perDoc = options.spansPerDocument ?? 3;
  const batchSize = options.batchSize ?? 4;
  const answers: OpenQaAnswer[] = [];
  const allRetrieved: Retrieved[] = [];
  const allReaderIds: Int32Array[][] = [];
  for (let at = 0; at < questions.length; at += batchSize) {
    const texts = questions.slice(at, at + batchSize);
    const qIds = texts.map((q) => questionInput(tokenizer, q, model.config.maxQueryLength));
    const retrieved = await retrieval.retrieve(qIds, k);
    const batch = readerBatch(model, evidence, tokenizer, qIds, retrieved);
    const s = batch.candidates.starts.length;
    const scores = tf.tensor1d(retrieved.flatMap((r) => r.scores));
    const logitsT = readSpans(model, batch, scores, EVAL_CTX); // [B*K, S]
    const logits = (await logitsT.data()) as Float32Array;
    tf.dispose([scores, logitsT]);
    texts.forEach((question, i) => {
      const r = retrieved[i];
      const kk = r.rows.length;
      const rowIds = batch.readerIds.slice(i * kk, (i + 1) * kk);
      const bodies = r.rows.map((row) => (row < 0 ? '' : evidence.bodies[row]));
      const rowLogits = rowIds.map((_x, j) => logits.subarray((i * kk + j) * s, (i * kk + j + 1) * s));
      const prediction = predictAnswer(
        tokenizer,
        rowIds.map((readerIds, j) => ({ readerIds, body: bodies[j] })),
        batch.candidates,
        rowLogits,
      );
      const p = softmax(r.scores);
      answers.push({
        question,
        answer: prediction?.text ?? '',
        prediction,
        retrieval: retrieval.name,
        documents: r.rows.map((row, j) => ({
          row,
          id: row < 0 ? null : evidence.docs.ids[row],
          title: row < 0 ? '' : evidence.titles[row],
          body: bodies[j],
          retrievalScore: r.scores[j],
          probability: p[j],
          spans: bestSpans(
            tokenizer,
            rowIds[j],
            bodies[j],
            batch.candidates,
            rowLogits[j],
            batch.mask.subarray((i * kk + j) * s, (i * kk + j + 1) * s),
            perDoc,
          ),
        })),
      });
      allRetrieved.push(r);
      allReaderIds.push(rowIds);
    });
  }
  return { answers, retrieved: allRetrieved, readerIds: allReaderIds };
}

/** One question answered (the Ask panel's call): its k documents with p(z|x), their best spans, the answer. */
export async function answerQuestion(
  model: RealmModel,
  evidence: QaEvidence,
  tokenizer: WordPieceTokenizer,
  retrieval: DocumentRetrieval,
  question: string,
  options: AnswerOptions = {},
): Promise<OpenQaAnswer> {
  return (await answerQuestions(model, evidence, tokenizer, retrieval, [question], options)).answers[0];
}

/** Exact match and recall@k of one retrieval + reader over a question set, with ORQA's predictions. */
export interface OpenQaEval {
  retrieval: string;
  questions: number;
  k: number;
  /** Share of questions whose predicted answer matches a reference after normalisation (qa-eval exactMatch). */
  exactMatch: number;
  /** Share of questions with an answer's wordpieces in the body of a document read (containsAnswer). */
  recallAtK: number;
  predictions: { question: string; prediction: string }[];
}

/** The rule recall@k uses, for the tables. */
export const QA_RECALL_RULE =
  "an answer's wordpieces (or its normalised form's) occur contiguously in the body of a document read, as the reader sees it (qa-eval containsAnswer)";

export async function evaluateOpenQa(
  model: RealmModel,
  evidence: QaEvidence,
  tokenizer: WordPieceTokenizer,
  retrieval: DocumentRetrieval,
  items: readonly QaItem[],
  options: AnswerOptions = {},
): Promise<OpenQaEval> {
  const k = options.k ?? 5;
  const { answers, readerIds } = await answerQuestions(
    model,
    evidence,
    tokenizer,
    retrieval,
    items.map((q) => q.question),
    { ...options, spansPerDocument: 0 },
  );
  let em = 0;
  let hits = 0;
  items.forEach((q, i) => {
    if (exactMatch(answers[i].answer, q.answer)) em++;
    const pieces = answerPieces(tokenizer, q.answer);
    if (readerIds[i].some((ids) => containsAnswer(ids, pieces))) hits++;
  });
  const n = items.length;
  return {
    retrieval: retrieval.name,
    questions: n,
    k,
    exactMatch: n ? em / n : NaN,
    recallAtK: n ? hits / n : NaN,
    predictions: answers.map((a) => ({ question: a.question, prediction: a.answer })),
  };
}

/**
 * Retrieval recall@k alone (no reader, so no span head needed): the zero-shot recall of a pre-trained
 * retriever before fine-tuning. Same rule as evaluateOpenQa's recall.
 */
export async function retrievalRecall(
  model: RealmModel,
  evidence: QaEvidence,
  tokenizer: WordPieceTokenizer,
  retrieval: DocumentRetrieval,
  items: readonly QaItem[],
  k = 5,
): Promise<number> {
  if (items.length === 0) return NaN;
  const qIds = items.map((q) => questionInput(tokenizer, q.question, model.config.maxQueryLength));
  const retrieved = await retrieval.retrieve(qIds, k);
  let hits = 0;
  items.forEach((q, i) => {
    const pieces = answerPieces(tokenizer, q.answer);
    const seen = retrieved[i].rows.map((row) =>
      readerInput(qIds[i], documentTokens(evidence, row), model.config.maxReaderLength),
    );
    if (seen.some((ids) => containsAnswer(ids, pieces))) hits++;
  });
  return hits / items.length;
}
