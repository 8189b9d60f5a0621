// The files of a bundled corpus (public/corpus/<name>/), their TypeScript types, and parsers and
// writers for them. Written by scripts/build-corpus.ts, read by the corpus importer and the trainer.
//
//   manifest.json     CorpusManifest: name, counts, stats, file list, vocab size, answerable rate
//   passages.jsonl    one CorpusPassage per line, in a fixed order (the index rows), with its salient
//                     spans `[start, end, type]` as the build typed them (known names outrank the tagger)
//   vocab.txt         one wordpiece per line, id = line number (0-based)
//   cloze.jsonl       one ClozeItem per line: held-out masked sentences (never trained on)
//   qa-train.jsonl    one QaItem per line, NQ-open format {"question", "answer": [...]}
//   qa-dev.jsonl      the same, for evaluation
//
// Held-out sentences: a cloze item names its passage (`sourceId`) and where its sentence starts in the
// passage text (`sentenceStart`, the offset `splitSentences(passage.text)` gives). The sampler of
// pre-training queries skips every sentence whose `heldOutKey(passageId, sentence.start)` is in
// `heldOutKeys(cloze)`.
import type { SpanType } from './salient';

/** One passage (a block of at most 128 wordpieces for `[CLS] title [SEP] text [SEP]`). */
export interface CorpusPassage {
  /** Hex SHA-1 of `title + "\n" + text`. */
  id: string;
  title: string;
  text: string;
  /** Where the text comes from, e.g. "wordnet", "countries-list", "periodic-table". */
  source: string;
  /** Imported corpora (`npm run import`): the id of the record the block was cut from, when it had one. */
  docId?: string;
  /** Salient spans as `[start, end, type]` character offsets into `text`; tagged at import when absent. */
  spans?: [number, number, SpanType][];
}

/** Why `spans` is not a list of `[start, end, type]` inside a text of `length` characters (null when it is). */
export function spansProblem(spans: unknown, length: number): string | null {
  if (!Array.isArray(spans)) return 'field "spans" must be a list';
  for (const s of spans) {
    if (!Array.isArray(s) || s.length !== 3 || !Number.isInteger(s[0]) || !Number.isInteger(s[1]) || typeof s[2] !== 'string')
      return 'each span must be [start, end, type]';
    if (!(0 <= s[0] && s[0] < s[1] && s[1] <= length)) return `span [${s[0]}, ${s[1]}] lies outside the text`;
  }
  return null;
}

/** A held-out cloze item: a sentence of a passage with one salient span masked. */
export interface ClozeItem {
  /** The sentence, span included. */
  sentence: string;
  /** The sentence with the span replaced by `[MASK]`. */
  masked: string;
  /** The span's text. */
  answer: string;
  type: SpanType;
  /** Id of the passage the sentence comes from. */
  sourceId: string;
  /** [start, end) of the answer span in the passage text. */
  start: number;
  end: number;
  /** [start, end) of the sentence in the passage text. */
  sentenceStart: number;
  sentenceEnd: number;
}

/** An open-domain question in NQ-open format. */
export interface QaItem {
  question: string;
  /** Acceptable answers; the first is the canonical one. */
  answer: string[];
}

export interface CorpusStats {
  passages: number;
  /** Wordpieces of all `[CLS] title [SEP] text [SEP]` inputs. */
  tokens: number;
  /** Sentences of all passage texts. */
  sentences: number;
  /** Salient spans found by the tagger, by type. */
  spans: Record<SpanType, number>;
  /** Salient spans per passage, by type. */
  spansPerPassage: Record<SpanType, number>;
  /** Share of sentences with no salient span (the masker falls back to a random span there). */
  fallbackRate: number;
  /** Passages per source. */
  sources: Record<string, number>;
  /** Imported corpora: words of all titles and texts, those the vocabulary could only spell as [UNK], and their share. */
  words?: number;
  unkWords?: number;
  unkWordShare?: number;
}

export interface CorpusManifest {
  /** Shown in the corpus list. */
  name: string;
  /** 'default' or 'tiny'. */
  id: string;
  description: string;
  counts: { passages: number; cloze: number; qaTrain: number; qaDev: number; vocab: number };
  stats: CorpusStats;
  vocabSize: number;
  /** Share of cloze items whose answer appears (case-insensitive, word-bounded) in another passage. */
  answerableRate: number;
  /** The files of the corpus, relative to its folder. */
  files: string[];
  /** Imported corpora (`npm run import`): where from and how. */
  import?: {
    file: string;
    format: string;
    /** 'trained' (a vocabulary trained on this corpus) or the vocab.txt it was tokenized with. */
    vocab: string;
    /** SHA-256 of vocab.txt, to check a model's vocabulary against the corpus's. */
    vocabSha256: string;
    badRecords: number;
    duplicates: number;
    clozeShare: number;
    seed: number;
  };
}

