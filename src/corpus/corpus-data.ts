// Training data from a real corpus (the bundled `public/corpus/<name>/` or an imported one), in token
// ids, as the trainer consumes it (`TrainingData`, data.ts). Pure: no fs, runs in the page and in Node.
//
//   passages      title ids + sentence ids (sentences by `splitSentences`), in corpus order: row i is
//                 passage i, the same order as the chunks in IndexedDB and the rows of the MIPS index.
//   queries       REALM's x: every sentence (or a seeded sample of at most `maxQueries`) masked by the
//                 chosen strategy (masking.ts; with `spansPerSentence` > 1 one query per salient span),
//                 `sourceDocId` = its passage, EXCEPT the sentences of the held-out cloze items (the
//                 sentence holding [start, end) of an item in its passage).
//   heldOut       the cloze items as queries: exactly the answer span's wordpieces masked, `answer` =
//                 those ids (recall@k looks for a passage holding them).
//   heldOutSpans  with `heldOutPassages` N > 0: a seeded sample of N passages none of whose sentences
//                 is a training query; each salient span of their sentences is one query here (the
//                 cloze items' sentences excepted), `answer` = its wordpieces: a held-out set large
//                 enough for recall@5 to move in steps finer than the cloze set's.
//   ictHeldOut    a seeded share of the passages that ICT never trains on (for ICT recall@k).
import { splitSentences, type SentenceSpan } from './blocks';
import type { MaskingStrategy } from './masking';
import { heldOutKey } from './corpus-format';
import { maskedAnswer, sampleDistinct, type ClozeQuery, type TokenizedPassage, type TrainingData } from './data';
import { createMasker, maskPassage, type CharSpan, type MaskedExample, type MaskingStats } from './masking';
import type { Rng } from './rng';
import { tagSalientSpans } from './salient';
import type { WordPieceTokenizer } from './tokenizer';

/** A salient span as the corpus files store it: `[start, end, type]`, or as an object. */
type StoredSpan = readonly [number, number, string] | { start: number; end: number; type: string };

/** One passage of a corpus. `spans` (character offsets into `text`) are tagged when absent. */
export interface CorpusPassageInput {
  id: string;
  title: string;
  text: string;
  spans?: readonly StoredSpan[];
}

/** A held-out cloze item: the answer's [start, end) in its source passage's text. */
export interface ClozeItemInput {
  answer: string;
  sourceId: string;
  start: number;
  end: number;
  type?: string;
  sentence?: string;
  masked?: string;
  /** Where the item's sentence starts in the passage text; found from [start, end) when absent. */
  sentenceStart?: number;
}

interface BuildDataOptions {
  masking: MaskingStrategy;
  rng: Rng;
  /** Tokens of `[CLS] x [SEP]` (the model's maxQueryLength): long sentences are cut to a window around the mask. */
  maxQueryLength?: number;
  /** Most masked positions per training query (the model's maxMasks). */
  maxMasks?: number;
  /** Keep at most this many training queries (a seeded sample). Default: all. */
  maxQueries?: number;
  /** Share of passages held out of ICT. Default 0.1. */
  ictHeldOutShare?: number;
  /** Queries per sentence, one per salient span up to this many (salient masking; maskPassage). Default 1, REALM's. */
  spansPerSentence?: number;
  /** Passages whose sentences are all kept out of the training queries, their salient spans becoming `heldOutSpans`. Default 0. */
  heldOutPassages?: number;
}

/** Held-out span queries per sentence, at most (one per distinct salient span). */
const HELD_OUT_SPANS_PER_SENTENCE = 64;

export interface CorpusDataReport {
  /** Counts of the training-query masker (salient spans, fallbacks to a random span, held-out skips). */
  masking: MaskingStats;
  /** Cloze items used, and those dropped (unknown passage, or no wordpiece under the answer). */
  clozeUsed: number;
  clozeDropped: number;
  /** Sentences masked before the maxQueries sample. */
  queriesBeforeSample: number;
}

/** The cloze set does not fit the corpus it was given with. */
export class CorpusDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorpusDataError';
  }
}

export function toCharSpan(s: StoredSpan): CharSpan {
  return Array.isArray(s) ? { start: s[0], end: s[1], type: s[2] } : { ...(s as CharSpan) };
}

/** The sentence of `text` that holds [start, end) (the one that holds `start` when none holds both). */
export function sentenceHolding(sentences: readonly SentenceSpan[], start: number, end: number): SentenceSpan | null {
  return (
    sentences.find((s) => s.start <= start && end <= s.end) ?? sentences.find((s) => s.start <= start && start < s.end) ?? null
  );
}

/** Title ids and sentence ids of one passage (at least one sentence, possibly empty). */
export function tokenizePassage(
  p: CorpusPassageInput,
  tokenizer: WordPieceTokenizer,
  sentences = splitSentences(p.text),
): TokenizedPassage {
  const ids = sentences.map((s) => tokenizer.encode(p.text.slice(s.start, s.end))).filter((s) => s.length > 0);
  return { id: p.id, title: tokenizer.encode(p.title), sentences: ids.length > 0 ? ids : [[]] };
}

