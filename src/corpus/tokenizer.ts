// WordPiece tokenizer with BERT's conventions, and a trainer that learns its vocabulary from a corpus.
//
// Normalisation (BERT uncased): NFD, drop combining marks (accents), lower-case, drop control
// characters, whitespace becomes a word boundary. Pre-tokenisation: split on whitespace; every
// punctuation character and every CJK ideograph is a word of its own. Words longer than
// MAX_WORD_CHARS become [UNK].
// Encoding: greedy longest-match-first over the vocabulary, `##` marking a continuation piece; a word
// with no full segmentation becomes one [UNK] (as in BERT).
// Training (`WordPieceTokenizer.train`): a BPE-style merge learner over word counts. Start from the
// alphabet (a word-initial form `c` and a continuation form `##c` of every character seen at least
// `minFrequency` times), then repeatedly merge the most frequent adjacent pair of pieces into a new
// piece (`a` + `##b` -> `ab`), until the vocabulary has `vocabSize` pieces. Ties go to the
// lexicographically smallest pair, so training is deterministic. Pair counts are updated
// incrementally for the words that contain the merged pair, with a lazy max-heap: 8192 pieces from a
// few MB of text take seconds.

export const PAD_ID = 0;
export const UNK_ID = 1;
export const CLS_ID = 2;
export const SEP_ID = 3;
export const MASK_ID = 4;
export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Words longer than this (in characters after normalisation) are [UNK]. */
const MAX_WORD_CHARS = 100;

interface TokenizerJSON {
  vocab: string[];
}

/** A vocabulary that breaks the tokenizer's conventions. */
export class VocabularyError extends Error {
  constructor(message: string) {
    super(`${message}. The vocabulary must start with ${SPECIAL_TOKENS.join(' ')}; retrain it or reload the corpus.`);
    this.name = 'VocabularyError';
  }
}

const COMBINING_MARK = /\p{Mn}/u;
const CONTROL = /[\p{Cc}\p{Cf}]/u;
const WHITESPACE = /\s/u;
const UNICODE_PUNCT = /[\p{P}\p{S}]/u;

function isPunctuation(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  // BERT treats every non-letter, non-digit printable ASCII character as punctuation.
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  return UNICODE_PUNCT.test(ch);
}

function isCjk(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  return (
    (c >= 0x4e00 && c <= 0x9fff) ||
    (c >= 0x3400 && c <= 0x4dbf) ||
    (c >= 0x20000 && c <= 0x2a6df) ||
    (c >= 0x2a700 && c <= 0x2b73f) ||
    (c >= 0x2b740 && c <= 0x2b81f) ||
    (c >= 0x2b820 && c <= 0x2ceaf) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0x2f800 && c <= 0x2fa1f)
  );
}

/** A word of the pre-tokenised text, with its [start, end) offsets in the ORIGINAL string. */
interface Word {
  text: string;
  /** Original offsets of each normalised character. */
  starts: number[];
  ends: number[];
}

/** Normalises and pre-tokenises `text`, keeping each character's offsets in the original string. */
function preTokenize(text: string): Word[] {
  const words: Word[] = [];
  let cur: Word | null = null;
  const flush = () => {
    if (cur && cur.text) words.push(cur);
    cur = null;
  };
  let i = 0;
  for (const cp of text) {
    const start = i;
    const end = i + cp.length;
    i = end;
    if (WHITESPACE.test(cp)) {
      flush();
      continue;
    }
    if (CONTROL.test(cp)) continue;
    let norm = '';
    for (const ch of cp.normalize('NFD')) if (!COMBINING_MARK.test(ch)) norm += ch;
    norm = norm.toLowerCase();
    for (const ch of norm) {
      if (isPunctuation(ch) || isCjk(ch)) {
        flush();
        words.push({ text: ch, starts: [start], ends: [end] });
        continue;
      }
      cur ??= { text: '', starts: [], ends: [] };
      const w: Word = cur;
      w.text += ch;
      for (let k = 0; k < ch.length; k++) {
        w.starts.push(start);
        w.ends.push(end);
      }
    }
  }
  flush();
  return words;
}

