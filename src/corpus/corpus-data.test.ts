import { describe, expect, it } from 'vitest';
import {
  buildTrainingData,
  CorpusDataError,
  sentenceHolding,
  toCharSpan,
  type ClozeItemInput,
  type CorpusPassageInput,
} from './corpus-data';
import { splitSentences } from './blocks';
import { containsSpan } from './data';
import { pairSentences } from '../model/mlm';
import { Rng } from './rng';
import { CLS_ID, MASK_ID, SEP_ID, WordPieceTokenizer } from './tokenizer';

// A small fixture corpus: facts told twice, in different passages, so a masked fact can be found elsewhere.
const CORPUS: CorpusPassageInput[] = [
  { id: 'a1', title: 'Napoleon', text: 'Napoleon was born in Ajaccio in 1769. He crowned himself in Paris. It rained that day.' },
  { id: 'a2', title: 'Ajaccio', text: 'Ajaccio is a city on Corsica. Napoleon was born there in 1769.' },
  { id: 'a3', title: 'Marie Curie', text: 'Marie Curie was born in Warsaw in 1867. She moved to Paris in 1891.' },
  {
    id: 'a4',
    title: 'Warsaw',
    text: 'Warsaw is the capital of Poland. Marie Curie was born in Warsaw.',
    // Precomputed spans, as passages.jsonl stores them: [start, end, type].
    spans: [
      [0, 6, 'place'],
      [25, 31, 'place'],
      [33, 44, 'person'],
      [57, 63, 'place'],
    ],
  },
];

function cloze(sourceId: string, answer: string, occurrence = 0): ClozeItemInput {
  const text = CORPUS.find((p) => p.id === sourceId)!.text;
  let start = -1;
  for (let i = 0; i <= occurrence; i++) start = text.indexOf(answer, start + 1);
  return { answer, sourceId, start, end: start + answer.length, type: 'date' };
}

const tokenizer = WordPieceTokenizer.train(
  CORPUS.flatMap((p) => [p.title, p.text, p.text]),
  { vocabSize: 300, minFrequency: 1 },
);

