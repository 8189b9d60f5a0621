// Builds the bundled corpora in public/corpus/ (`npm run build:corpus`):
//
//   public/corpus/default/   all passages (WordNet 3.1 instances and classes, countries-list facts)
//   public/corpus/tiny/      a connected cluster of them: some western European countries, their
//                            capitals, and the WordNet places inside them (for tests and quick runs)
//   public/corpus/micro/     the best-ranked quarter of that cluster (for software adapters and the
//                            end-to-end tests, where every index build embeds the whole corpus)
//   public/corpus/ATTRIBUTION.md
//
// Each corpus folder holds manifest.json, passages.jsonl, vocab.txt, cloze.jsonl, qa-train.jsonl and
// qa-dev.jsonl (formats in src/corpus/corpus-format.ts). Steps: raw passages and facts from the sources
// (build-corpus-sources.ts) -> a WordPiece vocabulary trained on that corpus -> blocks of at most 128
// wordpieces for `[CLS] title [SEP] text [SEP]`, cut on sentence boundaries, id = SHA-1 of
// `title + "\n" + text` -> salient spans (stats) -> held-out cloze items -> QA train/dev split.
//
// Deterministic: inputs are sorted, choices use hashes of ids and a seeded RNG, nothing depends on the
// clock, so a rerun reproduces the committed bytes.
//   npm run build:corpus                    rebuild all three corpora into public/corpus/
//   npm run build:corpus -- --only tiny     rebuild one
//   npm run build:corpus -- --check         rebuild into a temporary folder and compare bytes with
//                                           public/corpus/ (exit status 1 on any difference)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitIntoBlocks } from '../src/corpus/blocks';
import {
  toJsonl,
  vocabToText,
  type CorpusManifest,
  type CorpusPassage,
  type CorpusStats,
  type QaItem,
} from '../src/corpus/corpus-format';
import { answerableRate, containsWord, corpusStats, selectClozeItems } from '../src/corpus/corpus-summary';
import { Rng } from '../src/corpus/rng';
import { SPAN_TYPES, tagSalientSpans, type KnownNames, type SalientSpan, type SpanType } from '../src/corpus/salient';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { loadSources, type Fact, type RawPassage } from './build-corpus-sources';

export type CorpusName = 'default' | 'tiny' | 'micro';

interface CorpusSpec {
  id: CorpusName;
  name: string;
  description: string;
  vocabSize: number;
  /** Share of passages that give one held-out cloze item. */
  clozeShare: number;
  /** Share of questions that go to qa-dev.jsonl. */
  devShare: number;
  seed: number;
  /** A subset of the tiny cluster: its best-ranked raw passages, at most this many (all passages when absent). */
  clusterMaxRaw?: number;
}

const SPECS: Record<CorpusName, CorpusSpec> = {
  default: {
    id: 'default',
    name: 'Bundled default corpus (WordNet + countries)',
    description:
      'Encyclopedic passages generated from WordNet 3.1 noun instances (people, places, events) and their classes, and country facts from countries-list.',
    vocabSize: 8192,
    clozeShare: 0.085,
    devShare: 0.2,
    seed: 20240601,
  },
  tiny: {
    id: 'tiny',
    name: 'Bundled tiny corpus (western Europe)',
    description:
      'A connected subset of the default corpus: eleven western European countries, their capitals, languages and currencies, and the WordNet places inside them.',
    vocabSize: 2048,
    clozeShare: 0.175,
    devShare: 0.25,
    seed: 20240602,
    clusterMaxRaw: 480,
  },
  micro: {
    id: 'micro',
    name: 'Bundled micro corpus (western Europe, core)',
    description:
      'The best-ranked quarter of the tiny corpus: the eleven countries, their capitals, languages and currencies, and the first of the WordNet places inside them. For quick runs on a software adapter and for the end-to-end tests.',
    vocabSize: 2048,
    clozeShare: 0.25,
    devShare: 0.25,
    seed: 20240603,
    clusterMaxRaw: 120,
  },
};