/** The normalised words of `text` (no offsets), e.g. for counting words before training. */
export function basicWords(text: string): string[] {
  return preTokenize(text).map((w) => w.text);
}

export class WordPieceTokenizer {
  readonly vocab: string[];
  private readonly ids: Map<string, number>;
  private readonly maxPieceChars: number;
  /** Word -> piece ids (the same words recur constantly). */
  private readonly cache = new Map<string, number[]>();

  constructor(vocab: string[]) {
    SPECIAL_TOKENS.forEach((t, i) => {
      if (vocab[i] !== t) throw new VocabularyError(`entry ${i} is "${vocab[i]}", expected ${t}`);
    });
    this.vocab = vocab;
    this.ids = new Map();
    vocab.forEach((p, i) => {
      if (this.ids.has(p)) throw new VocabularyError(`"${p}" appears twice (ids ${this.ids.get(p)} and ${i})`);
      this.ids.set(p, i);
    });
    this.maxPieceChars = Math.max(...vocab.map((p) => (p.startsWith('##') ? p.length - 2 : p.length)));
  }

  get size(): number {
    return this.vocab.length;
  }

  /** Id of a piece, or [UNK]'s id. */
  idOf(piece: string): number {
    return this.ids.get(piece) ?? UNK_ID;
  }

  /** Piece ids of one normalised word, and each piece's [start, end) in the word. */
  private wordPieces(word: string): { ids: number[]; spans: [number, number][] } {
    const chars = Array.from(word);
    if (chars.length > MAX_WORD_CHARS) return { ids: [UNK_ID], spans: [[0, word.length]] };
    const ids: number[] = [];
    const spans: [number, number][] = [];
    // Offsets in UTF-16 units of each char boundary.
    const at: number[] = [0];
    for (const c of chars) at.push(at[at.length - 1] + c.length);
    let start = 0;
    while (start < chars.length) {
      let end = Math.min(chars.length, start + this.maxPieceChars);
      let id = -1;
      while (end > start) {
        const sub = word.slice(at[start], at[end]);
        const found = this.ids.get(start > 0 ? `##${sub}` : sub);
        if (found !== undefined) {
          id = found;
          break;
        }
        end--;
      }
      if (id < 0) return { ids: [UNK_ID], spans: [[0, word.length]] };
      ids.push(id);
      spans.push([at[start], at[end]]);
      start = end;
    }
    return { ids, spans };
  }

  private wordIds(word: string): number[] {
    let ids = this.cache.get(word);
    if (!ids) {
      ids = this.wordPieces(word).ids;
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(word, ids);
    }
    return ids;
  }

  /** Wordpiece ids of `text` (no [CLS]/[SEP]). */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const w of preTokenize(text)) for (const id of this.wordIds(w.text)) out.push(id);
    return out;
  }

  /** Wordpieces of `text` as strings. */
  tokenize(text: string): string[] {
    return this.encode(text).map((id) => this.vocab[id]);
  }

  /** Ids with each piece's [start, end) character offsets in the ORIGINAL text. */
  encodeWithOffsets(text: string): { ids: number[]; offsets: [number, number][] } {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (const w of preTokenize(text)) {
      const { ids: pieceIds, spans } = this.wordPieces(w.text);
      pieceIds.forEach((id, k) => {
        const [s, e] = spans[k];
        ids.push(id);
        offsets.push([w.starts[s], w.ends[e - 1]]);
      });
    }
    return { ids, offsets };
  }

  /** Text of `ids`: continuation pieces join their word, [PAD] is dropped, words are space-separated. */
  decode(ids: ArrayLike<number>): string {
    let out = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === PAD_ID) continue;
      const piece = this.vocab[id] ?? '[UNK]';
      if (piece.startsWith('##')) out += piece.slice(2);
      else out += (out ? ' ' : '') + piece;
    }
    return out;
  }

  toJSON(): TokenizerJSON {
    return { vocab: this.vocab };
  }

  static fromJSON(j: TokenizerJSON): WordPieceTokenizer {
    return new WordPieceTokenizer(j.vocab);
  }

  /** One piece per line, id = line number (the bundled `vocab.txt`). */
  toText(): string {
    return this.vocab.join('\n') + '\n';
  }

  static fromText(text: string): WordPieceTokenizer {
    return new WordPieceTokenizer(text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1));
  }

  /** Learns a vocabulary from `texts` (see the header comment for the algorithm). */
  static train(texts: Iterable<string>, opts: { vocabSize?: number; minFrequency?: number } = {}): WordPieceTokenizer {
    const vocabSize = opts.vocabSize ?? 8192;
    const minFrequency = opts.minFrequency ?? 2;
    const wordCounts = new Map<string, number>();
    for (const t of texts) {
      for (const w of basicWords(t)) {
        if (Array.from(w).length <= MAX_WORD_CHARS) wordCounts.set(w, (wordCounts.get(w) ?? 0) + 1);
      }
    }
    return new WordPieceTokenizer(learnVocabulary(wordCounts, vocabSize, minFrequency));
  }
}

