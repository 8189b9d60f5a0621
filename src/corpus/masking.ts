// Masking a sentence into a REALM query x (docs/realm.md, bias 1). Three strategies behind one interface:
//
//   salient       (default) mask every wordpiece of ONE salient span of the sentence (a named entity
//                 or a date), chosen uniformly with the seeded RNG, as REALM does. A sentence without a
//                 salient span falls back to one random span (geometric length, as below); the masker
//                 counts how often (`stats.fallback`).
//   random-token  BERT: 15% of the wordpieces; of those 80% become [MASK], 10% a random wordpiece and
//                 10% stay as they are (the targets are always the original ids).
//   random-span   SpanBERT: spans whose lengths follow a geometric distribution (p = 0.2) truncated at
//                 10 wordpieces (mean 3.8), at uniform start positions, until 15% of the wordpieces are
//                 masked; every masked wordpiece becomes [MASK].
//
// Every example is `[CLS] sentence-wordpieces [SEP]`; [CLS] and [SEP] are never masked. A sentence
// longer than `maxLength - 2` wordpieces is cut to a window (around the salient span when there is one).

import { heldOutKey } from './corpus-format';
import { splitSentences } from './blocks';
import type { Rng } from './rng';
import { chooseSpan } from './salient';
import { CLS_ID, MASK_ID, SEP_ID, type WordPieceTokenizer } from './tokenizer';

import { MASKING_STRATEGIES, type MaskingStrategy } from './masking-strategies';
export { MASKING_STRATEGIES, type MaskingStrategy } from './masking-strategies';

/** Ids below this are [PAD] [UNK] [CLS] [SEP] [MASK]; random replacements are drawn above it. */
const FIRST_WORDPIECE = 5;

/** A masked REALM query x. */
export interface MaskedExample {
  /** `[CLS] sentence [SEP]` with the masked positions replaced. */
  inputIds: number[];
  /** Positions in inputIds (1-based into the sentence, since 0 is [CLS]), ascending. */
  maskPositions: number[];
  /** The original ids at maskPositions. */
  targets: number[];
  /** Id of the passage the sentence comes from (excluded from retrieval). */
  sourceDocId: string;
  /** Type of the masked salient span ('salient' only, and not on a fallback). */
  spanType?: string;
  /** Index of the sentence among its passage's non-empty sentences (TokenizedPassage.sentences). */
  sourceSentence?: number;
}

/** A span in the same character coordinates as the sentence's wordpiece offsets. */
export interface CharSpan {
  start: number;
  end: number;
  type: string;
}

/** One sentence, tokenized, with its salient spans. */
export interface SentenceToMask {
  /** Wordpiece ids of the sentence (no [CLS]/[SEP]). */
  ids: number[];
  /** [start, end) character offsets of each wordpiece. */
  offsets: [number, number][];
  /** Salient spans (used by 'salient'; spans outside the sentence are ignored). */
  spans: readonly CharSpan[];
  sourceDocId: string;
}

interface MaskingOptions {
  /** Size of the vocabulary: random replacements are drawn from [5, vocabSize). */
  vocabSize: number;
  /** Most tokens of `[CLS] x [SEP]`; longer sentences are cut to a window around the mask (default 128). */
  maxLength?: number;
  /** Most masked positions per example; a longer salient span is cut. Default: no limit. */
  maxMasks?: number;
  /** Share of wordpieces masked by the random strategies. Default 0.15. */
  maskRate?: number;
  /** Parameter of the geometric span length. Default 0.2. */
  spanP?: number;
  /** Longest random span. Default 10. */
  maxSpanLength?: number;
}

export interface MaskingStats {
  /** Sentences handed to `mask`. */
  sentences: number;
  /** Examples produced. */
  examples: number;
  /** Examples that masked a salient span. */
  salient: number;
  /** 'salient' examples that fell back to a random span (the sentence had no salient span). */
  fallback: number;
  /** Sentences without wordpieces (skipped). */
  empty: number;
  /** Sentences skipped because they are held out (maskPassage). */
  heldOut: number;
  /** Masked salient spans by type. */
  byType: Record<string, number>;
}