export function buildTrainingData(
  corpus: readonly CorpusPassageInput[],
  tokenizer: WordPieceTokenizer,
  cloze: readonly ClozeItemInput[],
  opts: BuildDataOptions,
): TrainingData & { report: CorpusDataReport } {
  const { rng } = opts;
  const maxLength = opts.maxQueryLength ?? 128;
  const byId = new Map<string, number>();
  corpus.forEach((p, i) => {
    if (byId.has(p.id))
      throw new CorpusDataError(`passage id ${p.id} appears twice (rows ${byId.get(p.id)} and ${i}); rebuild the corpus`);
    byId.set(p.id, i);
  });
  const sentencesOf = corpus.map((p) => splitSentences(p.text));

  // Held-out cloze queries, and the keys of their sentences.
  const held = new Set<string>();
  const heldOut: ClozeQuery[] = [];
  let dropped = 0;
  // The answer span is the only span offered, so the salient masker masks exactly its wordpieces
  // (windowed to maxLength, never cut by a mask limit).
  const clozeMasker = createMasker('salient', { vocabSize: tokenizer.size, maxLength });
  for (const c of cloze) {
    const row = byId.get(c.sourceId);
    const sentence = row === undefined ? null : sentenceHolding(sentencesOf[row], c.start, c.end);
    if (row === undefined || !sentence) {
      dropped++;
      continue;
    }
    held.add(heldOutKey(c.sourceId, c.sentenceStart ?? sentence.start));
    held.add(heldOutKey(c.sourceId, sentence.start));
    const text = corpus[row].text;
    const { ids, offsets } = tokenizer.encodeWithOffsets(text.slice(sentence.start, sentence.end));
    const ex = clozeMasker.mask(
      {
        ids,
        offsets: offsets.map(([a, b]) => [a + sentence.start, b + sentence.start]),
        spans: [{ start: c.start, end: c.end, type: c.type ?? 'answer' }],
        sourceDocId: c.sourceId,
      },
      rng,
    );
    if (!ex || ex.spanType === undefined) {
      dropped++; // no wordpiece under the answer: the masker fell back to a random span
      continue;
    }
    // Its index among the passage's non-empty sentences, as tokenizePassage keeps them.
    const sourceSentence = sentencesOf[row].filter(
      (s) => s.start < sentence.start && tokenizer.encode(text.slice(s.start, s.end)).length > 0,
    ).length;
    heldOut.push({
      inputIds: ex.inputIds,
      maskPositions: ex.maskPositions,
      targets: ex.targets,
      sourceDocId: ex.sourceDocId,
      sourceSentence,
      answer: [...ex.targets],
      spanType: ex.spanType,
    });
  }

  // Held-out passages (only when asked for, so the default draws stay as they were): every salient span
  // of their sentences is a held-out query, and none of their sentences is a training query.
  const heldOutSpans: ClozeQuery[] = [];
  const heldRows =
    (opts.heldOutPassages ?? 0) > 0
      ? sampleDistinct(rng, rowsUpTo(corpus.length), Math.min(opts.heldOutPassages!, corpus.length)).sort((a, b) => a - b)
      : [];
  const spanMasker = createMasker('salient', { vocabSize: tokenizer.size, maxLength, maxMasks: opts.maxMasks });
  for (const row of heldRows) {
    const p = corpus[row];
    const spans = (p.spans ?? tagSalientSpans(p.text)).map(toCharSpan);
    for (const ex of maskPassage(
      { id: p.id, text: p.text, spans },
      tokenizer,
      spanMasker,
      rng,
      held,
      HELD_OUT_SPANS_PER_SENTENCE,
    )) {
      if (ex.spanType !== undefined) heldOutSpans.push({ ...ex, answer: maskedAnswer(ex) }); // not the random-span fallbacks
    }
    for (const sentence of sentencesOf[row]) held.add(heldOutKey(p.id, sentence.start));
  }

  // Training queries: every other sentence, masked by the chosen strategy.
  const masker = createMasker(opts.masking, { vocabSize: tokenizer.size, maxLength, maxMasks: opts.maxMasks });
  let queries: MaskedExample[] = [];
  corpus.forEach((p) => {
    const spans = (p.spans ?? tagSalientSpans(p.text)).map(toCharSpan);
    queries.push(...maskPassage({ id: p.id, text: p.text, spans }, tokenizer, masker, rng, held, opts.spansPerSentence));
  });
  const before = queries.length;
  if (opts.maxQueries !== undefined && queries.length > opts.maxQueries) {
    // A seeded sample, kept in corpus order.
    const keep = new Set(sampleDistinct(rng, rowsUpTo(queries.length), opts.maxQueries));
    queries = queries.filter((_, i) => keep.has(i));
  }

  const passages = corpus.map((p, i) => tokenizePassage(p, tokenizer, sentencesOf[i]));
  const share = opts.ictHeldOutShare ?? 0.1;
  const ictHeldOut = sampleDistinct(rng, rowsUpTo(corpus.length), Math.round(corpus.length * share)).sort((a, b) => a - b);
  return {
    passages,
    queries,
    heldOut,
    ...(heldRows.length > 0 ? { heldOutSpans } : {}),
    ictHeldOut,
    vocabSize: tokenizer.size,
    report: { masking: masker.stats, clozeUsed: heldOut.length, clozeDropped: dropped, queriesBeforeSample: before },
  };
}

/** 0, 1, ..., n - 1. */
const rowsUpTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