/** A max-heap of [count, pair] with ties to the lexicographically smaller pair. */
class PairHeap {
  private readonly items: { count: number; key: string }[] = [];
  private better(a: { count: number; key: string }, b: { count: number; key: string }): boolean {
    return a.count > b.count || (a.count === b.count && a.key < b.key);
  }
  push(count: number, key: string): void {
    const h = this.items;
    h.push({ count, key });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): { count: number; key: string } | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.better(h[l], h[m])) m = l;
        if (r < h.length && this.better(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const SEP = '\u0000';

function learnVocabulary(wordCounts: Map<string, number>, vocabSize: number, minFrequency: number): string[] {
  const words = [...wordCounts.keys()].sort();
  const freq = words.map((w) => wordCounts.get(w)!);
  // Alphabet: characters seen at least minFrequency times, word-initial and continuation forms.
  const charCount = new Map<string, number>();
  const splits: string[][] = words.map((w, wi) => {
    const chars = Array.from(w);
    chars.forEach((c) => charCount.set(c, (charCount.get(c) ?? 0) + freq[wi]));
    return chars.map((c, i) => (i === 0 ? c : `##${c}`));
  });
  const alphabet = new Set<string>();
  splits.forEach((s) => s.forEach((p) => charCount.get(p.startsWith('##') ? p.slice(2) : p)! >= minFrequency && alphabet.add(p)));
  const vocab: string[] = [...SPECIAL_TOKENS, ...[...alphabet].sort()];
  const inVocab = new Set(vocab);
  // Words containing a character outside the alphabet can never be segmented: leave them out.
  const live = splits.map((s) => s.every((p) => alphabet.has(p)));

  const pairCount = new Map<string, number>();
  const pairWords = new Map<string, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const s = splits[wi];
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i] + SEP + s[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * freq[wi]);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  splits.forEach((_, wi) => live[wi] && addPairs(wi, 1));
  const heap = new PairHeap();
  pairCount.forEach((c, key) => heap.push(c, key));

  while (vocab.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const current = pairCount.get(top.key) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push(current, top.key); // stale entry: re-queue with its true count
      continue;
    }
    if (current < minFrequency) break;
    const [a, b] = top.key.split(SEP);
    const merged = a + b.slice(2);
    const touched = pairWords.get(top.key) ?? new Set<number>();
    const fresh = new Set<string>();
    for (const wi of touched) {
      const s = splits[wi];
      addPairs(wi, -1);
      const next: string[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === a && s[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(s[i]);
      }
      splits[wi] = next;
      addPairs(wi, 1);
      for (let i = 0; i + 1 < next.length; i++)
        if (next[i] === merged || next[i + 1] === merged) fresh.add(next[i] + SEP + next[i + 1]);
    }
    pairWords.delete(top.key);
    pairCount.delete(top.key);
    for (const key of fresh) heap.push(pairCount.get(key) ?? 0, key);
    if (!inVocab.has(merged)) {
      inVocab.add(merged);
      vocab.push(merged);
    }
  }
  return vocab;
}
