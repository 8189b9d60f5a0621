import { describe, expect, it } from 'vitest';
import { heldOutKey } from './corpus-format';
import { createMasker, maskPassage, meanSpanLength, sampleSpanLength, type MaskedExample, type SentenceToMask } from './masking';
import { Rng } from './rng';
import { tagSalientSpans } from './salient';
import { CLS_ID, MASK_ID, SEP_ID, WordPieceTokenizer } from './tokenizer';

const VOCAB = 1000;

/** A synthetic sentence of n wordpieces with ids 100.., one character per piece plus a space. */
function sentence(n: number, spans: SentenceToMask['spans'] = []): SentenceToMask {
  const ids = Array.from({ length: n }, (_, i) => 100 + (i % 800));
  const offsets = ids.map((_, i) => [2 * i, 2 * i + 1] as [number, number]);
  return { ids, offsets, spans, sourceDocId: 'doc' };
}

/** Checks that hold for every strategy. */
function checkExample(ex: MaskedExample, s: SentenceToMask, maxLength = 128) {
  const len = Math.min(s.ids.length, maxLength - 2);
  expect(ex.inputIds).toHaveLength(len + 2);
  expect(ex.inputIds[0]).toBe(CLS_ID);
  expect(ex.inputIds[ex.inputIds.length - 1]).toBe(SEP_ID);
  expect(ex.maskPositions.length).toBeGreaterThan(0);
  expect(ex.targets).toHaveLength(ex.maskPositions.length);
  expect([...ex.maskPositions].sort((a, b) => a - b)).toEqual(ex.maskPositions);
  expect(new Set(ex.maskPositions).size).toBe(ex.maskPositions.length);
  for (const p of ex.maskPositions) {
    expect(p).toBeGreaterThanOrEqual(1);
    expect(p).toBeLessThanOrEqual(len); // never [CLS] (0) or [SEP] (len + 1)
  }
  expect(ex.sourceDocId).toBe(s.sourceDocId);
  return ex;
}

/** The original ids at the masked positions of an example cut from s at window offset `from`. */
function originals(ex: MaskedExample, s: SentenceToMask, from = 0) {
  return ex.maskPositions.map((p) => s.ids[from + p - 1]);
}

describe('sampleSpanLength', () => {
  it('follows the geometric distribution truncated at 10 (mean 3.8)', () => {
    expect(meanSpanLength()).toBeCloseTo(3.797, 3);
    const rng = new Rng(3);
    const n = 40_000;
    const counts = new Array(12).fill(0);
    for (let i = 0; i < n; i++) counts[sampleSpanLength(rng)]++;
    expect(counts[0]).toBe(0);
    expect(counts[11]).toBe(0);
    const mean = counts.reduce((a, c, l) => a + c * l, 0) / n;
    expect(Math.abs(mean - 3.797)).toBeLessThan(0.06);
    // P(L = 1) = 0.2 / (1 - 0.8^10) = 0.224
    expect(Math.abs(counts[1] / n - 0.2 / (1 - 0.8 ** 10))).toBeLessThan(0.01);
  });
});

