// Open-QA retrieval over a fixed evidence index (issue #34; REALM §3.3, ORQA's retrieve()). The evidence
// is every passage as Embed_doc reads it, `[CLS] title [SEP] body [SEP]`, with the body text its
// wordpieces were encoded from (predictAnswer maps spans back to that text). Embed_doc(z) of every
// passage is computed once and never again: the index stays fixed through fine-tuning and inference,
// as in REALM's fine-tuning. Three ways to pick a question's k documents, one interface:
//   denseRetrieval    top k of Embed_input(x) . Embed_doc(z) over the fixed index (the model's own);
//   bm25Retrieval     BM25 over the same wordpieces (bm25.ts), S_retr = 0 so the reader alone ranks spans;
//   nullRetrieval     the null document alone (`[CLS] [SEP] [SEP]`, retriever.ts): no body, no span.
// readerRows then builds `[CLS] x [SEP] title [SEP] body [SEP]` per retrieved document, and the answer
// labels: the spans that match an answer (matchingSpans) and the documents that contain one (containsAnswer).
import * as tf from '@tensorflow/tfjs';
import { CLS_ID, SEP_ID, type WordPieceTokenizer } from '../corpus/tokenizer';
import { docTokens, type DocumentStore } from '../corpus/data';
import { bucketLength, EVAL_CTX, padBatch, type ForwardCtx } from './bert';
import { Bm25Retriever } from './bm25';
import { embedCorpus } from './index-refresh';
import { readerInput } from './knowledge-encoder';
import { DenseMipsIndex, type MipsIndex } from './mips';
import { answerPieces, containsAnswer, matchingSpans } from './qa-eval';
import type { RealmModel } from './realm-model';
import { NULL_DOC_TOKENS } from './retriever';
import { spanCandidates, spanMask, type SpanCandidates } from './span-reader';

/** A passage of the evidence collection, as the corpus stores it. */
export interface EvidencePassage {
  id: string;
  title: string;
  text: string;
}

/** The evidence the reader reads: tokens by row and the original text of each body. */
export interface QaEvidence {
  docs: DocumentStore;
  titles: readonly string[];
  bodies: readonly string[];
}

/**
 * Every passage as `[CLS] title [SEP] body [SEP]` (docTokens: the title cut to a quarter, the body to
 * what is left of maxDocLength), the body encoded from the passage text in one piece, so its wordpieces
 * are exactly tokenizer.encode(text) and a span maps back through encodeWithOffsets.
 */
export function qaEvidence(
  passages: readonly EvidencePassage[],
  tokenizer: WordPieceTokenizer,
  maxDocLength: number,
): QaEvidence {
  return {
    docs: {
      ids: passages.map((p) => p.id),
      tokens: passages.map((p) =>
        docTokens({ title: tokenizer.encode(p.title), sentences: [tokenizer.encode(p.text)] }, maxDocLength),
      ),
    },
    titles: passages.map((p) => p.title),
    bodies: passages.map((p) => p.text),
  };
}

/** `[CLS] x [SEP]` of a question, x cut so the whole fits in maxQueryLength. */
export function questionInput(tokenizer: WordPieceTokenizer, question: string, maxQueryLength: number): Int32Array {
  const x = tokenizer.encode(question).slice(0, Math.max(0, maxQueryLength - 2));
  return Int32Array.from([CLS_ID, ...x, SEP_ID]);
}

/**
 * Embed_doc(z) of every evidence passage, computed once: the MIPS index and the same vectors on the
 * host (the retrieval score of a retrieved document is Embed_input(x) . these rows, with no gradient
 * into them). Owns the index: call dispose().
 */
export class FixedDocumentIndex {
  private constructor(
    readonly vectors: Float32Array, // [N, d] row-major
    readonly dim: number,
    readonly index: MipsIndex,
  ) {}

  static async build(model: RealmModel, evidence: QaEvidence): Promise<FixedDocumentIndex> {
    const vectors = await embedCorpus(model, evidence.docs); // [N, d] with the model's Embed_doc
    const dim = model.config.retrieverDim;
    return new FixedDocumentIndex(vectors, dim, new DenseMipsIndex(0, vectors, evidence.docs.ids, dim));
  }

  get size(): number {
    return this.index.size;
  }

  /** Rows [B][K] of Embed_doc(z) as one [B, K, d] array. */
  rowsOf(rows: readonly (readonly number[])[]): Float32Array {
    const k = rows[0]?.length ?? 0;
    const out = new Float32Array(rows.length * k * this.dim);
    rows.forEach((r, b) =>
      r.forEach((row, j) => out.set(this.vectors.subarray(row * this.dim, (row + 1) * this.dim), (b * k + j) * this.dim)),
    );
    return out;
  }

  dispose(): void {
    this.index.dispose();
  }
}

/** The documents a question's reader sees: evidence rows (-1 = the null document) and S_retr(z, x). */
export interface Retrieved {
  rows: number[];
  scores: number[];
}

/** How the k documents of each question are chosen. */
export interface DocumentRetrieval {
  readonly name: string;
  retrieve(questions: readonly Int32Array[], k: number): Promise<Retrieved[]>;
}

/** Embed_input(x) [B, d] of question rows. */
export function embedQuestions(model: RealmModel, questions: readonly Int32Array[], ctx: ForwardCtx = EVAL_CTX): tf.Tensor2D {
  return tf.tidy(() => {
    const { ids, segments } = padBatch(questions as Int32Array[], model.config.maxQueryLength);
    return model.embedInput.embed(ids, segments, ctx); // [B, d]
  });
}