interface Masker {
  readonly strategy: MaskingStrategy;
  /** Counts accumulated over every call. */
  readonly stats: MaskingStats;
  /** The masked query for one sentence, or null when the sentence has no wordpieces. */
  mask(sentence: SentenceToMask, rng: Rng): MaskedExample | null;
}

/** A span length from the geometric distribution with parameter p, truncated at max (renormalised). */
export function sampleSpanLength(rng: Rng, p = 0.2, max = 10): number {
  // Inverse CDF of the truncated geometric: P(L <= l) = (1 - (1-p)^l) / (1 - (1-p)^max).
  const u = rng.next() * (1 - (1 - p) ** max);
  const l = Math.ceil(Math.log(1 - u) / Math.log(1 - p));
  return Math.min(max, Math.max(1, l));
}

/** Mean of that truncated geometric distribution (3.80 for p = 0.2, max = 10). */
export function meanSpanLength(p = 0.2, max = 10): number {
  let mass = 0;
  let mean = 0;
  for (let l = 1; l <= max; l++) {
    const w = p * (1 - p) ** (l - 1);
    mass += w;
    mean += l * w;
  }
  return mean / mass;
}

function emptyStats(): MaskingStats {
  return { sentences: 0, examples: 0, salient: 0, fallback: 0, empty: 0, heldOut: 0, byType: {} };
}

interface Resolved {
  vocabSize: number;
  maxLength: number;
  maxMasks: number;
  maskRate: number;
  spanP: number;
  maxSpanLength: number;
}

function resolve(o: MaskingOptions): Resolved {
  if (!(o.vocabSize > FIRST_WORDPIECE)) throw new RangeError(`vocabSize must be above ${FIRST_WORDPIECE}, got ${o.vocabSize}`);
  const r: Resolved = {
    vocabSize: o.vocabSize,
    maxLength: o.maxLength ?? 128,
    maxMasks: o.maxMasks ?? Infinity,
    maskRate: o.maskRate ?? 0.15,
    spanP: o.spanP ?? 0.2,
    maxSpanLength: o.maxSpanLength ?? 10,
  };
  if (r.maxLength < 3) throw new RangeError(`maxLength must leave room for [CLS] x [SEP], got ${r.maxLength}`);
  if (!(r.maxMasks >= 1)) throw new RangeError(`maxMasks must be at least 1, got ${r.maxMasks}`);
  return r;
}

/** The window [from, from + len) of n wordpieces that fits maxLength and holds [s, e) when it can. */
function window(n: number, maxPieces: number, s = 0, e = 0): number {
  if (n <= maxPieces) return 0;
  const from = s - Math.floor((maxPieces - (e - s)) / 2);
  return Math.max(0, Math.min(n - maxPieces, from));
}

/** `[CLS] ids[from..from+len) [SEP]` with the given sentence positions masked as `replace` says. */
function build(
  s: SentenceToMask,
  from: number,
  len: number,
  positions: number[],
  replace: (pos: number) => number,
): { inputIds: number[]; maskPositions: number[]; targets: number[] } {
  const inputIds = [CLS_ID, ...s.ids.slice(from, from + len), SEP_ID];
  const maskPositions: number[] = [];
  const targets: number[] = [];
  for (const p of [...new Set(positions)].filter((p) => p >= from && p < from + len).sort((a, b) => a - b)) {
    const at = p - from + 1;
    maskPositions.push(at);
    targets.push(inputIds[at]);
    inputIds[at] = replace(inputIds[at]);
  }
  return { inputIds, maskPositions, targets };
}