describe('salient masking', () => {
  it('masks every wordpiece of one salient span and names its type', () => {
    // Pieces 3..5 cover characters [6, 11); piece 8 covers [16, 17).
    const s = sentence(12, [
      { start: 6, end: 11, type: 'person' },
      { start: 16, end: 17, type: 'date' },
    ]);
    const m = createMasker('salient', { vocabSize: VOCAB });
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const ex = checkExample(m.mask(s, new Rng(seed))!, s);
      expect(ex.targets).toEqual(originals(ex, s));
      for (const p of ex.maskPositions) expect(ex.inputIds[p]).toBe(MASK_ID);
      if (ex.spanType === 'person') expect(ex.maskPositions).toEqual([4, 5, 6]);
      else expect(ex.maskPositions).toEqual([9]);
      seen.add(ex.spanType!);
    }
    expect(seen).toEqual(new Set(['person', 'date'])); // both spans get chosen
    expect(m.stats).toMatchObject({ sentences: 20, examples: 20, salient: 20, fallback: 0 });
    expect(m.stats.byType.person + m.stats.byType.date).toBe(20);
  });
  it('falls back to a random span when the sentence has none, and counts it', () => {
    const m = createMasker('salient', { vocabSize: VOCAB });
    const s = sentence(30);
    const ex = checkExample(m.mask(s, new Rng(1))!, s);
    expect(ex.spanType).toBeUndefined();
    expect(ex.targets).toEqual(originals(ex, s));
    const p = ex.maskPositions;
    expect(p[p.length - 1] - p[0] + 1).toBe(p.length); // one contiguous span
    expect(p.length).toBeLessThanOrEqual(10);
    m.mask(sentence(5, [{ start: 100, end: 104, type: 'place' }]), new Rng(2)); // span outside the sentence
    expect(m.stats.fallback).toBe(2);
    expect(m.stats.salient).toBe(0);
  });
  it('cuts a long salient span to maxMasks and a long sentence to a window that holds the span', () => {
    const s = sentence(300, [{ start: 400, end: 440, type: 'organization' }]); // pieces 200..219
    const m = createMasker('salient', { vocabSize: VOCAB, maxLength: 64, maxMasks: 8 });
    const ex = checkExample(m.mask(s, new Rng(1))!, s, 64);
    expect(ex.maskPositions).toHaveLength(8);
    const from = 200 - (ex.maskPositions[0] - 1);
    expect(from).toBeGreaterThan(0);
    expect(ex.targets).toEqual(originals(ex, s, from));
    expect(ex.targets[0]).toBe(s.ids[200]);
  });
  it('returns null for an empty sentence', () => {
    const m = createMasker('salient', { vocabSize: VOCAB });
    expect(m.mask(sentence(0), new Rng(1))).toBeNull();
    expect(m.stats.empty).toBe(1);
  });
});

