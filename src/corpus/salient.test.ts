import { describe, expect, it } from 'vitest';
import { Rng } from './rng';
import { chooseSpan, spansBySentence, tagSalientSpans, type SpanType } from './salient';

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

// The held-out items issue #31 quotes from the micro corpus, and the others a hand check found
// (docs/research/05-held-out-check.md). Without known names: what the page's importer does.
describe('tagSalientSpans: types and boundaries the held-out check found wrong', () => {
  const typed = (text: string, known?: Map<string, SpanType | null>) =>
    tagSalientSpans(text, known).map((s) => `${s.type}:${s.text}`);

  it('types the subject of "X is a river / was the capital" as a place, whatever the tagger guessed', () => {
    // Before: "organization:Avon" (compromise knows Avon the company) and "person:Clyde", "person:Lille".
    expect(typed('Avon is a river in central England that flows through Stratford-on-Avon and empties into the Severn.')).toEqual(
      ['place:Avon', 'place:England', 'place:Stratford-on-Avon', 'place:Severn'],
    );
    expect(typed('Clyde is a river in western Scotland that flows from the southern uplands into the Firth of Clyde.')).toEqual([
      'place:Clyde',
      'place:Scotland',
      'place:Firth of Clyde',
    ]);
    expect(typed('Lille was the medieval capital of Flanders.')).toEqual(['place:Lille', 'place:Flanders']);
    expect(typed('Strindberg was a Swedish dramatist and novelist.')).toEqual(['person:Strindberg']);
  });

  it('keeps a possessive, a demonym and an era out of names', () => {
    expect(typed("Venice is one of Italy's major ports.")).toEqual(['place:Venice', 'place:Italy']);
    expect(typed('Weimar is a German city near Leipzig. Berlin is also known as German capital.')).toEqual([
      'place:Weimar',
      'place:Leipzig',
      'place:Berlin',
    ]);
    expect(typed('Granada has a fortress built by Moors in the Middle Ages.')).not.toContain('person:Middle Ages');
    expect(typed("Hadrian's Wall is an ancient Roman wall built by Hadrian.")).toContain("place:Hadrian's Wall");
  });

  it("with the corpus's known names: whole names of the known type, and no span inside a name that is none", () => {
    const known = new Map<string, SpanType | null>([
      ['Germany', 'place'],
      ['Ruhr', 'place'],
      ['Saale', 'place'],
      ['Siegfried line', 'place'],
      ['Turks and Caicos Islands', 'place'],
      ['Trinidad and Tobago', 'place'],
      ['Tristan da Cunha', 'place'],
      ['World War II', null],
      ['Paris', 'place'],
    ]);
    // Before: "person:Siegfried" (a cut name, typed as a person).
    expect(typed('Germany includes Ruhr, Saale, Siegfried line and Stuttgart.', known)).toEqual([
      'place:Germany',
      'place:Ruhr',
      'place:Saale',
      'place:Siegfried line',
      'place:Stuttgart',
    ]);
    // Before: "Turks" and "Caicos Islands" were two spans, and "Tristan da Cunha" a person.
    expect(typed('English is spoken in Tristan da Cunha, Turks and Caicos Islands and Trinidad and Tobago.', known)).toEqual([
      'place:Tristan da Cunha',
      'place:Turks and Caicos Islands',
      'place:Trinidad and Tobago',
    ]);
    expect(typed('Namur saw intense fighting in World War II.', known)).toEqual(['place:Namur']);
    // A known name inside a longer name with a telling head yields to it.
    expect(typed('Paris University is an intellectual center of France.', known)).toContain('organization:Paris University');
    // The same text without known names: the tagger's guesses, as the page's importer keeps them.
    expect(typed('Germany includes Ruhr, Saale, Siegfried line and Stuttgart.')).not.toContain('place:Siegfried line');
  });
});

describe('tagSalientSpans: a known name inside a longer phrase', () => {
  it('does not cut "North" out of "North American" or "New York" out of "New York Times"', () => {
    const known = new Map<string, SpanType | null>([
      ['North', 'place'],
      ['New York', 'place'],
      ['Dominica', 'place'],
      ['Roseau', 'place'],
    ]);
    const typed = (t: string) => tagSalientSpans(t, known).map((s) => `${s.type}:${s.text}`);
    // Before: "place:North", a cut adjective.
    expect(typed('Dominica is a North American country whose capital city is Roseau.')).toEqual([
      'place:Dominica',
      'place:Roseau',
    ]);
    expect(typed('He wrote for the New York Times.')).not.toContain('place:New York');
    expect(typed('She moved to New York in 1990.')).toContain('place:New York');
  });
});

describe('tagSalientSpans: durations', () => {
  it('tags no duration as a date', () => {
    // Before: "date:every 65 minutes" (compromise-dates), a held-out item of the default corpus.
    const spans = tagSalientSpans('Old Faithful is a geyser that erupts for about 4 minutes about every 65 minutes.');
    expect(spans.filter((s) => s.type === 'date')).toEqual([]);
    expect(tagSalientSpans('Poe died in October 1849.').map((s) => s.text)).toContain('October 1849');
  });
});
