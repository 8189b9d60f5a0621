// What a corpus folder says about its passages beyond the passages themselves: the held-out cloze
// items (one masked salient span of one sentence, in a hash-chosen share of passages), the
// statistics of its manifest, and the share of cloze answers that another passage holds.
// Shared by `npm run build:corpus` (the bundled corpora) and `npm run import` (a user's file).
// Pure: the caller gives the hash that picks passages (scripts use SHA-1 from node:crypto).
import { splitSentences } from './blocks';
import type { ClozeItem, CorpusStats } from './corpus-format';
import type { Rng } from './rng';
import { chooseSpan, SPAN_TYPES, type SpanType } from './salient';

/** A salient span in character offsets of its passage's text. */
interface Span {
  start: number;
  end: number;
  type: string;
}

const round = (x: number, digits = 4) => Number(x.toFixed(digits));

/** A span of a sentence, in offsets of the sentence, with its text. */
export interface SentenceSpan {
  start: number;
  end: number;
  text: string;
  type: SpanType;
}

/**
 * Held-out cloze items: for each passage whose `unitHash("cloze:" + id)` is below `share`, one
 * sentence holding a salient span (chosen with `rng`) and one span of it masked. With `keep`, only
 * the spans it accepts (passage index, the sentence, the span in the sentence's offsets) are offered.
 */
export function selectClozeItems(
  passages: readonly { id: string; text: string }[],
  spans: readonly (readonly Span[])[],
  opts: {
    share: number;
    rng: Rng;
    unitHash: (s: string) => number;
    keep?: (passage: number, sentence: string, span: SentenceSpan) => boolean;
  },
): ClozeItem[] {
  const cloze: ClozeItem[] = [];
  passages.forEach((p, i) => {
    if (opts.unitHash(`cloze:${p.id}`) >= opts.share) return;
    const withSpans = splitSentences(p.text)
      .map((sent) => {
        const sentence = p.text.slice(sent.start, sent.end);
        const inside = spans[i].filter((s) => s.start >= sent.start && s.end <= sent.end);
        const kept = opts.keep
          ? inside.filter((s) =>
              opts.keep!(i, sentence, {
                start: s.start - sent.start,
                end: s.end - sent.start,
                text: p.text.slice(s.start, s.end),
                type: s.type as SpanType,
              }),
            )
          : inside;
        return { sent, spans: kept };
      })
      .filter((x) => x.spans.length > 0);
    const pickSent = chooseSpan(withSpans, opts.rng);
    if (!pickSent) return;
    const span = chooseSpan(pickSent.spans, opts.rng)!;
    const { sent } = pickSent;
    const sentence = p.text.slice(sent.start, sent.end);
    cloze.push({
      sentence,
      masked: sentence.slice(0, span.start - sent.start) + '[MASK]' + sentence.slice(span.end - sent.start),
      answer: p.text.slice(span.start, span.end),
      type: span.type as SpanType,
      sourceId: p.id,
      start: span.start,
      end: span.end,
      sentenceStart: sent.start,
      sentenceEnd: sent.end,
    });
  });
  return cloze;
}

/** True when `needle` (lower-case) occurs in `hay` (lower-case) with no letter or digit on either side. */
export function containsWord(hay: string, needle: string): boolean {
  if (!needle) return false;
  for (let i = hay.indexOf(needle); i >= 0; i = hay.indexOf(needle, i + 1)) {
    const before = i === 0 ? '' : hay[i - 1];
    const after = hay[i + needle.length] ?? '';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return true;
  }
  return false;
}

/** Share of cloze items whose answer appears (case-insensitive, word-bounded) in ANOTHER passage (title or text); 0 with no items. */
export function answerableRate(
  passages: readonly { id: string; title: string; text: string }[],
  cloze: readonly Pick<ClozeItem, 'answer' | 'sourceId'>[],
): number {
  const lower = passages.map((p) => `${p.title}\n${p.text}`.toLowerCase());
  const index = new Map(passages.map((p, i) => [p.id, i]));
  let answerable = 0;
  for (const c of cloze) {
    const own = index.get(c.sourceId) ?? -1;
    const a = c.answer.toLowerCase();
    if (lower.some((h, i) => i !== own && containsWord(h, a))) answerable++;
  }
  return round(cloze.length ? answerable / cloze.length : 0);
}

/** The manifest's statistics; `tokensOf(i)` is the length of passage i's `[CLS] title [SEP] text [SEP]`. */
export function corpusStats(
  passages: readonly { text: string; source: string }[],
  spans: readonly (readonly Span[])[],
  tokensOf: (i: number) => number,
): CorpusStats {
  const byType = Object.fromEntries(SPAN_TYPES.map((t) => [t, 0])) as Record<SpanType, number>;
  const sources: Record<string, number> = {};
  let tokens = 0;
  let sentences = 0;
  let bare = 0;
  passages.forEach((p, i) => {
    tokens += tokensOf(i);
    sources[p.source] = (sources[p.source] ?? 0) + 1;
    for (const s of spans[i]) if (s.type in byType) byType[s.type as SpanType]++;
    for (const sent of splitSentences(p.text)) {
      sentences++;
      if (!spans[i].some((s) => s.start >= sent.start && s.end <= sent.end)) bare++;
    }
  });
  return {
    passages: passages.length,
    tokens,
    sentences,
    spans: byType,
    spansPerPassage: Object.fromEntries(
      SPAN_TYPES.map((t) => [t, passages.length ? round(byType[t] / passages.length, 3) : 0]),
    ) as Record<SpanType, number>,
    fallbackRate: sentences ? round(bare / sentences) : 0,
    sources,
  };
}
