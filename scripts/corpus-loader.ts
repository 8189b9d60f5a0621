// Node-only: reads a corpus folder (`public/corpus/tiny`, `public/corpus/default`, or any folder with
// the same files) into what `buildTrainingData` (src/corpus/corpus-data.ts) takes, and `loadData`, the training data that `npm run train` and the benches name. src/corpus stays
// free of fs so that it runs in the browser; the page fetches the same files instead.
//   passages.jsonl   one {id, title, text, spans?: [start, end, type][]} per line, in index order
//   vocab.txt        one wordpiece per line, id = line number
//   cloze.jsonl      held-out cloze items {sentence, masked, answer, type, sourceId, start, end, ...}
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MaskingStrategy } from '../src/corpus/masking';
import { parseCloze, parsePassages, type ClozeItem } from '../src/corpus/corpus-format';
import { buildTrainingData, type CorpusDataReport, type CorpusPassageInput } from '../src/corpus/corpus-data';
import { syntheticWorld, type TrainingData } from '../src/corpus/data';
import { Rng } from '../src/corpus/rng';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';

export interface LoadedCorpus {
  dir: string;
  passages: CorpusPassageInput[];
  cloze: ClozeItem[];
  tokenizer: WordPieceTokenizer;
}

/** The folder lacks a file the trainer needs. */
export class CorpusDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusDirError';
  }
}

/** `tokenizer`: tokenize with this vocabulary (a model's) instead of the folder's vocab.txt. */
export function loadCorpusDir(dir: string, tokenizer?: WordPieceTokenizer): LoadedCorpus {
  const file = (name: string) => {
    const p = join(dir, name);
    if (!existsSync(p))
      throw new CorpusDirError(
        `${p} is missing: a corpus folder needs passages.jsonl, vocab.txt and cloze.jsonl (build one with \`npm run build:corpus\`)`,
      );
    return readFileSync(p, 'utf8');
  };
  const passages = parsePassages(file('passages.jsonl')) as CorpusPassageInput[];
  const vocab = tokenizer ?? WordPieceTokenizer.fromText(file('vocab.txt'));
  const cloze = parseCloze(file('cloze.jsonl'));
  return { dir, passages, cloze, tokenizer: vocab };
}

export interface CorpusDataOptions {
  masking?: MaskingStrategy;
  seed?: number;
  maxQueryLength?: number;
  maxMasks?: number;
  maxQueries?: number;
  /** Queries per sentence, one per salient span up to this many (BuildDataOptions). Default 1. */
  spansPerSentence?: number;
  /** Passages kept out of the training queries, their salient spans a larger held-out set (BuildDataOptions). Default 0. */
  heldOutPassages?: number;
  /** Use only the first N cloze items as the held-out set (all are still excluded from training). */
  maxHeldOut?: number;
  /** Tokenize with this vocabulary (a model's, `--init`) instead of the folder's vocab.txt. */
  tokenizer?: WordPieceTokenizer;
}

/** TrainingData from a corpus folder, with the masking report. */
export function corpusTrainingData(
  dir: string,
  o: CorpusDataOptions = {},
): TrainingData & { report: CorpusDataReport; corpus: LoadedCorpus } {
  const corpus = loadCorpusDir(dir, o.tokenizer);
  const data = buildTrainingData(corpus.passages, corpus.tokenizer, corpus.cloze, {
    masking: o.masking ?? 'salient',
    rng: new Rng((o.seed ?? 1) + 2000),
    maxQueryLength: o.maxQueryLength,
    maxMasks: o.maxMasks,
    maxQueries: o.maxQueries,
    spansPerSentence: o.spansPerSentence,
    heldOutPassages: o.heldOutPassages,
  });
  if (o.maxHeldOut !== undefined) data.heldOut = data.heldOut.slice(0, o.maxHeldOut);
  return { ...data, corpus };
}

/**
 * The training data named by `--corpus`: the synthetic world (`synthetic[:N]`, N people), or a corpus
 * folder with passages.jsonl, vocab.txt and cloze.jsonl (e.g. public/corpus/tiny), masked with the
 * preset's query length and mask limit.
 */
export function loadData(spec: string, seed: number, opts: Omit<CorpusDataOptions, 'seed'> = {}): TrainingData {
  if (spec === 'synthetic' || spec.startsWith('synthetic:')) {
    if (opts.tokenizer)
      throw new CorpusDirError('the synthetic world has its own vocabulary: a model with a vocab.txt trains on a corpus folder');
    const n = spec.includes(':') ? Number(spec.split(':')[1]) : 60;
    return syntheticWorld(n, { seedRng: new Rng(seed + 1000) });
  }
  const data = corpusTrainingData(spec, { ...opts, seed });
  const r = data.report;
  process.stderr.write(
    `corpus ${spec}: ${data.passages.length} passages, ${r.masking.examples} training queries (${r.masking.salient} salient, ` +
      `${r.masking.fallback} random-span fallbacks, ${r.masking.heldOut} held out)` +
      (r.queriesBeforeSample > data.queries.length ? `, ${data.queries.length} sampled` : '') +
      `, ${r.clozeUsed} cloze items (${r.clozeDropped} dropped), vocabulary ${data.vocabSize}\n`,
  );
  return data;
}
