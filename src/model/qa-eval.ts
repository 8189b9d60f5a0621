// Open-QA evaluation as REALM and ORQA report it (issue #34; ORQA's utils/eval_utils.py):
// - normalizeAnswer: Unicode NFD, lower case, ASCII punctuation (Python's string.punctuation) removed,
//   the words a/an/the removed, whitespace collapsed. Accents are NOT stripped: NFD only makes a
//   precomposed "é" and "e" + U+0301 the same string, as in ORQA's official exact match. Articles are
//   found with Python's Unicode \b (letters, digits and "_" are word characters, combining marks are
//   not), so, as in ORQA, the "a" of an NFD "Å" counts as an article; both sides normalise alike.
// - exactMatch: the best over the reference answers.
// - the answer spans a document holds, for the reader loss and recall: a span is correct when its
//   wordpieces equal those of an answer, or of the normalised answer (so "The Beatles" also marks the
//   span "beatles"); a document contains an answer when such a run of wordpieces lies in its body.
// - predictAnswer: the highest-scoring span over the k documents, mapped back to the original body
//   text through the tokenizer's character offsets.
import type { WordPieceTokenizer } from '../corpus/tokenizer';
import { documentBody, spanMask, type SpanCandidates } from './span-reader';

const ASCII_PUNCTUATION = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');
// Python's \b(a|an|the)\b with Unicode word characters (letters, digits, underscore).
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/** SQuAD/ORQA answer normalisation. */
export function normalizeAnswer(s: string): string {
  const lower = s.normalize('NFD').toLowerCase();
  let noPunct = '';
  for (const ch of lower) if (!ASCII_PUNCTUATION.has(ch)) noPunct += ch;
  return noPunct
    .replace(ARTICLES, ' ')
    .split(/\s+/u)
    .filter((w) => w.length > 0)
    .join(' ');
}

/** Exact match after normalisation, the best over the reference answers (false when there are none). */
export function exactMatch(prediction: string, answers: readonly string[]): boolean {
  const p = normalizeAnswer(prediction);
  return answers.some((a) => normalizeAnswer(a) === p);
}

/** The distinct, non-empty wordpiece sequences of each answer and of its normalised form. */
export function answerPieces(tokenizer: WordPieceTokenizer, answers: readonly string[]): number[][] {
  const seen = new Map<string, number[]>();
  for (const a of answers)
    for (const text of [a, normalizeAnswer(a)]) {
      const ids = tokenizer.encode(text);
      if (ids.length > 0) seen.set(ids.join(','), ids);
    }
  return [...seen.values()];
}

function matchesAt(ids: ArrayLike<number>, at: number, piece: readonly number[]): boolean {
  if (at + piece.length > ids.length) return false;
  for (let j = 0; j < piece.length; j++) if (ids[at + j] !== piece[j]) return false;
  return true;
}

/**
 * 1 for each candidate span inside the document body whose wordpieces equal an answer's, else 0:
 * the reader loss's correct spans for one reader input `[CLS] x [SEP] title [SEP] body [SEP]`. [S]
 */
export function matchingSpans(
  readerIds: ArrayLike<number>,
  candidates: SpanCandidates,
  pieces: readonly (readonly number[])[],
): Float32Array {
  const mask = spanMask(readerIds, candidates);
  const out = new Float32Array(mask.length);
  for (let i = 0; i < out.length; i++) {
    if (!mask[i]) continue;
    const s = candidates.starts[i];
    const width = candidates.ends[i] - s + 1;
    out[i] = pieces.some((p) => p.length === width && matchesAt(readerIds, s, p)) ? 1 : 0;
  }
  return out;
}

/** Whether an answer's wordpieces occur in the body of a reader input (the retriever's "correct" document, recall@k). */
export function containsAnswer(readerIds: ArrayLike<number>, pieces: readonly (readonly number[])[]): boolean {
  const { start, end } = documentBody(readerIds);
  for (let at = start; at < end; at++) if (pieces.some((p) => at + p.length <= end && matchesAt(readerIds, at, p))) return true;
  return false;
}

/** One document as the reader saw it: its reader input and the original text of its body. */
export interface ReadDocument {
  readerIds: ArrayLike<number>;
  /** The body text the body's wordpieces were encoded from (they may be cut at the end). */
  body: string;
}

export interface PredictedAnswer {
  /** Index of the document among the k read. */
  doc: number;
  /** Index of the span in the candidates, and its first and last reader positions. */
  span: number;
  start: number;
  end: number;
  /** Its logit S_read + S_retr. */
  score: number;
  /** The answer as it appears in the body, and its [charStart, charEnd) there. */
  text: string;
  charStart: number;
  charEnd: number;
}

/**
 * The highest-scoring span inside any document's body, spanLogits[z][i] over candidates (ORQA's
 * get_predictions: the argmax over all (document, span) pairs), mapped back to the body's original text.
 * Null when no document has a body span (e.g. only the null document was read).
 */
export function predictAnswer(
  tokenizer: WordPieceTokenizer,
  docs: readonly ReadDocument[],
  candidates: SpanCandidates,
  spanLogits: readonly ArrayLike<number>[],
): PredictedAnswer | null {
  if (spanLogits.length !== docs.length)
    throw new Error(`predictAnswer: ${spanLogits.length} rows of span logits for ${docs.length} documents`);
  let best: { doc: number; span: number; score: number } | null = null;
  for (let z = 0; z < docs.length; z++) {
    const mask = spanMask(docs[z].readerIds, candidates);
    if (spanLogits[z].length !== mask.length)
      throw new Error(`predictAnswer: document ${z} has ${spanLogits[z].length} span logits for ${mask.length} candidates`);
    for (let i = 0; i < mask.length; i++)
      if (mask[i] && (best === null || spanLogits[z][i] > best.score)) best = { doc: z, span: i, score: spanLogits[z][i] };
  }
  if (best === null) return null;
  const { doc, span, score } = best;
  const { readerIds, body } = docs[doc];
  const bodyRange = documentBody(readerIds);
  const { ids, offsets } = tokenizer.encodeWithOffsets(body);
  const n = bodyRange.end - bodyRange.start;
  for (let j = 0; j < n; j++)
    if (ids[j] !== readerIds[bodyRange.start + j])
      throw new Error(
        `predictAnswer: document ${doc}'s body wordpiece ${j} (${readerIds[bodyRange.start + j]}) is not the tokenizer's encoding of its text (${ids[j]}); pass the body text it was encoded from`,
      );
  const start = candidates.starts[span];
  const end = candidates.ends[span];
  const charStart = offsets[start - bodyRange.start][0];
  const charEnd = offsets[end - bodyRange.start][1];
  return { doc, span, start, end, score, text: body.slice(charStart, charEnd), charStart, charEnd };
}