/** The corpus file could not be read. */
class CorpusFormatError extends Error {
  constructor(file: string, line: number, detail: string) {
    super(`${file}, line ${line}: ${detail}. Rebuild the bundled corpus with \`npm run build:corpus\`.`);
    this.name = 'CorpusFormatError';
  }
}

/** The key that marks a held-out sentence: its passage id and where it starts in the passage text. */
export function heldOutKey(sourceId: string, sentenceStart: number): string {
  return `${sourceId}@${sentenceStart}`;
}

/** Keys of every held-out sentence of a cloze set. */
export function heldOutKeys(cloze: readonly Pick<ClozeItem, 'sourceId' | 'sentenceStart'>[]): Set<string> {
  return new Set(cloze.map((c) => heldOutKey(c.sourceId, c.sentenceStart)));
}

/** One JSON value per line, `\n` after each (the last line too). */
export function toJsonl(items: readonly unknown[]): string {
  return items.map((x) => JSON.stringify(x)).join('\n') + (items.length ? '\n' : '');
}

/**
 * The JSON objects of a jsonl text with their 1-based line numbers (blank lines skipped); a line that
 * is not a JSON object throws `fail(line, detail)`.
 */
export function jsonlObjects(
  text: string,
  fail: (line: number, detail: string) => Error,
): { o: Record<string, unknown>; line: number }[] {
  const out: { o: Record<string, unknown>; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch (e) {
      throw fail(i + 1, `invalid JSON (${(e as Error).message})`);
    }
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw fail(i + 1, 'expected a JSON object');
    out.push({ o: x as Record<string, unknown>, line: i + 1 });
  });
  return out;
}

function parseJsonl<T>(text: string, file: string, check: (x: Record<string, unknown>) => string | null): T[] {
  return jsonlObjects(text, (line, detail) => new CorpusFormatError(file, line, detail)).map(({ o, line }) => {
    const problem = check(o);
    if (problem) throw new CorpusFormatError(file, line, problem);
    return o as T;
  });
}

const str = (x: Record<string, unknown>, ...keys: string[]) => keys.find((k) => typeof x[k] !== 'string') ?? null;
const num = (x: Record<string, unknown>, ...keys: string[]) => keys.find((k) => !Number.isInteger(x[k])) ?? null;

export function parsePassages(text: string): CorpusPassage[] {
  return parseJsonl<CorpusPassage>(text, 'passages.jsonl', (x) => {
    const bad = str(x, 'id', 'title', 'text', 'source');
    if (bad) return `field "${bad}" must be a string`;
    return x.spans === undefined ? null : spansProblem(x.spans, (x.text as string).length);
  });
}

export function parseCloze(text: string): ClozeItem[] {
  return parseJsonl<ClozeItem>(text, 'cloze.jsonl', (x) => {
    const bad = str(x, 'sentence', 'masked', 'answer', 'type', 'sourceId');
    if (bad) return `field "${bad}" must be a string`;
    const badNum = num(x, 'start', 'end', 'sentenceStart', 'sentenceEnd');
    return badNum ? `field "${badNum}" must be an integer` : null;
  });
}

export function parseQa(text: string, file = 'qa.jsonl'): QaItem[] {
  return parseJsonl<QaItem>(text, file, (x) => {
    if (typeof x.question !== 'string') return 'field "question" must be a string';
    if (!Array.isArray(x.answer) || x.answer.length === 0 || x.answer.some((a) => typeof a !== 'string')) {
      return 'field "answer" must be a non-empty list of strings';
    }
    return null;
  });
}

/** vocab.txt: one piece per line, id = line number. */
export function parseVocab(text: string): string[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function vocabToText(vocab: readonly string[]): string {
  return vocab.join('\n') + '\n';
}

export function parseManifest(text: string): CorpusManifest {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new CorpusFormatError('manifest.json', 1, `invalid JSON (${(e as Error).message})`);
  }
  const m = x as Partial<CorpusManifest>;
  if (typeof m?.name !== 'string' || !Array.isArray(m.files) || typeof m.vocabSize !== 'number') {
    throw new CorpusFormatError('manifest.json', 1, 'expected an object with name, files and vocabSize');
  }
  return m as CorpusManifest;
}