/** Positions of one random span of geometric length in a sentence of n wordpieces. */
function randomSpan(n: number, o: Resolved, rng: Rng): number[] {
  const len = Math.min(n, o.maxMasks, sampleSpanLength(rng, o.spanP, o.maxSpanLength));
  const start = rng.int(n - len + 1);
  return Array.from({ length: len }, (_, i) => start + i);
}

class SalientMasker implements Masker {
  readonly strategy = 'salient' as const;
  readonly stats = emptyStats();
  constructor(private readonly o: Resolved) {}

  mask(s: SentenceToMask, rng: Rng): MaskedExample | null {
    this.stats.sentences++;
    const n = s.ids.length;
    if (n === 0) {
      this.stats.empty++;
      return null;
    }
    // Wordpieces of each span: those whose offsets overlap it.
    const candidates: { span: CharSpan; first: number; last: number }[] = [];
    for (const span of s.spans) {
      let first = -1;
      let last = -1;
      s.offsets.forEach(([a, b], i) => {
        if (a < span.end && span.start < b) {
          if (first < 0) first = i;
          last = i;
        }
      });
      if (first >= 0) candidates.push({ span, first, last });
    }
    const chosen = chooseSpan(candidates, rng);
    const maxPieces = this.o.maxLength - 2;
    let positions: number[];
    let spanType: string | undefined;
    if (chosen) {
      const len = Math.min(chosen.last - chosen.first + 1, this.o.maxMasks, maxPieces);
      positions = Array.from({ length: len }, (_, i) => chosen.first + i);
      spanType = chosen.span.type;
      this.stats.salient++;
      this.stats.byType[spanType] = (this.stats.byType[spanType] ?? 0) + 1;
    } else {
      positions = randomSpan(Math.min(n, maxPieces), this.o, rng);
      this.stats.fallback++;
    }
    const from = window(n, maxPieces, positions[0], positions[positions.length - 1] + 1);
    const ex = build(s, from, Math.min(n, maxPieces), positions, () => MASK_ID);
    this.stats.examples++;
    return { ...ex, sourceDocId: s.sourceDocId, ...(spanType ? { spanType } : {}) };
  }
}

class RandomTokenMasker implements Masker {
  readonly strategy = 'random-token' as const;
  readonly stats = emptyStats();
  constructor(private readonly o: Resolved) {}

  mask(s: SentenceToMask, rng: Rng): MaskedExample | null {
    this.stats.sentences++;
    const len = Math.min(s.ids.length, this.o.maxLength - 2);
    if (len === 0) {
      this.stats.empty++;
      return null;
    }
    const count = Math.min(this.o.maxMasks, Math.max(1, Math.round(len * this.o.maskRate)));
    // A uniformly random subset of `count` positions (partial Fisher-Yates).
    const order = Array.from({ length: len }, (_, i) => i);
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(len - i);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const positions = order.slice(0, count).sort((a, b) => a - b);
    const replace = (id: number) => {
      const r = rng.next();
      if (r < 0.8) return MASK_ID;
      if (r < 0.9) return FIRST_WORDPIECE + rng.int(this.o.vocabSize - FIRST_WORDPIECE);
      return id;
    };
    const ex = build(s, 0, len, positions, replace);
    this.stats.examples++;
    return { ...ex, sourceDocId: s.sourceDocId };
  }
}

class RandomSpanMasker implements Masker {
  readonly strategy = 'random-span' as const;
  readonly stats = emptyStats();
  constructor(private readonly o: Resolved) {}