/** The model's retriever: top k of Embed_input(x) . Embed_doc(z) over the fixed index. */
export function denseRetrieval(model: RealmModel, index: FixedDocumentIndex): DocumentRetrieval {
  return {
    name: 'retriever',
    async retrieve(questions, k) {
      if (questions.length === 0) return [];
      const q = embedQuestions(model, questions); // [B, d]
      const { scores, indices } = index.index.search(q, k); // [B, k] each
      const [s, r] = await Promise.all([scores.data(), indices.data()]);
      tf.dispose([q, scores, indices]);
      return questions.map((_q, b) => ({
        rows: Array.from(r.subarray(b * k, (b + 1) * k)),
        scores: Array.from(s.subarray(b * k, (b + 1) * k)),
      }));
    },
  };
}

/** BM25 over the evidence's wordpieces; the reader ranks spans alone (S_retr = 0, p(z|x) uniform). */
export function bm25Retrieval(evidence: QaEvidence): DocumentRetrieval {
  const bm25 = new Bm25Retriever(evidence.docs);
  return {
    name: 'BM25',
    async retrieve(questions, k) {
      return questions.map((inputIds) => {
        let rows = bm25.search({ inputIds, maskPositions: [], targets: [], sourceDocId: null }, k, 'passage');
        // A question with fewer than k term matches reads the first unmatched rows, so every question reads k.
        for (let row = 0; rows.length < Math.min(k, evidence.docs.ids.length); row++)
          if (!rows.includes(row)) rows = [...rows, row];
        return { rows, scores: rows.map(() => 0) };
      });
    },
  };
}

/** The null document alone: the reader sees `[CLS] x [SEP] [SEP] [SEP]`, which has no span to extract. */
export function nullRetrieval(): DocumentRetrieval {
  return {
    name: 'null document',
    async retrieve(questions) {
      return questions.map(() => ({ rows: [-1], scores: [0] }));
    },
  };
}

/** The tokens of an evidence row, or the null document's for -1. */
export function documentTokens(evidence: QaEvidence, row: number): ArrayLike<number> {
  return row < 0 ? NULL_DOC_TOKENS : evidence.docs.tokens[row];
}

/** The reader inputs of B questions x K documents, with their candidate spans and answer labels. */
export interface ReaderBatch {
  /** B questions, K documents each (every question reads the same number). */
  b: number;
  k: number;
  /** `[CLS] x [SEP] title [SEP] body [SEP]` per (question, document), question-major: B*K rows. */
  readerIds: Int32Array[];
  /** Candidate spans over the padded length L of the batch. */
  candidates: SpanCandidates;
  length: number;
  /** [B*K, S] 1 inside the body (spanMask). */
  mask: Float32Array;
  /** [B*K, S] 1 where the span matches an answer (matchingSpans); absent without answers. */
  spanCorrect?: Float32Array;
  /** [B, K] 1 where the document contains an answer (containsAnswer); absent without answers. */
  docCorrect?: Float32Array;
}

/** The reader inputs for `retrieved[b]` of question `questions[b]`; `answers[b]` labels them when given. */
export function readerBatch(
  model: RealmModel,
  evidence: QaEvidence,
  tokenizer: WordPieceTokenizer,
  questions: readonly Int32Array[],
  retrieved: readonly Retrieved[],
  answers?: readonly (readonly string[])[],
): ReaderBatch {
  const b = questions.length;
  const k = retrieved[0]?.rows.length ?? 0;
  if (retrieved.some((r) => r.rows.length !== k))
    throw new Error('readerBatch: every question must read the same number of documents');
  const maxLen = model.config.maxReaderLength;
  const readerIds = retrieved.flatMap((r, i) =>
    r.rows.map((row) => readerInput(questions[i], documentTokens(evidence, row), maxLen)),
  );
  const L = bucketLength(
    readerIds.reduce((m, r) => Math.max(m, r.length), 1),
    maxLen,
  ); // the padded length padBatch will use
  const candidates = spanCandidates(L);
  const s = candidates.starts.length;
  const mask = new Float32Array(b * k * s);
  readerIds.forEach((ids, i) => mask.set(spanMask(ids, candidates), i * s));
  const out: ReaderBatch = { b, k, readerIds, candidates, length: L, mask };
  if (answers) {
    const spanCorrect = new Float32Array(b * k * s);
    const docCorrect = new Float32Array(b * k);
    answers.forEach((a, i) => {
      const pieces = answerPieces(tokenizer, a);
      for (let j = 0; j < k; j++) {
        const ids = readerIds[i * k + j];
        spanCorrect.set(matchingSpans(ids, candidates, pieces), (i * k + j) * s);
        docCorrect[i * k + j] = containsAnswer(ids, pieces) ? 1 : 0;
      }
    });
    out.spanCorrect = spanCorrect;
    out.docCorrect = docCorrect;
  }
  return out;
}

/** The span logits [B*K, S] of a reader batch: S_read + S_retr, masked outside the bodies. */
export function readSpans(model: RealmModel, batch: ReaderBatch, retrievalScores: tf.Tensor1D, ctx: ForwardCtx): tf.Tensor2D {
  const reader = model.spanReader;
  if (!reader) throw new Error('readSpans: the model has no span reader; build it with spanReader: true');
  return tf.tidy(() => {
    const { ids, segments } = padBatch(batch.readerIds, model.config.maxReaderLength); // [B*K, L]
    const mask = tf.tensor2d(batch.mask, [batch.readerIds.length, batch.candidates.starts.length]); // [B*K, S]
    return reader.read(model.reader, ids, segments, batch.candidates, mask, retrievalScores, ctx); // [B*K, S]
  });
}
