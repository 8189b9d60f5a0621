// Sentences and blocks. REALM's corpus is made of blocks of at most 128 wordpieces for
// `[CLS] title [SEP] body [SEP]`, cut on sentence boundaries (a single over-long sentence is cut hard).
import type { WordPieceTokenizer } from './tokenizer';

/** A sentence as [start, end) character offsets into its text. */
export interface SentenceSpan {
  start: number;
  end: number;
}

// Tokens that end with a period but do not end a sentence.
const ABBREVIATIONS = new Set([
  'mr',
  'mrs',
  'ms',
  'dr',
  'prof',
  'sr',
  'jr',
  'st',
  'mt',
  'ft',
  'vs',
  'etc',
  'e.g',
  'i.e',
  'u.s',
  'u.k',
  'no',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'gen',
  'col',
  'capt',
  'lt',
  'c',
  'ca',
  'approx',
  'inc',
  'ltd',
  'co',
  'corp',
  'dept',
  'univ',
  'fig',
  'vol',
  'ed',
]);

// Words that start a sentence and hardly ever follow an abbreviation inside one.
const SENTENCE_STARTERS = /^(?:The|It|Its|He|She|His|Her|They|Their|This|These|There|In|Money|People|To)\s/;

/** Splits text into sentences at . ! ? (and ; in WordNet-style glosses is kept inside). */
export function splitSentences(text: string): SentenceSpan[] {
  const out: SentenceSpan[] = [];
  let start = 0;
  const re = /[.!?]+["')\]]*(?=\s+|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const end = m.index + m[0].length;
    const before = text.slice(start, m.index);
    const lastWord = /([A-Za-z.]+)$/.exec(before)?.[1]?.toLowerCase() ?? '';
    const next = text.slice(end).trimStart();
    // "U.S." / "Dr." / a single initial ("J. R. R. Tolkien") do not end a sentence, unless a word that
    // starts sentences follows ("... is Washington D.C. The currency of ...").
    if (
      m[0] === '.' &&
      (ABBREVIATIONS.has(lastWord) || /^[a-z]$/.test(lastWord) || /\.[a-z]$/.test(lastWord)) &&
      !SENTENCE_STARTERS.test(next)
    )
      continue;
    if (next && /^[a-z]/.test(next)) continue; // "... approx. 3 km" and lower-case continuations
    pushTrimmed(text, start, end, out);
    start = end;
  }
  pushTrimmed(text, start, text.length, out);
  return out;
}

function pushTrimmed(text: string, start: number, end: number, out: SentenceSpan[]): void {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  if (end > start) out.push({ start, end });
}

/** Thrown when a title alone leaves no room for a body. */
export class BlockSizeError extends Error {
  constructor(title: string, maxPieces: number) {
    super(
      `The title "${title.slice(0, 60)}" is too long for a block of ${maxPieces} wordpieces; shorten it or raise the block size.`,
    );
    this.name = 'BlockSizeError';
  }
}

/**
 * Bodies of the blocks of one passage: each `[CLS] title [SEP] body [SEP]` has at most `maxPieces`
 * wordpieces. Sentences are kept whole when they fit; a sentence longer than a block is cut at a
 * wordpiece boundary.
 */
export function splitIntoBlocks(title: string, text: string, tokenizer: WordPieceTokenizer, maxPieces = 128): string[] {
  const budget = maxPieces - 3 - tokenizer.encode(title).length;
  if (budget < 8) throw new BlockSizeError(title, maxPieces);
  const blocks: string[] = [];
  let cur: SentenceSpan | null = null;
  let used = 0;
  const flush = () => {
    if (cur) blocks.push(text.slice(cur.start, cur.end));
    cur = null;
    used = 0;
  };
  for (const s of splitSentences(text)) {
    const { offsets } = tokenizer.encodeWithOffsets(text.slice(s.start, s.end));
    const n = offsets.length;
    if (n === 0) continue;
    if (n > budget) {
      // Cut an over-long sentence into budget-sized pieces at wordpiece boundaries.
      flush();
      for (let i = 0; i < n; i += budget) {
        const from = s.start + offsets[i][0];
        const to = s.start + offsets[Math.min(n, i + budget) - 1][1];
        blocks.push(text.slice(from, to));
      }
      continue;
    }
    if (cur && used + n > budget) flush();
    if (cur) {
      (cur as SentenceSpan).end = s.end;
    } else {
      cur = { start: s.start, end: s.end };
    }
    used += n;
  }
  flush();
  return blocks;
}