  mask(s: SentenceToMask, rng: Rng): MaskedExample | null {
    this.stats.sentences++;
    const len = Math.min(s.ids.length, this.o.maxLength - 2);
    if (len === 0) {
      this.stats.empty++;
      return null;
    }
    const budget = Math.min(this.o.maxMasks, Math.max(1, Math.round(len * this.o.maskRate)));
    const masked = new Set<number>();
    // Spans at uniform starts, skipping ones that would touch a masked position, until the budget is
    // spent; the last span may overshoot it (as in SpanBERT), but never maxMasks.
    for (let tries = 0; masked.size < budget && tries < 100; tries++) {
      const l = Math.min(len, sampleSpanLength(rng, this.o.spanP, this.o.maxSpanLength));
      const start = rng.int(len - l + 1);
      let clash = false;
      for (let i = start - 1; i <= start + l; i++) if (masked.has(i)) clash = true;
      if (clash || masked.size + l > this.o.maxMasks) continue;
      for (let i = start; i < start + l; i++) masked.add(i);
    }
    if (masked.size === 0) masked.add(rng.int(len));
    const ex = build(s, 0, len, [...masked], () => MASK_ID);
    this.stats.examples++;
    return { ...ex, sourceDocId: s.sourceDocId };
  }
}

export function createMasker(strategy: MaskingStrategy, options: MaskingOptions): Masker {
  const o = resolve(options);
  switch (strategy) {
    case 'salient':
      return new SalientMasker(o);
    case 'random-token':
      return new RandomTokenMasker(o);
    case 'random-span':
      return new RandomSpanMasker(o);
    default:
      throw new RangeError(`unknown masking strategy "${strategy as string}"; use one of ${MASKING_STRATEGIES.join(', ')}`);
  }
}

/** A passage to draw queries from: its text and salient spans in character offsets of the text. */
interface PassageToMask {
  id: string;
  text: string;
  spans?: readonly CharSpan[];
}

/**
 * One masked query per sentence of a passage (REALM: the sentence is the query x), skipping the
 * sentences whose `heldOutKey(passage.id, sentence.start)` is in `heldOut` (the cloze set). With
 * `spansPerSentence` n > 1 a sentence with several salient spans gives up to n queries, each masking
 * one of them (distinct spans, in seeded random order); a sentence with one span or none still gives
 * one. Only the salient masker reads spans, so the other strategies ignore n.
 */
export function maskPassage(
  passage: PassageToMask,
  tokenizer: WordPieceTokenizer,
  masker: Masker,
  rng: Rng,
  heldOut: ReadonlySet<string> = new Set(),
  spansPerSentence = 1,
): MaskedExample[] {
  const out: MaskedExample[] = [];
  let sentence = -1; // counts the non-empty sentences, as tokenizePassage keeps them
  for (const sent of splitSentences(passage.text)) {
    const { ids, offsets } = tokenizer.encodeWithOffsets(passage.text.slice(sent.start, sent.end));
    if (ids.length > 0) sentence++;
    if (heldOut.has(heldOutKey(passage.id, sent.start))) {
      masker.stats.heldOut++;
      continue;
    }
    const spans = (passage.spans ?? []).filter((sp) => sp.start >= sent.start && sp.end <= sent.end);
    const shifted = offsets.map(([a, b]): [number, number] => [a + sent.start, b + sent.start]);
    // Each offer is the span list one query is masked from: all spans (the masker picks one), or one span each.
    const offers =
      masker.strategy === 'salient' && spansPerSentence > 1
        ? distinctSpans(spans, rng, spansPerSentence).map((sp) => [sp])
        : [spans];
    for (const offer of offers.length > 0 ? offers : [[]]) {
      const ex = masker.mask({ ids, offsets: shifted, spans: offer, sourceDocId: passage.id }, rng);
      if (ex) out.push({ ...ex, sourceSentence: sentence });
    }
  }
  return out;
}

/** Up to `n` of `spans` with distinct [start, end), in seeded random order. */
function distinctSpans(spans: readonly CharSpan[], rng: Rng, n: number): CharSpan[] {
  const seen = new Set<string>();
  const unique = spans.filter((sp) => {
    const key = `${sp.start}:${sp.end}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  for (let i = unique.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [unique[i], unique[j]] = [unique[j], unique[i]];
  }
  return unique.slice(0, n);
}
