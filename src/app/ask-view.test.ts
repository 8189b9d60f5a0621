import { describe, expect, it } from 'vitest';
import { spanSegments } from './ask-view';

const span = (text: string, body: string, score: number) => {
  const charStart = body.indexOf(text);
  return { text, charStart, charEnd: charStart + text.length, score };
};

describe('spanSegments', () => {
  const body = 'Amsterdam is the capital of the Netherlands.';
  it('cuts the body at every span boundary and keeps all of its text', () => {
    const spans = [span('the Netherlands', body, 2), span('Netherlands', body, 3), span('Amsterdam', body, 1)];
    const segs = spanSegments(body, spans, [spans[1].charStart, spans[1].charEnd]);
    expect(segs.map((s) => s.text).join('')).toBe(body);
    expect(segs.map((s) => [s.text, s.scores, s.answer])).toEqual([
      ['Amsterdam', [1], false],
      [' is the capital of ', [], false],
      ['the ', [2], false],
      ['Netherlands', [3, 2], true],
      ['.', [], false],
    ]);
  });

  it('marks nothing without spans, and ignores spans outside the body', () => {
    expect(spanSegments(body, [])).toEqual([{ text: body, scores: [], answer: false }]);
    expect(spanSegments('abc', [{ text: 'x', charStart: 2, charEnd: 9, score: 1 }])).toEqual([
      { text: 'abc', scores: [], answer: false },
    ]);
  });

  it('keeps markup-like text as plain text', () => {
    const b = '<img src=x onerror=alert(1)> Paris';
    const segs = spanSegments(b, [span('Paris', b, 1)]);
    expect(segs[0].text).toBe('<img src=x onerror=alert(1)> ');
    expect(segs[1]).toEqual({ text: 'Paris', scores: [1], answer: false });
  });
});