const MAX_PIECES = 128;
const DEFAULT_OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'corpus');

function sha1(s: string): string {
  return createHash('sha1').update(s, 'utf8').digest('hex');
}

/** A number in [0, 1) from a string, for choices that must not depend on order. */
function unitHash(s: string): number {
  return parseInt(sha1(s).slice(0, 8), 16) / 2 ** 32;
}

export { containsWord };

/**
 * Held-out sentences must fit `[CLS] x [SEP]` of the smallest preset (tiny: maxQueryLength 32) whole,
 * or the reader and the inspector see a window of them.
 */
export const HELD_OUT_MAX_PIECES = 30;
const PRONOUN_START = /^(?:It|Its|He|His|Him|She|Her|They|Their|Them|This|These|Those|There|Here)\b/;

/**
 * Why a sentence with a span may not be a held-out cloze item (null when it may): it must read as a
 * whole sentence on its own (a capital first, a full stop last, balanced brackets, no pronoun for a
 * subject), fit the smallest query window, leave at least three words around the span, not give the
 * answer away by holding it twice, and the span's type must come from the corpus's knowledge (a known
 * name) or a date pattern, not from the tagger's guess. `start`/`end` are offsets into `sentence`.
 */
export function heldOutProblem(
  sentence: string,
  span: { start: number; end: number; text: string; type: SpanType },
  pieces: number,
  typedByCorpus: boolean,
): string | null {
  if (!/^[\p{Lu}\p{N}]/u.test(sentence) || !/[.!?]["')]?$/.test(sentence)) return 'not a whole sentence';
  if ((sentence.match(/\(/g) ?? []).length !== (sentence.match(/\)/g) ?? []).length) return 'unbalanced brackets';
  if (PRONOUN_START.test(sentence)) return 'a pronoun for a subject';
  if (pieces > HELD_OUT_MAX_PIECES) return `longer than ${HELD_OUT_MAX_PIECES} wordpieces`;
  const rest = sentence.slice(0, span.start) + ' ' + sentence.slice(span.end);
  if (rest.split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w)).length < 3) return 'too little around the span';
  if (containsWord(rest.toLowerCase(), span.text.toLowerCase())) return 'the answer is in the sentence twice';
  if (!typedByCorpus && span.type !== 'date') return 'typed by the tagger alone';
  return null;
}

export interface BuiltCorpus {
  manifest: CorpusManifest;
  files: Map<string, string>;
}

