// Salient spans (docs/realm.md, bias 1): named entities (people, places, organisations) and dates, with
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

/**
 * Names whose type a corpus knows better than the tagger (a gazetteer: WordNet's class of an instance,
 * countries-list's countries), exact and case-sensitive; `null` marks a name that is no salient span
 * (a battle, a book, a language) and keeps the tagger from typing a part of it. A Map fits.
 */
export interface KnownNames {
  get(name: string): SpanType | null | undefined;
}

/** Longest known name, in words (tokens of letters and digits). */
const MAX_KNOWN_WORDS = 12;

const MONTH = '(?:January|February|March|April|May|June|July|August|September|October|November|December)';
const ERA = '(?: BC| AD| B\\.C\\.| A\\.D\\.)';
const DATE_PATTERNS: RegExp[] = [
  new RegExp(`\\b\\d{1,2} ${MONTH},? \\d{3,4}\\b`, 'g'), // 14 July 1789
  new RegExp(`\\b${MONTH} \\d{1,2}, \\d{3,4}\\b`, 'g'), // July 14, 1789
  new RegExp(`\\b${MONTH} \\d{3,4}\\b`, 'g'), // July 1789
  new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)(?: and \\d{1,2}(?:st|nd|rd|th))? centur(?:y|ies)${ERA}?(?![\\w])`, 'g'), // 18th century, 6th century BC
  new RegExp(`\\b\\d{1,4}${ERA}(?![\\w])`, 'g'), // 478 BC
  /(?<![+\d.,])\b(?:1[0-9]{3}|20[0-9]{2})s?\b(?![.,]\d)/g, // 1789, 1960s (not +1345, not 1,500)
  /(?<=\b(?:in|since|until|around|circa|about|year) )\d{3}\b(?=[.,;)]|\s+(?:and|to|when|which|after|before|during)\b|$)/g, // in 622
];
const LEADING = /^(?:(?:on|in|at|by|since|from|until|till|during|about|around|circa|the|of)\s+)+/i;
const TRAILING = /[\s.,;:!?'"()[\]]+$|'s$/;
// Lower-case words that may sit inside a name: "Strait of Magellan", "Tierra del Fuego", "von Rundstedt".
const CONNECTORS = new Set([
  'of',
  'de',
  'del',
  'della',
  'da',
  'di',
  'du',
  'des',
  'la',
  'le',
  'von',
  'van',
  'der',
  'den',
  'y',
  'al',
  'el',
  'bin',
  'ibn',
]);
// Heads that decide the type of a name whatever the tagger said.
const PLACE_HEADS = new Set([
  'River',
  'Lake',
  'Sea',
  'Ocean',
  'Bay',
  'Gulf',
  'Mountains',
  'Mountain',
  'Range',
  'Valley',
  'Island',
  'Islands',
  'Isles',
  'Peninsula',
  'Land',
  'Desert',
  'Falls',
  'Strait',
  'Straits',
  'Canal',
  'Zone',
  'Coast',
  'City',
  'County',
  'Province',
  'State',
  'Republic',
  'Kingdom',
  'Empire',
  'Hills',
  'Plain',
  'Plains',
  'Plateau',
  'Basin',
  'Channel',
  'Sound',
  'Harbor',
  'Harbour',
  'Park',
  'Forest',
  'Glacier',
  'Cape',
  'Mount',
  'Peak',
  'Volcano',
  'Archipelago',
  'Territory',
  'Region',
  'Firth',
  'Loch',
  'Wall',
  'Bridge',
  'Tower',
  'Castle',
  'Palace',
  'Cathedral',
  'Abbey',
  'Square',
  'Street',
  'Road',
  'Way',
]);
const PLACE_FIRST = new Set([
  'Lake',
  'Mount',
  'Cape',
  'Gulf',
  'Strait',
  'Bay',
  'Isle',
  'Fort',
  'Port',
  'Lac',
  'Rio',
  'Sierra',
  'Firth',
  'Loch',
]);
// "Stratford-on-Avon", "Kingston-upon-Hull", "Boulogne-sur-Mer", "Frankfurt am Main" are towns.
const PLACE_JOINS = /[-\s](?:on|upon|sur|am|en|under)[-\s]\p{Lu}/u;
const ORG_HEADS = new Set([
  'University',
  'Army',
  'Party',
  'Company',
  'Church',
  'Society',
  'Bank',
  'Corporation',
  'Organization',
  'Organisation',
  'League',
  'Institute',
  'Navy',
  'College',
  'Council',
  'Group',
  'Front',
  'Brigade',
  'Movement',
  'Association',
  'Armada',
  'Academy',
  'Congress',
  'Parliament',
  'Senate',
  'Court',
  'Agency',
  'Commission',
  'Committee',
  'Federation',
  'Foundation',
  'Inc',
  'Corp',
  'Ltd',
  'Museum',
  'Library',
  'Orchestra',
  'Order',
  'Brotherhood',
  'Legion',
  'Guard',
  'Force',
  'Forces',
]);
// Titles: "King of England" is not a name; "King Arthur" is a person.
const TITLES = new Set([
  'King',
  'Queen',
  'Prince',
  'Princess',
  'Duke',
  'Emperor',
  'Empress',
  'President',
  'Pope',
  'Bishop',
  'Saint',
  'Sir',
  'Lord',
  'Lady',
  'General',
  'Chancellor',
  'Governor',
  'Elector',
  'Czar',
  'Tsar',
  'Sultan',
  'Caliph',
  'Archbishop',
  'Earl',
  'Count',
]);
// Capitalised words that start sentences or name things that are not salient spans.
const STOP = new Set([
  'A',
  'An',
  'The',
  'In',
  'On',
  'At',
  'By',
  'For',
  'From',
  'With',
  'To',
  'Of',
  'As',
  'If',
  'But',
  'And',
  'Or',
  'It',
  'Its',
  'He',
  'She',
  'His',
  'Her',
  'They',
  'Their',
  'This',
  'These',
  'That',
  'Those',
  'There',
  'Here',
  'When',
  'Where',
  'Who',
  'What',
  'Which',
  'Why',
  'How',
  'After',
  'Before',
  'During',
  'Since',
  'Until',
  'While',
  'Although',
  'Though',
  'However',
  'People',
  'Examples',
  'Countries',
  'Money',
  'Located',
  'Also',
  'Some',
  'Many',
  'Most',
  'All',
  'One',
  'Two',
  'Both',
  'Each',
  'Every',
  'Other',
  'Such',
  'No',
  'Not',
  'Our',
  'We',
  'You',
  'Your',
  'My',
  'I',
  'Is',
  'Was',
  'Are',
  'Were',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
  'Today',
  'Yesterday',
  'Tomorrow',
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
  'God',
  'Christ',
  'Mr',
  'Mrs',
  'Dr',
  'St',
  'Examples',
  'Its',
]);
// Adjectives of nationality, religion or language stand alone in no name ("an English writer"), but
// may start one whose head says what it is ("Spanish Armada", "English Channel").
const DEMONYM =
  /^(?:[A-Z][\p{L}]*(?:ish|ian|ians|ican|icans|ese|ist|ists|ic|ans|ch)|Greek|Latin|Roman|Thai|Arab|Dutch|Swiss|Celtic|Jewish|Muslim|Catholic|Protestant|Christian|Marxist|Revolutionary|German|Germans|Norman|Normans|European|Europeans|Korean|Koreans|Chilean|Cuban|Tibetan|Moroccan|Afghan|Israeli|Iraqi|Saudi|Pakistani)$/u;
// Heads of names that are not people, places, organisations or dates (events, works, currencies, eras).
const NOT_SALIENT_HEADS = new Set([
  'War',
  'Wars',
  'Revolution',
  'Reformation',
  'Renaissance',
  'Convention',
  'Treaty',
  'Address',
  'Commandments',
  'Bible',
  'Testament',
  'Gospel',
  'Age',
  'Ages',
  'Era',
  'Period',
  'Epoch',
  'Shilling',
  'Pound',
  'Lek',
  'Taka',
  'Dollar',
  'Euro',
  'Franc',
  'Peso',
  'Rupee',
  'Rupiah',
  'Dinar',
  'Dirham',
  'Krona',
  'Krone',
  'Yen',
  'Yuan',
  'Lira',
  'Ruble',
  'Rouble',
  'Rand',
  'Real',
  'Won',
  'Riyal',
  'Rial',
  'Afghani',
  'Kwacha',
  'Cedi',
  'Naira',
  'Dong',
  'Baht',
  'Ringgit',
  'Zloty',
  'Forint',
  'Koruna',
  'Manat',
  'Som',
  'Lari',
  'Dram',
  'Leu',
  'Lev',
  'Hryvnia',
  'Kuna',
  'Mark',
  'Doctrine',
  'Act',
  'Plan',
  'Day',
]);
const NOT_SALIENT_FIRST = new Set(['Battle', 'Siege', 'Treaty', 'Battle of', 'War']);
const PERSON_VERBS =
  /^\s+(?:was born|died|lived|wrote|painted|composed|married|ruled|reigned|invented|discovered|founded|led|won|fought|became|succeeded|was the (?:son|daughter|wife|husband|father|mother))\b/;
const PLACE_PREPOSITIONS = /\b(?:in|from|to|into|near|at|through|across|off|toward|towards|of|on|between|and|Ocean|Sea) $/;
const CAP_WORD = /^(?:[A-Z][\p{L}'’]*(?:-[\p{L}'’]+)*\.?|[A-Z]\.|(?:al|el)-[A-Z][\p{L}'’]*|[IVX]+)$/u;

interface Candidate extends SalientSpan {
  priority: number;
  /** Typed by the corpus's known names. */
  known?: boolean;
  /** A known name that is no salient span: it only keeps other candidates off its words. */
  drop?: boolean;
  /** Typed by default, not by evidence: may take the type of the span it is an alias or list item of. */
  weak?: boolean;
}

/** Events, works, currencies and eras, which are not salient spans here. */
function notSalient(name: string): boolean {
  const words = name.replace(/\.$/, '').split(/\s+/);
  return NOT_SALIENT_HEADS.has(words[words.length - 1]) || (words.length > 1 && NOT_SALIENT_FIRST.has(words[0]));
}

/** The type a name's head or first word forces, if any. */
function headType(name: string): SpanType | null {
  if (notSalient(name)) return null;
  const words = name.split(/\s+/);
  const last = words[words.length - 1].replace(/\.$/, '');
  if (ORG_HEADS.has(last)) return 'organization';
  if (PLACE_HEADS.has(last) || (words.length > 1 && PLACE_FIRST.has(words[0])) || PLACE_JOINS.test(name)) return 'place';
  return null;
}

/** Shrinks [start, end) past leading prepositions, trailing punctuation and, for names, lower-case edge words. */
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
  if (type !== 'date') {
    // "western Germany" -> "Germany", "Missouri river" -> "Missouri", "site of Cambridge" -> "Cambridge".
    for (let m = /^([a-z][\p{L}-]*)\s+/u.exec(s); m; m = /^([a-z][\p{L}-]*)\s+/u.exec(s)) {
      if (CONNECTORS.has(m[1]) && /^(?:von|van|al|el|bin|ibn|de|da|di|du|la|le)$/.test(m[1]) && /^\S+\s+[A-Z]/.test(s)) break;
      s = s.slice(m[0].length);
      start += m[0].length;
    }
    let m: RegExpExecArray | null;
    while ((m = /\s+([a-z][\p{L}-]*)$/u.exec(s))) s = s.slice(0, m.index);
    if (!/^[\p{Lu}\p{N}]|^(?:von|van|al|el|de|da|di|du|la|le)\s/u.test(s)) return null;
  } else if (!/\d/.test(s) && !new RegExp(MONTH).test(s)) {
    return null; // compromise-dates also tags "before", "central Europe": keep dates with a number or a month
  } else if (/\b(?:second|minute|hour|day|week|month|year)s?\b/.test(s) && !/\d{3}/.test(s)) {
    return null; // a duration ("every 65 minutes", "13 years"), not a date
  }
  if (!/[A-Za-z0-9]/.test(s)) return null;
  // "English", and "North American" (a demonym last, no telling head), are adjectives, not names.
  if (type !== 'date' && (notSalient(s) || DEMONYM.test(s) || (DEMONYM.test(s.split(/\s+/).pop()!) && !headType(s)))) return null;
  return { start, end: start + s.length, type: (type !== 'date' && headType(s)) || type, text: s, priority };
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

/**
 * Runs of capitalised words ("Strait of Magellan", "Wagga Wagga", "Strindberg") that compromise missed
 * or cut short, typed by their head word, a title, the verb after them or the preposition before them.
 */
function capitalisedRuns(text: string, priority: number): Candidate[] {
  const out: Candidate[] = [];
  const tokens = [...text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}'’.-]*/gu)].map((m) => {
    let w = m[0];
    while (/[.'’-]$/.test(w) && !/^(?:[A-Z]|St|Mt|Ft|Jr|Sr|Dr)\.$/.test(w)) w = w.slice(0, -1);
    return { w, start: m.index!, end: m.index! + w.length };
  });
  const sentenceStart = (i: number) =>
    i === 0 ||
    (/[.!?]["')]?\s+$/.test(text.slice(tokens[i - 1].end, tokens[i].start + 0) + ' ') &&
      /[.!?]/.test(text.slice(tokens[i - 1].end, tokens[i].start)));
  let i = 0;
  while (i < tokens.length) {
    const isCap = (k: number): boolean =>
      k < tokens.length &&
      CAP_WORD.test(tokens[k].w) &&
      (!STOP.has(tokens[k].w.replace(/\.$/, '')) || (tokens[k].w === 'I' && k > i && CAP_WORD.test(tokens[k - 1].w)));
    const adjacent = (a: number, b: number) => /^[ ]$/.test(text.slice(tokens[a].end, tokens[b].start));
    if (!isCap(i) || /^[IVX]+$/.test(tokens[i].w)) {
      i++;
      continue;
    }
    let j = i;
    for (;;) {
      if (isCap(j + 1) && adjacent(j, j + 1)) j++;
      else if (
        j + 2 < tokens.length &&
        CONNECTORS.has(tokens[j + 1].w) &&
        adjacent(j, j + 1) &&
        adjacent(j + 1, j + 2) &&
        isCap(j + 2) &&
        !TITLES.has(tokens[i].w)
      )
        j += 2;
      else if (
        j + 3 < tokens.length &&
        tokens[j + 1].w === 'of' &&
        tokens[j + 2].w === 'the' &&
        adjacent(j, j + 1) &&
        adjacent(j + 2, j + 3) &&
        isCap(j + 3) &&
        !TITLES.has(tokens[i].w)
      )
        j += 3;
      else break;
    }
    const first = tokens[i];
    // "Italy's major ports": the possessive is no part of the name.
    const last = { ...tokens[j], end: tokens[j].end - (/['’]s$/.test(tokens[j].w) ? 2 : 0) };
    const name = text.slice(first.start, last.end);
    const words = j - i + 1;
    i = j + 1;
    if (
      words === 1 &&
      (TITLES.has(first.w) ||
        DEMONYM.test(name) ||
        /^[A-Z]{2,4}$/.test(name) ||
        (/-/.test(name) && name.split('-').every((p) => DEMONYM.test(p))))
    )
      continue;
    if (notSalient(name)) continue;
    if (DEMONYM.test(first.w) && !headType(name)) continue; // "American Revolutionary", but keep "Spanish Armada"
    if (words > 1 && DEMONYM.test(last.w) && !headType(name)) continue; // "North American", "South African"
    const after0 = text.slice(last.end, last.end + 20);
    if (/^\s+(?:is|are|was|were) spoken\b/.test(after0)) continue; // a language
    let type = headType(name);
    const after = text.slice(last.end, last.end + 40);
    const before = text.slice(Math.max(0, first.start - 12), first.start);
    if (!type && (TITLES.has(first.w) || PERSON_VERBS.test(after))) type = 'person';
    if (!type && PLACE_PREPOSITIONS.test(before) && !sentenceStart(tokens.indexOf(first))) type = 'place';
    if (!type && /^\s+was\b/.test(after)) type = 'person';
    // Otherwise: two or three plain capitalised words look like a person's name, one word like a place.
    if (!type) type = words >= 2 && words <= 3 && !/ (?:of|de|del|da|la|le|y) /.test(name) ? 'person' : 'place';
    out.push({ start: first.start, end: last.end, type, text: name, priority, weak: !headType(name) });
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A word glued to the name at `start` or `end` ("Stratford-on-Avon", "Avon-on-Sea"): no name ends there. */
function glued(text: string, start: number, end: number): boolean {
  return (
    /[\p{L}\p{N}][-'’]$/u.test(text.slice(Math.max(0, start - 2), start)) ||
    /^(?:-[\p{L}\p{N}]|['’](?!s\b)[\p{L}])/u.test(text.slice(end, end + 2))
  );
}

/** Known names in `text`: from each capitalised word, the longest run of words that is a known name. */
function knownCandidates(text: string, known: KnownNames): Candidate[] {
  const tokens = [...text.matchAll(/[\p{L}\p{N}]+/gu)].map((m) => ({ w: m[0], start: m.index!, end: m.index! + m[0].length }));
  const out: Candidate[] = [];
  let i = 0;
  while (i < tokens.length) {
    if (!/^[\p{Lu}\p{N}]/u.test(tokens[i].w)) {
      i++;
      continue;
    }
    let found = -1;
    let type: SpanType | null | undefined;
    for (let j = Math.min(tokens.length, i + MAX_KNOWN_WORDS) - 1; j >= i && found < 0; j--) {
      if (j === i && STOP.has(tokens[i].w)) break;
      type = known.get(text.slice(tokens[i].start, tokens[j].end));
      if (type !== undefined && !glued(text, tokens[i].start, tokens[j].end)) found = j;
    }
    // A known name that runs on into more capitalised words is part of a longer name or an adjective
    // ("North" in "North American", "New York" in "New York Times"): the tagger decides.
    const next = tokens[found + 1];
    if (found >= 0 && next && text.slice(tokens[found].end, next.start) === ' ' && /^\p{Lu}/u.test(next.w) && !STOP.has(next.w))
      found = -1;
    if (found < 0) {
      i++;
      continue;
    }
    const [start, end] = [tokens[i].start, tokens[found].end];
    out.push({ start, end, type: type ?? 'place', text: text.slice(start, end), priority: -1, known: true, drop: type === null });
    i = found + 1;
  }
  return out;
}

// The class noun after "X is a ..." / "X was the ..." says what X is, whatever the tagger guessed:
// "Avon is a river in central England", "Lille was the medieval capital of Flanders".
const PLACE_NOUNS =
  'river|stream|tributary|city|town|village|port|seaport|capital|country|nation|state|republic|kingdom|principality|region|province|county|district|department|canton|commune|island|islands|archipelago|peninsula|mountain|mountains|peak|range|volcano|hill|hills|lake|sea|ocean|bay|gulf|strait|channel|canal|waterfall|falls|valley|desert|plain|plateau|coast|continent|territory|area|municipality|borough|suburb|resort|site|estuary|forest|glacier|colony|emirate';
const PERSON_NOUNS =
  'writer|poet|novelist|dramatist|playwright|painter|sculptor|artist|composer|musician|singer|actor|actress|dancer|philosopher|scientist|physicist|chemist|mathematician|astronomer|biologist|economist|historian|theologian|statesman|stateswoman|politician|president|king|queen|emperor|empress|pope|saint|general|admiral|soldier|leader|ruler|explorer|navigator|inventor|architect|engineer|reformer|prophet|apostle|god|goddess|hero|heroine|son|daughter|wife|husband|father|mother|brother|sister|man|woman|prince|princess|duke|pharaoh|disciple|missionary|monk|bishop|lawyer|jurist|journalist|critic|educator|psychologist|physician|surgeon|filmmaker|aviator|astronaut|athlete|player|comedian|industrialist|financier|businessman|philanthropist|activist|conductor|pianist|violinist|tenor|soprano';
const ORG_NOUNS =
  'company|corporation|firm|university|college|party|organization|organisation|group|army|navy|agency|church|society|league|federation|association|institute|foundation|band|team|club|bank|council|parliament|movement|faction|alliance';
const CLASS_CUE = new RegExp(
  `^\\s+(?:is|was|are|were)\\s+(?:(?:a|an|the|one of the|once a|formerly a|now a)\\s+)?(?:(?!of\\b|in\\b|on\\b|at\\b|and\\b)[a-z][\\p{L}-]*\\s+){0,4}?(?:(${PLACE_NOUNS})|(${PERSON_NOUNS})|(${ORG_NOUNS}))\\b`,
  'u',
);

/** The type the class noun after a sentence's subject gives it, or null. */
function classCueType(after: string): SpanType | null {
  const m = CLASS_CUE.exec(after);
  if (!m) return null;
  return m[1] ? 'place' : m[2] ? 'person' : 'organization';
}

/**
 * Named entities and dates of `text`, sorted by start, non-overlapping. With `known` names (the bundled
 * corpus's gazetteer), a known name is one span of its known type, unless a longer name holds it
 * ("Paris" in "Paris University"); without, spans come from compromise, dates and the heuristics here.
 */
export function tagSalientSpans(text: string, known?: KnownNames): SalientSpan[] {
  const cands: Candidate[] = [];
  for (const re of DATE_PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text))
      cands.push({ start: m.index, end: m.index + m[0].length, type: 'date', text: m[0], priority: 0 });
  }
  const doc = nlp(text);
  const opts = { offset: true };
  const entities: Candidate[] = [];
  fromCompromise(text, doc.people().json(opts) as CompromiseMatch[], 'person', 1, entities);
  fromCompromise(text, doc.organizations().json(opts) as CompromiseMatch[], 'organization', 2, entities);
  fromCompromise(text, doc.places().json(opts) as CompromiseMatch[], 'place', 3, entities);
  // A capitalised run that holds a compromise entity and more ("Garcia" in "Garcia Lorca") replaces it.
  const runs = capitalisedRuns(text, 5);
  for (const run of runs) {
    const inside = entities.filter((e) => e.start >= run.start && e.end <= run.end);
    if (inside.length === 0) continue;
    if (inside.some((e) => e.start === run.start && e.end === run.end)) continue;
    const grown = { ...run, type: headType(run.text) ?? inside[0].type, priority: inside[0].priority };
    for (const e of inside) entities.splice(entities.indexOf(e), 1);
    entities.push(grown);
  }
  if (known) {
    // A known name inside a longer name whose head says what it is ("Paris" in "Paris University") yields to it.
    const longer = [...entities, ...runs].filter((e) => headType(e.text));
    for (const k of knownCandidates(text, known))
      if (!longer.some((e) => e.start <= k.start && k.end <= e.end && e.end - e.start > k.end - k.start)) cands.push(k);
  }
  cands.push(...entities, ...runs);
  const dates = (doc as unknown as { dates(): { json(o: object): CompromiseMatch[] } }).dates();
  fromCompromise(text, dates.json(opts), 'date', 4, cands);
  // Higher priority first, then earlier, then longer; keep what does not overlap what is kept.
  cands.sort((a, b) => a.priority - b.priority || a.start - b.start || b.end - a.end);
  const kept: Candidate[] = [];
  for (const c of cands) {
    if (kept.some((k) => c.start < k.end && k.start < c.end)) continue;
    kept.push(c);
  }
  kept.sort((a, b) => a.start - b.start);
  for (const sent of splitSentences(text)) {
    const inside = kept.filter((k) => k.start >= sent.start && k.end <= sent.end);
    const head = inside[0];
    if (!head || head.type === 'date' || head.drop) continue;
    // "Avon is a river ...": the subject's class noun types it.
    const cue = head.start === sent.start && !head.known ? classCueType(text.slice(head.end, sent.end)) : null;
    if (cue) {
      head.type = cue;
      head.weak = false;
    }
    // "Cordoba is also known as Cordova", "Thailand includes Bangkok, Chao Phraya and Nan": a weakly typed
    // alias or list item takes the type of the sentence's first span.
    const list = new RegExp(
      `^${escapeRegExp(head.text)}\\s+(?:is|was|are|were)?\\s*(?:also\\s+)?(?:known as|called|includes?|comprises?)\\b`,
    );
    if (!list.test(text.slice(head.start, sent.end))) continue;
    for (const k of inside.slice(1)) if (k.weak) k.type = head.type;
  }
  return kept.filter((c) => !c.drop).map((c) => ({ start: c.start, end: c.end, type: c.type, text: c.text }));
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
