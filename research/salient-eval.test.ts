import { describe, expect, it } from 'vitest';
import gold from './fixtures/salient-gold.json';
import { goldOffsets, scoreTagger, scoresTable, type GoldSentence } from './salient-eval';
import { tagSalientSpans } from '../src/corpus/salient';

const sentences = (gold as { sentences: GoldSentence[] }).sentences;

describe('salient tagger against the hand-labelled fixture', () => {
  it('has at least 80 labelled sentences whose spans are found in them', () => {
    expect(sentences.length).toBeGreaterThanOrEqual(80);
    for (const g of sentences) for (const s of goldOffsets(g)) expect(s.end).toBeGreaterThan(s.start);
  });

  it('keeps span-level precision and recall above the measured figures minus a margin', () => {
    const s = scoreTagger(sentences, tagSalientSpans);
    console.log(`salient tagger on ${sentences.length} hand-labelled sentences:\n${scoresTable(s)}`);
    // Measured (see README, "Corpus and tokenizer"): exact 87.3% / 93.8%, overlap 92.7% / 99.2%.
    expect(s.exact.precision).toBeGreaterThan(0.84);
    expect(s.exact.recall).toBeGreaterThan(0.9);
    expect(s.overlap.precision).toBeGreaterThan(0.9);
    expect(s.overlap.recall).toBeGreaterThan(0.96);
    expect(s.byType.date.recall).toBeGreaterThan(0.95);
  });

  it('scores a perfect and an empty tagger as it should (the scorer itself)', () => {
    const perfect = scoreTagger(sentences, (text) => goldOffsets(sentences.find((g) => g.sentence === text)!));
    expect(perfect.exact).toMatchObject({ precision: 1, recall: 1 });
    const none = scoreTagger(sentences, () => []);
    expect(none.exact.recall).toBe(0);
    const shifted = scoreTagger(sentences, (text) =>
      goldOffsets(sentences.find((g) => g.sentence === text)!).map((s) => ({ ...s, end: s.end + 1 })),
    );
    expect(shifted.exactUntyped.recall).toBe(0);
    expect(shifted.overlap.recall).toBe(1);
  });
});