describe('buildTrainingData', () => {
  it('fixture: the stored spans cover the words they name', () => {
    const p = CORPUS[3];
    expect(p.spans!.map(toCharSpan).map((s) => p.text.slice(s.start, s.end))).toEqual([
      'Warsaw',
      'Poland',
      'Marie Curie',
      'Warsaw',
    ]);
  });

  const items = [cloze('a1', '1769'), cloze('a3', 'Paris')];
  const build = (seed: number, extra: Partial<Parameters<typeof buildTrainingData>[3]> = {}) =>
    buildTrainingData(CORPUS, tokenizer, items, { masking: 'salient', rng: new Rng(seed), maxQueryLength: 32, ...extra });

  it('tokenizes passages in corpus order: title ids and one id list per sentence', () => {
    const d = build(1);
    expect(d.passages.map((p) => p.id)).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(d.passages[0].title).toEqual(tokenizer.encode('Napoleon'));
    expect(d.passages[0].sentences).toEqual(
      ['Napoleon was born in Ajaccio in 1769.', 'He crowned himself in Paris.', 'It rained that day.'].map((s) =>
        tokenizer.encode(s),
      ),
    );
    expect(d.vocabSize).toBe(tokenizer.size);
  });

  it('spansPerSentence: one training query per salient span, the held-out set unchanged', () => {
    const one = build(1);
    const many = build(1, { spansPerSentence: 8 });
    const sentenceOf = (q: { sourceDocId: string | null; sourceSentence?: number }) => `${q.sourceDocId}/${q.sourceSentence}`;
    expect(many.queries.length).toBeGreaterThan(one.queries.length);
    expect(new Set(many.queries.map(sentenceOf))).toEqual(new Set(one.queries.map(sentenceOf))); // the same sentences
    expect(many.heldOut).toEqual(one.heldOut);
    expect(many.queries.some((q) => q.sourceDocId === 'a4' && tokenizer.decode(q.targets) === 'marie curie')).toBe(true);
  });

  it('heldOutPassages: no training query from those passages; each of their salient spans a held-out query', () => {
    const plain = build(1);
    expect(plain.heldOutSpans).toBeUndefined();
    const d = build(1, { heldOutPassages: 2 });
    const spans = d.heldOutSpans!;
    const heldIds = new Set(spans.map((q) => q.sourceDocId));
    expect(heldIds.size).toBe(2);
    expect(d.queries.some((q) => heldIds.has(q.sourceDocId))).toBe(false);
    expect(plain.queries.filter((q) => !heldIds.has(q.sourceDocId)).length).toBe(d.queries.length);
    expect(d.heldOut.map((q) => q.targets)).toEqual(plain.heldOut.map((q) => q.targets)); // the cloze set unchanged
    expect(pairSentences(d).some(({ row }) => heldIds.has(d.passages[row].id))).toBe(false);
    const cloze = new Set(d.heldOut.map((q) => `${q.sourceDocId}/${q.sourceSentence}`));
    for (const q of spans) {
      expect(q.answer).toEqual(Array.from(q.targets));
      expect(q.spanType).toBeDefined(); // a salient span, not a random fallback
      expect(cloze.has(`${q.sourceDocId}/${q.sourceSentence}`)).toBe(false); // cloze sentences stay in heldOut only
      const row = d.passages.findIndex((p) => p.id === q.sourceDocId);
      const restored = Array.from(q.inputIds);
      Array.from(q.maskPositions).forEach((p, j) => (restored[p] = q.targets[j]));
      expect(d.passages[row].sentences[q.sourceSentence!]).toEqual(restored.slice(1, -1));
    }
    // Every salient span of a held passage's sentences, one query each: a4 stores 4 distinct spans in its 2 sentences.
    const withA4 = [1, 2, 3, 4, 5, 6]
      .map((seed) => build(seed, { heldOutPassages: 2 }).heldOutSpans!)
      .find((h) => h.some((q) => q.sourceDocId === 'a4'))!;
    expect(
      withA4
        .filter((q) => q.sourceDocId === 'a4')
        .map((q) => tokenizer.decode(q.targets))
        .sort(),
    ).toEqual(['marie curie', 'poland', 'warsaw', 'warsaw']);
  });

  it('masks every sentence except the held-out ones, with its passage as sourceDocId', () => {
    const d = build(1);
    const sentences = CORPUS.reduce((n, p) => n + splitSentences(p.text).length, 0);
    expect(d.queries).toHaveLength(sentences - items.length);
    expect(d.report.masking.heldOut).toBe(items.length);
    const decoded = d.queries.map((q) => tokenizer.decode(q.inputIds));
    // The held-out sentences never appear among the training queries.
    expect(decoded.some((s) => s.includes('napoleon was born in ajaccio'))).toBe(false);
    expect(decoded.some((s) => s.includes('moved to'))).toBe(false);
    expect(decoded.some((s) => s.includes('crowned'))).toBe(true);
    for (const q of d.queries) {
      const row = d.passages.findIndex((p) => p.id === q.sourceDocId);
      expect(row).toBeGreaterThanOrEqual(0);
      expect(q.inputIds[0]).toBe(CLS_ID);
      expect(q.inputIds[q.inputIds.length - 1]).toBe(SEP_ID);
      // Targets are the original ids: the unmasked sentence is one of the passage's sentences.
      const restored = Array.from(q.inputIds);
      Array.from(q.maskPositions).forEach((p, j) => (restored[p] = q.targets[j]));
      expect(d.passages[row].sentences.map((s) => s.join(','))).toContain(restored.slice(1, -1).join(','));
    }
  });

  it("records each query's sentence index: the sentence trivialExclusion 'sentence' cuts out of its passage", () => {
    const d = build(1);
    for (const q of [...d.queries, ...d.heldOut]) {
      const row = d.passages.findIndex((p) => p.id === q.sourceDocId);
      const restored = Array.from(q.inputIds);
      Array.from(q.maskPositions).forEach((p, j) => (restored[p] = q.targets[j]));
      expect(q.sourceSentence).toBeDefined();
      expect(d.passages[row].sentences[q.sourceSentence!]).toEqual(restored.slice(1, -1));
    }
    // A held-out item in a passage's second sentence points at index 1.
    expect(d.heldOut.some((q) => q.sourceDocId === 'a3' && q.sourceSentence === 1)).toBe(true);
  });

  it('uses precomputed spans when given, and tags spans when absent', () => {
    const d = build(3);
    const fromA4 = d.queries.filter((q) => q.sourceDocId === 'a4');
    expect(fromA4).toHaveLength(2);
    // Every a4 sentence has a stored span, so neither falls back.
    for (const q of fromA4) expect((q as { spanType?: string }).spanType).toMatch(/place|person/);
    // "It rained that day." has no salient span: one fallback at least.
    expect(d.report.masking.fallback).toBeGreaterThanOrEqual(1);
    expect(d.report.masking.salient).toBeGreaterThan(0);
  });

  it('masks exactly the answer wordpieces of each cloze item', () => {
    const d = build(1);
    expect(d.heldOut).toHaveLength(2);
    expect(d.report).toMatchObject({ clozeUsed: 2, clozeDropped: 0 });
    const [year, paris] = d.heldOut;
    expect(year.answer).toEqual(tokenizer.encode('1769'));
    expect(paris.answer).toEqual(tokenizer.encode('Paris'));
    for (const q of d.heldOut) {
      expect(Array.from(q.targets)).toEqual(q.answer);
      for (const p of Array.from(q.maskPositions)) expect(q.inputIds[p]).toBe(MASK_ID);
      expect(Array.from(q.inputIds).filter((id) => id === MASK_ID)).toHaveLength(q.answer.length);
    }
    expect(tokenizer.decode(year.inputIds)).toBe('[CLS] napoleon was born in ajaccio in [MASK] . [SEP]');
    expect(year.sourceDocId).toBe('a1');
    // The answer can be found in another passage: what recall@k looks for.
    expect(d.passages.some((p) => p.id !== 'a1' && containsSpan(p.sentences.flat(), year.answer))).toBe(true);
  });

  it('drops cloze items whose passage is unknown or whose span holds no wordpiece', () => {
    const d = buildTrainingData(
      CORPUS,
      tokenizer,
      [...items, { answer: 'x', sourceId: 'nope', start: 0, end: 1 }, { answer: ' ', sourceId: 'a1', start: 8, end: 9 }],
      {
        masking: 'salient',
        rng: new Rng(1),
      },
    );
    expect(d.report).toMatchObject({ clozeUsed: 2, clozeDropped: 2 });
  });

  it('works with every masking strategy, and is deterministic under a seed', () => {
    for (const masking of ['salient', 'random-token', 'random-span'] as const) {
      const a = build(7, { masking });
      expect(a).toEqual(build(7, { masking }));
      expect(a.queries.length).toBeGreaterThan(0);
      for (const q of a.queries) expect(q.maskPositions.length).toBeGreaterThan(0);
    }
    expect(build(7).queries).not.toEqual(build(8).queries);
  });

  it('samples at most maxQueries and holds out a share of passages from ICT', () => {
    const d = build(1, { maxQueries: 3, ictHeldOutShare: 0.5 });
    expect(d.queries).toHaveLength(3);
    expect(d.report.queriesBeforeSample).toBeGreaterThan(3);
    expect(d.ictHeldOut).toHaveLength(2);
    expect(new Set(d.ictHeldOut).size).toBe(2);
  });

  it('rejects duplicate passage ids', () => {
    expect(() => buildTrainingData([CORPUS[0], CORPUS[0]], tokenizer, [], { masking: 'salient', rng: new Rng(1) })).toThrow(
      CorpusDataError,
    );
  });
});

describe('sentenceHolding', () => {
  it('finds the sentence around a span', () => {
    const text = CORPUS[0].text;
    const s = splitSentences(text);
    const at = text.indexOf('Paris');
    expect(sentenceHolding(s, at, at + 5)).toEqual(s[1]);
    expect(sentenceHolding(s, 1000, 1001)).toBeNull();
  });
});