/** Builds one corpus from its raw passages and facts; returns its files' contents by name. */
export function buildCorpus(
  spec: CorpusSpec,
  raw: RawPassage[],
  facts: Fact[],
  log: (s: string) => void = () => {},
  known: KnownNames = new Map(),
): BuiltCorpus {
  const t0 = performance.now();
  const tokenizer = WordPieceTokenizer.train(
    raw.flatMap((p) => [p.title, p.text]),
    { vocabSize: spec.vocabSize },
  );
  log(
    `[${spec.id}] vocabulary: ${tokenizer.size} pieces from ${raw.length} raw passages (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );

  // Blocks.
  const passages: CorpusPassage[] = [];
  const namesOf: KnownNames[] = [];
  const seen = new Set<string>();
  for (const p of raw) {
    // The passage's own names first, then the corpus-wide ones.
    const own = new Map(p.names);
    const names: KnownNames = { get: (n) => (own.has(n) ? own.get(n) : known.get(n)) };
    for (const text of splitIntoBlocks(p.title, p.text, tokenizer, MAX_PIECES)) {
      const id = sha1(`${p.title}\n${text}`);
      if (seen.has(id)) continue;
      seen.add(id);
      passages.push({ id, title: p.title, text, source: p.source });
      namesOf.push(names);
    }
  }

  // Salient spans of every passage, stored with it (the importer and the trainer use them as they are).
  const t1 = performance.now();
  const spans: SalientSpan[][] = passages.map((p, i) => {
    if (i > 0 && i % 2000 === 0) log(`[${spec.id}] tagging ${i}/${passages.length}`);
    const found = tagSalientSpans(p.text, namesOf[i]);
    p.spans = found.map((s) => [s.start, s.end, s.type]);
    return found;
  });
  const tagSeconds = (performance.now() - t1) / 1000;
  log(
    `[${spec.id}] tagged ${passages.length} passages in ${tagSeconds.toFixed(1)} s (${(passages.length / tagSeconds).toFixed(0)} passages/s)`,
  );

  // Stats, held-out cloze items (one per chosen passage, a sentence with a salient span, one span of it)
  // and the share of them answerable from ANOTHER passage (title or text).
  const stats: CorpusStats = corpusStats(passages, spans, (i) => {
    const p = passages[i];
    return 3 + tokenizer.encode(p.title).length + tokenizer.encode(p.text).length;
  });
  // Held-out cloze items: only sentences and spans that pass heldOutProblem (a teacher can read them).
  const cloze = selectClozeItems(passages, spans, {
    share: spec.clozeShare,
    rng: new Rng(spec.seed),
    unitHash,
    keep: (i, sentence, span) =>
      heldOutProblem(sentence, span, tokenizer.encode(sentence).length, namesOf[i].get(span.text) === span.type) === null,
  });
  const answerable = answerableRate(passages, cloze);

  // QA: questions asked twice with different answers are ambiguous and dropped.
  const byQuestion = new Map<string, Fact[]>();
  for (const f of facts) byQuestion.set(f.question, [...(byQuestion.get(f.question) ?? []), f]);
  const qaTrain: QaItem[] = [];
  const qaDev: QaItem[] = [];
  for (const q of [...byQuestion.keys()].sort()) {
    const fs_ = byQuestion.get(q)!;
    const answers = [...new Set(fs_[0].answers)];
    if (fs_.some((f) => f.answers[0] !== answers[0])) continue;
    (unitHash(`qa:${q}`) < spec.devShare ? qaDev : qaTrain).push({ question: q, answer: answers });
  }

  const files = ['manifest.json', 'passages.jsonl', 'vocab.txt', 'cloze.jsonl', 'qa-train.jsonl', 'qa-dev.jsonl'];
  const manifest: CorpusManifest = {
    name: spec.name,
    id: spec.id,
    description: spec.description,
    counts: {
      passages: passages.length,
      cloze: cloze.length,
      qaTrain: qaTrain.length,
      qaDev: qaDev.length,
      vocab: tokenizer.size,
    },
    stats,
    vocabSize: tokenizer.size,
    answerableRate: answerable,
    files,
  };
  const out = new Map<string, string>([
    ['manifest.json', JSON.stringify(manifest, null, 2) + '\n'],
    ['passages.jsonl', toJsonl(passages)],
    ['vocab.txt', vocabToText(tokenizer.vocab)],
    ['cloze.jsonl', toJsonl(cloze)],
    ['qa-train.jsonl', toJsonl(qaTrain)],
    ['qa-dev.jsonl', toJsonl(qaDev)],
  ]);
  const perType = SPAN_TYPES.map((t) => `${t} ${stats.spansPerPassage[t]}`).join(', ');
  log(
    `[${spec.id}] ${passages.length} passages, ${stats.tokens} tokens, ${stats.sentences} sentences; salient spans per passage: ${perType}; ` +
      `fallback rate ${(100 * stats.fallbackRate).toFixed(1)}%; cloze ${cloze.length}, answerable ${(100 * answerable).toFixed(1)}%; ` +
      `QA train ${qaTrain.length}, dev ${qaDev.length} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return { manifest, files: out };
}

/**
 * The raw passages and facts of a cluster corpus: the `max` best-ranked cluster passages (the same
 * order for every size, so micro's passages are tiny's first ones).
 */
function clusterSubset(
  raw: RawPassage[],
  facts: Fact[],
  rank: (p: RawPassage) => number,
  max: number,
): { raw: RawPassage[]; facts: Fact[] } {
  const ranked = raw
    .map((p) => ({ p, r: rank(p), h: unitHash(`tiny:${p.title}\n${p.text}`) }))
    .filter((x) => x.r >= 0)
    .sort((a, b) => a.r - b.r || a.h - b.h)
    .slice(0, max);
  const chosen = new Set(ranked.map((x) => x.p));
  const sub = raw.filter((p) => chosen.has(p)); // keep the default corpus's order
  const subjects = new Set(
    sub.filter((p) => p.source === 'wordnet:instance' || p.source === 'countries-list:country').map((p) => p.about[0]),
  );
  return { raw: sub, facts: facts.filter((f) => subjects.has(f.about[0])) };
}

export interface BuildOptions {
  outRoot?: string;
  only?: CorpusName[];
  log?: (s: string) => void;
}

/** Builds the corpora and writes them under outRoot (public/corpus by default). */
export function buildCorpora(opts: BuildOptions = {}): Map<CorpusName, BuiltCorpus> {
  const outRoot = opts.outRoot ?? DEFAULT_OUT;
  const log = opts.log ?? (() => {});
  const names = opts.only ?? (['micro', 'tiny', 'default'] as CorpusName[]);
  const sources = loadSources();
  log(`sources: ${sources.passages.length} raw passages, ${sources.facts.length} facts`);
  const built = new Map<CorpusName, BuiltCorpus>();
  for (const name of names) {
    const max = SPECS[name].clusterMaxRaw;
    const { raw, facts } =
      max !== undefined
        ? clusterSubset(sources.passages, sources.facts, sources.tinyKeys, max)
        : { raw: sources.passages, facts: sources.facts };
    const corpus = buildCorpus(SPECS[name], raw, facts, log, sources.known);
    const dir = path.join(outRoot, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, content] of corpus.files) fs.writeFileSync(path.join(dir, file), content);
    built.set(name, corpus);
  }
  fs.mkdirSync(outRoot, { recursive: true });
  fs.writeFileSync(path.join(outRoot, 'ATTRIBUTION.md'), sources.attribution);
  return built;
}