describe('random-token masking (BERT 80/10/10)', () => {
  it('masks 15% of the wordpieces; 80% [MASK], 10% random, 10% unchanged on a large sample', () => {
    const m = createMasker('random-token', { vocabSize: VOCAB });
    const rng = new Rng(11);
    let masked = 0;
    let total = 0;
    let asMask = 0;
    let asSame = 0;
    let asOther = 0;
    for (let i = 0; i < 4000; i++) {
      const s = sentence(20 + (i % 21));
      const ex = checkExample(m.mask(s, rng)!, s);
      expect(ex.targets).toEqual(originals(ex, s));
      expect(ex.maskPositions).toHaveLength(Math.max(1, Math.round(s.ids.length * 0.15)));
      total += s.ids.length;
      for (const [j, p] of ex.maskPositions.entries()) {
        masked++;
        const got = ex.inputIds[p];
        if (got === MASK_ID) asMask++;
        else if (got === ex.targets[j]) asSame++;
        else {
          asOther++;
          expect(got).toBeGreaterThanOrEqual(5);
          expect(got).toBeLessThan(VOCAB);
        }
      }
      // Unmasked positions keep their ids.
      ex.inputIds.slice(1, -1).forEach((id, k) => ex.maskPositions.includes(k + 1) || expect(id).toBe(s.ids[k]));
    }
    expect(Math.abs(masked / total - 0.15)).toBeLessThan(0.01);
    // ~18,000 masked positions: 3 standard deviations of a 10% share are about 0.7 points.
    expect(Math.abs(asMask / masked - 0.8)).toBeLessThan(0.01);
    expect(Math.abs(asOther / masked - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(asSame / masked - 0.1)).toBeLessThan(0.01);
  });
  it('masks at least one wordpiece of a short sentence and respects maxMasks', () => {
    const m = createMasker('random-token', { vocabSize: VOCAB, maxMasks: 3 });
    expect(m.mask(sentence(2), new Rng(1))!.maskPositions).toHaveLength(1);
    expect(m.mask(sentence(100), new Rng(1))!.maskPositions).toHaveLength(3);
  });
});

describe('random-span masking (SpanBERT)', () => {
  it('masks contiguous spans of geometric length, about 15% of the wordpieces', () => {
    const m = createMasker('random-span', { vocabSize: VOCAB });
    const rng = new Rng(5);
    const lengths: number[] = [];
    let masked = 0;
    let total = 0;
    for (let i = 0; i < 3000; i++) {
      const s = sentence(100);
      const ex = checkExample(m.mask(s, rng)!, s);
      expect(ex.targets).toEqual(originals(ex, s));
      for (const p of ex.maskPositions) expect(ex.inputIds[p]).toBe(MASK_ID);
      masked += ex.maskPositions.length;
      total += 100;
      // Spans never touch each other, so the runs of consecutive positions are the spans.
      let run = 1;
      for (let k = 1; k <= ex.maskPositions.length; k++) {
        if (k < ex.maskPositions.length && ex.maskPositions[k] === ex.maskPositions[k - 1] + 1) run++;
        else {
          lengths.push(run);
          run = 1;
        }
      }
    }
    const share = masked / total;
    expect(share).toBeGreaterThanOrEqual(0.15);
    expect(share).toBeLessThan(0.19); // the last span may overshoot the budget
    expect(Math.max(...lengths)).toBeLessThanOrEqual(10);
    const mean = lengths.reduce((a, b) => a + b, 0) / lengths.length;
    // Spans that would not fit the remaining budget are less often kept at the end, so the
    // observed mean sits a little under the distribution's 3.8.
    expect(mean).toBeGreaterThan(3.3);
    expect(mean).toBeLessThan(4.0);
  });
});

describe('every strategy', () => {
  for (const strategy of ['salient', 'random-token', 'random-span'] as const) {
    it(`${strategy}: is deterministic under a seed`, () => {
      const run = (seed: number) => {
        const m = createMasker(strategy, { vocabSize: VOCAB });
        const rng = new Rng(seed);
        return Array.from({ length: 50 }, (_, i) =>
          m.mask(sentence(10 + i, i % 2 ? [{ start: 2, end: 7, type: 'place' }] : []), rng),
        );
      };
      expect(run(7)).toEqual(run(7));
      expect(run(7)).not.toEqual(run(8));
    });
  }
});

describe('maskPassage', () => {
  const text = 'Napoleon was born in Ajaccio in 1769. He crowned himself in Paris. It rained.';
  const tok = WordPieceTokenizer.train([text, text], { vocabSize: 120 });
  const passage = { id: 'p1', text, spans: tagSalientSpans(text) };

  it('masks one salient span per sentence with targets mapped through the offsets', () => {
    const m = createMasker('salient', { vocabSize: tok.size });
    const exs = maskPassage(passage, tok, m, new Rng(1));
    expect(exs).toHaveLength(3);
    const answers = exs.map((ex) => tok.decode(ex.targets));
    expect(['napoleon', 'ajaccio', '1769']).toContain(answers[0]);
    expect(answers[1]).toBe('paris');
    expect(m.stats.fallback).toBe(1); // "It rained." has no salient span
    for (const ex of exs) expect(ex.sourceDocId).toBe('p1');
  });
  it('skips held-out sentences', () => {
    const m = createMasker('salient', { vocabSize: tok.size });
    const second = text.indexOf('He crowned');
    const exs = maskPassage(passage, tok, m, new Rng(1), new Set([heldOutKey('p1', second)]));
    expect(exs).toHaveLength(2);
    expect(exs.map((e) => tok.decode(e.inputIds))).not.toContain(expect.stringContaining('crowned'));
    expect(m.stats.heldOut).toBe(1);
  });
  it('gives one query per salient span, up to spansPerSentence, each masking exactly that span', () => {
    const all = maskPassage(passage, tok, createMasker('salient', { vocabSize: tok.size }), new Rng(3), new Set(), 8);
    // Napoleon, Ajaccio, 1769 | Paris | the fallback for "It rained."
    expect(all).toHaveLength(5);
    expect(
      all
        .slice(0, 3)
        .map((ex) => tok.decode(ex.targets))
        .sort(),
    ).toEqual(['1769', 'ajaccio', 'napoleon']);
    expect(all.slice(0, 3).every((ex) => ex.sourceSentence === 0 && ex.maskPositions.length === ex.targets.length)).toBe(true);
    expect(tok.decode(all[3].targets)).toBe('paris');
    expect(all[4].sourceSentence).toBe(2);
    const two = maskPassage(passage, tok, createMasker('salient', { vocabSize: tok.size }), new Rng(3), new Set(), 2);
    expect(two.filter((ex) => ex.sourceSentence === 0)).toHaveLength(2);
    expect(new Set(two.filter((ex) => ex.sourceSentence === 0).map((ex) => tok.decode(ex.targets))).size).toBe(2);
    // Other strategies do not read spans: one query per sentence whatever the limit.
    expect(
      maskPassage(passage, tok, createMasker('random-span', { vocabSize: tok.size }), new Rng(3), new Set(), 8),
    ).toHaveLength(3);
  });
});
