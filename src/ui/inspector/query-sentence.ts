// A masked query x as the inspector shows it: its wordpieces turned back into words, with each run of
// [MASK] positions gathered into one span. A span shows its answer (the true tokens) when known, or
// "[MASK]" when the user typed a sentence without an answer. Pure functions: no DOM, no tensors.
import { CLS_ID, PAD_ID, SEP_ID } from '../../corpus/tokenizer';
import type { ClozeQuery } from '../../corpus/data';
import type { RealmQuery } from '../../corpus/data';
import type { WordPieceTokenizer } from '../../corpus/tokenizer';

interface SentencePiece {
  text: string;
  /** Index of the masked span this piece is (0, 1, ... in order), or null for plain text. */
  span: number | null;
}

export interface QuerySentence {
  /** Plain text and masked spans in order; joined, they read as the sentence with the answers filled in. */
  pieces: SentencePiece[];
  /** The sentence as the model reads it, each span replaced by "[MASK]". */
  masked: string;
  /** The answer of each span ("" when unknown). */
  answers: string[];
  /** For each mask j (in maskPositions order), the span it belongs to. */
  spanOfMask: number[];
}

const SPECIAL = new Set([PAD_ID, CLS_ID, SEP_ID]);

/** Turns `[CLS] x [SEP]` with its masks back into words. */
export function querySentence(tokenizer: WordPieceTokenizer, query: RealmQuery): QuerySentence {
  const maskAt = new Map<number, number>();
  for (let j = 0; j < query.maskPositions.length; j++) maskAt.set(query.maskPositions[j], j);
  const answers: string[] = [];
  const spanOfMask: number[] = new Array(query.maskPositions.length).fill(-1);
  // Words in order: plain wordpieces, and one entry per masked span.
  const words: { text: string; span: number | null; cont: boolean }[] = [];
  let span = -1;
  for (let i = 0; i < query.inputIds.length; i++) {
    const j = maskAt.get(i);
    if (j === undefined) {
      const id = query.inputIds[i];
      if (SPECIAL.has(id)) continue;
      const piece = tokenizer.vocab[id] ?? '[UNK]';
      const cont = piece.startsWith('##');
      words.push({ text: cont ? piece.slice(2) : piece, span: null, cont });
      continue;
    }
    const prev = words.at(-1);
    if (!prev || prev.span === null || maskAt.get(i - 1) === undefined) {
      span++;
      answers.push('');
      words.push({ text: '', span, cont: false });
    }
    spanOfMask[j] = span;
    const t = query.targets[j];
    if (t < 0) continue;
    const piece = tokenizer.vocab[t] ?? '[UNK]';
    const cont = piece.startsWith('##');
    answers[span] += (answers[span] && !cont ? ' ' : '') + (cont ? piece.slice(2) : piece);
  }
  const pieces: SentencePiece[] = [];
  let masked = '';
  words.forEach((w, i) => {
    const sep = i === 0 || w.cont ? '' : ' ';
    const text = w.span === null ? w.text : answers[w.span] || '[MASK]';
    masked += sep + (w.span === null ? w.text : '[MASK]');
    const last = pieces.at(-1);
    if (w.span === null) {
      if (last && last.span === null) last.text += sep + text;
      else pieces.push({ text: sep + text, span: null });
    } else {
      // The space before a span belongs to the plain text, so a marked span holds only its words.
      if (sep) {
        if (last && last.span === null) last.text += sep;
        else pieces.push({ text: sep, span: null });
      }
      pieces.push({ text, span: w.span });
    }
  });
  return { pieces, masked, answers, spanOfMask };
}

/** Where a query comes from: the held-out cloze set, the trainer's latest batch, the training sentences, or the user's typing. */
export type SourceKind = 'heldout' | 'batch' | 'training' | 'typed';

/**
 * The masked sentences of the trainer's latest REALM batch, or null when the trainer does not expose
 * them (a `lastRealmQueries` array on the trainer; read structurally so the inspector works either way).
 */
export function latestBatchQueries(trainer: object): readonly RealmQuery[] | null {
  const q = (trainer as { lastRealmQueries?: unknown }).lastRealmQueries;
  return Array.isArray(q) ? (q as RealmQuery[]) : null;
}

export interface SentenceChoice {
  kind: Exclude<SourceKind, 'typed'>;
  /** Position in its list (trainingData.heldOut or trainingData.queries). */
  index: number;
  query: RealmQuery;
  /** The masked sentence, for the picker. */
  label: string;
  /** Type of the masked span (person, place, date, ...) when known. */
  spanType: string | null;
}

/** The first `limit` queries of a list as picker entries. */
export function sentenceChoices(
  tokenizer: WordPieceTokenizer,
  kind: SentenceChoice['kind'],
  queries: readonly RealmQuery[],
  limit = 300,
): SentenceChoice[] {
  return queries.slice(0, limit).map((query, index) => ({
    kind,
    index,
    query,
    label: querySentence(tokenizer, query).masked,
    spanType: (query as Partial<ClozeQuery>).spanType ?? null,
  }));
}

/** A stable key for a sentence (used as the pinned id). */
export function sentenceKey(kind: SourceKind, index: number | string): string {
  return `${kind}:${index}`;
}
