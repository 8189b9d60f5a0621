// Where an answer occurs in a passage, for the inspector's <mark>s: the answer's wordpieces are looked
// up in the passage's own wordpieces (the same "passage holds the answer" test as recall@k), and the
// match is mapped back to character offsets of the original text. A match must start and end on word
// boundaries (no "##" continuation piece right after it, and it must not start on one).
import type { WordPieceTokenizer } from '../../corpus/tokenizer';

/** [start, end) character ranges, ascending, non-overlapping. */
export type Ranges = [number, number][];

export function answerRanges(tokenizer: WordPieceTokenizer, text: string, answer: ArrayLike<number>): Ranges {
  const n = answer.length;
  if (n === 0 || !text) return [];
  const { ids, offsets } = tokenizer.encodeWithOffsets(text);
  const isContinuation = (id: number) => tokenizer.vocab[id]?.startsWith('##') ?? false;
  const out: Ranges = [];
  for (let i = 0; i + n <= ids.length; i++) {
    let hit = true;
    for (let j = 0; j < n && hit; j++) hit = ids[i + j] === answer[j];
    if (!hit) continue;
    if (isContinuation(ids[i]) || (i + n < ids.length && isContinuation(ids[i + n]))) continue;
    out.push([offsets[i][0], offsets[i + n - 1][1]]);
    i += n - 1;
  }
  return out;
}

/** Splits text into plain and marked pieces (React renders each as text: nothing is parsed as HTML). */
export function markedPieces(text: string, ranges: Ranges): { text: string; marked: boolean }[] {
  const out: { text: string; marked: boolean }[] = [];
  let at = 0;
  for (const [s, e] of ranges) {
    if (s < at || e <= s) continue;
    if (s > at) out.push({ text: text.slice(at, s), marked: false });
    out.push({ text: text.slice(s, e), marked: true });
    at = e;
  }
  if (at < text.length) out.push({ text: text.slice(at), marked: false });
  return out;
}

/** Sorts ranges and merges the ones that overlap or touch (for several answers marked in one text). */
export function mergeRanges(ranges: Ranges): Ranges {
  const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Ranges = [];
  for (const [s, e] of sorted) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

/** Where any of several answers (wordpiece ids each) occurs in `text`. */
export function answersRanges(tokenizer: WordPieceTokenizer, text: string, answers: readonly ArrayLike<number>[]): Ranges {
  return mergeRanges(answers.flatMap((a) => answerRanges(tokenizer, text, a)));
}
