import { describe, expect, it } from 'vitest';
import { Rng } from './rng';
import { chooseSpan, spansBySentence, tagSalientSpans } from './salient';

const text =
  'Napoleon Bonaparte was born in Ajaccio, Corsica on 15 August 1769. The French Revolution began in 1789 in Paris, France. ' +
  'The United Nations met in New York on July 4, 1976.';

describe('tagSalientSpans', () => {
  const spans = tagSalientSpans(text);
  const pairs = spans.map((s) => `${s.type}:${s.text}`);

  it('finds people, places, organisations and dates with clean boundaries (hand-checked)', () => {
    for (const want of [
      'person:Napoleon Bonaparte',
      'place:Ajaccio',
      'place:Corsica',
      'date:15 August 1769',
      'date:1789',
      'place:Paris',
      'place:France',
      'organization:United Nations',
      'place:New York',
      'date:July 4, 1976',
    ]) {
      expect(pairs).toContain(want);
    }
  });
  it('gives offsets that point at the span text, sorted and non-overlapping', () => {
    spans.forEach((s, i) => {
      expect(text.slice(s.start, s.end)).toBe(s.text);
      if (i > 0) expect(s.start).toBeGreaterThanOrEqual(spans[i - 1].end);
    });
  });
  it('groups spans by sentence and picks one per sentence with a seeded RNG', () => {
    const groups = spansBySentence(text, spans);
    expect(groups).toHaveLength(3);
    const rng1 = new Rng(5);
    const rng2 = new Rng(5);
    const a = groups.map((g) => chooseSpan(g.spans, rng1)?.text);
    const b = groups.map((g) => chooseSpan(g.spans, rng2)?.text);
    expect(a).toEqual(b);
    groups.forEach((g, i) => expect(g.spans.map((s) => s.text)).toContain(a[i]));
    expect(chooseSpan([], rng1)).toBeNull();
  });
  it('returns nothing for text without entities', () => {
    expect(tagSalientSpans('it is a small thing that runs quickly.')).toEqual([]);
  });
});
