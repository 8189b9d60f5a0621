// Salient spans (REALM.md, bias 1): named entities (people, places, organisations) and dates, with
// character offsets. Entities come from compromise (a rule-and-lexicon NLP library that runs in the
// browser); dates from compromise-dates plus our own regex for years and full dates, which also gives
// clean boundaries ("in 1789." -> "1789").
import nlp from 'compromise';
import datesPlugin from 'compromise-dates';
import { splitSentences, type SentenceSpan } from './blocks';
import type { Rng } from './rng';

nlp.plugin(datesPlugin as unknown as Parameters<typeof nlp.plugin>[0]);

export type SpanType = 'person' | 'place' | 'organization' | 'date';
export const SPAN_TYPES: readonly SpanType[] = ['person', 'place', 'organization', 'date'];

export interface SalientSpan {
  start: number;
  end: number;
  type: SpanType;
  text: string;
}

const MONTH = '(?:January|February|March|April|May|June|July|August|September|October|November|December)';
const DATE_PATTERNS: RegExp[] = [
  new RegExp(`\\b\\d{1,2} ${MONTH},? \\d{3,4}\\b`, 'g'), // 14 July 1789
  new RegExp(`\\b${MONTH} \\d{1,2}, \\d{3,4}\\b`, 'g'), // July 14, 1789
  new RegExp(`\\b${MONTH} \\d{3,4}\\b`, 'g'), // July 1789
  /\b\d{1,2}(?:st|nd|rd|th) century\b/g, // 18th century
  /\b(?:1[0-9]{3}|20[0-9]{2})s?\b/g, // 1789, 1960s
];
const LEADING = /^(?:(?:on|in|at|by|since|from|until|till|during|about|around|circa|the|of)\s+)+/i;
const TRAILING = /[\s.,;:!?'"()[\]]+$|'s$/;

interface Candidate extends SalientSpan {
  priority: number;
}

/** Shrinks [start, end) past leading prepositions and trailing punctuation. */
function clean(text: string, start: number, end: number, type: SpanType, priority: number): Candidate | null {
  let s = text.slice(start, end);
  const lead = LEADING.exec(s)?.[0].length ?? 0;
  start += lead;
  s = s.slice(lead);
  for (let m = TRAILING.exec(s); m && s.length > 0; m = TRAILING.exec(s)) {
    s = s.slice(0, m.index);
  }
  while (s && /^[\s"'(]/.test(s)) {
    s = s.slice(1);
    start++;
  }
  if (!/[A-Za-z0-9]/.test(s)) return null;
  return { start, end: start + s.length, type, text: s, priority };
}

interface CompromiseMatch {
  text: string;
  offset?: { start: number; length: number };
}

function fromCompromise(text: string, matches: CompromiseMatch[], type: SpanType, priority: number, out: Candidate[]): void {
  for (const m of matches) {
    if (!m.offset) continue;
    const start = m.offset.start;
    const raw = text.slice(start, start + m.offset.length);
    // "Ajaccio, Corsica" -> two places.
    const parts = type === 'place' ? raw.split(/,\s*/) : [raw];
    let at = start;
    for (const p of parts) {
      const i = text.indexOf(p, at);
      const c = clean(text, i, i + p.length, type, priority);
      if (c) out.push(c);
      at = i + p.length;
    }
  }
}

/** Named entities and dates of `text`, sorted by start, non-overlapping. */
export function tagSalientSpans(text: string): SalientSpan[] {
  const cands: Candidate[] = [];
  for (const re of DATE_PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) cands.push({ start: m.index, end: m.index + m[0].length, type: 'date', text: m[0], priority: 0 });
  }
  const doc = nlp(text);
  const opts = { offset: true };
  fromCompromise(text, doc.people().json(opts) as CompromiseMatch[], 'person', 1, cands);
  fromCompromise(text, doc.organizations().json(opts) as CompromiseMatch[], 'organization', 2, cands);
  fromCompromise(text, doc.places().json(opts) as CompromiseMatch[], 'place', 3, cands);
  const dates = (doc as unknown as { dates(): { json(o: object): CompromiseMatch[] } }).dates();
  fromCompromise(text, dates.json(opts), 'date', 4, cands);
  // Higher priority first, then earlier, then longer; keep what does not overlap what is kept.
  cands.sort((a, b) => a.priority - b.priority || a.start - b.start || b.end - a.end);
  const kept: SalientSpan[] = [];
  for (const c of cands) {
    if (kept.some((k) => c.start < k.end && k.start < c.end)) continue;
    kept.push({ start: c.start, end: c.end, type: c.type, text: c.text });
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** Each sentence of `text` with the salient spans inside it. */
export function spansBySentence(text: string, spans: SalientSpan[]): { sentence: SentenceSpan; spans: SalientSpan[] }[] {
  return splitSentences(text).map((sentence) => ({
    sentence,
    spans: spans.filter((s) => s.start >= sentence.start && s.end <= sentence.end),
  }));
}

/** REALM masks one salient span per sentence: pick one uniformly (null when the sentence has none). */
export function chooseSpan<T>(spans: readonly T[], rng: Rng): T | null {
  return spans.length === 0 ? null : spans[rng.int(spans.length)];
}