/** Files under `a` and `b` (relative paths) that differ or exist on one side only. */
export function compareTrees(a: string, b: string, files: string[]): string[] {
  const diffs: string[] = [];
  for (const f of files) {
    const pa = path.join(a, f);
    const pb = path.join(b, f);
    if (!fs.existsSync(pa) || !fs.existsSync(pb)) diffs.push(`${f}: missing in ${fs.existsSync(pa) ? b : a}`);
    else if (!fs.readFileSync(pa).equals(fs.readFileSync(pb))) diffs.push(`${f}: contents differ`);
  }
  return diffs;
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1].split(',') as CorpusName[]) : undefined;
  const outAt = argv.indexOf('--out');
  const log = (s: string) => console.log(s);
  if (!check) {
    buildCorpora({ outRoot: outAt >= 0 ? path.resolve(argv[outAt + 1]) : DEFAULT_OUT, only, log });
    return 0;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corpus-check-'));
  try {
    const built = buildCorpora({ outRoot: tmp, only, log });
    const files = ['ATTRIBUTION.md', ...[...built.keys()].flatMap((n) => built.get(n)!.manifest.files.map((f) => `${n}/${f}`))];
    const diffs = compareTrees(tmp, DEFAULT_OUT, files);
    if (diffs.length) {
      console.error(
        `build:corpus --check: ${diffs.length} file(s) differ from public/corpus/:\n  ${diffs.join('\n  ')}\nRun npm run build:corpus and commit the result.`,
      );
      return 1;
    }
    console.log(`build:corpus --check: all ${files.length} files reproduce public/corpus/ byte for byte`);
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
