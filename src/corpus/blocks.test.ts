import { describe, expect, it } from 'vitest';
import { BlockSizeError, splitIntoBlocks, splitSentences } from './blocks';
import { WordPieceTokenizer } from './tokenizer';

const text =
  'Paris is the capital of France. It lies on the Seine! Is it large? Dr. Smith lived in the U.S. for years. ' +
  'The city hosted the 1900 Summer Olympics.';

describe('splitSentences', () => {
  it('splits at . ! ? but not after abbreviations or initials', () => {
    const s = splitSentences(text).map(({ start, end }) => text.slice(start, end));
    expect(s).toEqual([
      'Paris is the capital of France.',
      'It lies on the Seine!',
      'Is it large?',
      'Dr. Smith lived in the U.S. for years.',
      'The city hosted the 1900 Summer Olympics.',
    ]);
    expect(splitSentences('J. R. R. Tolkien wrote books. He was English.')).toHaveLength(2);
    // An initialism that ends a sentence (before: one sentence of two, which a held-out item could not show whole).
    const dc = 'The capital of United States is Washington D.C. The currency of United States is the US Dollar.';
    expect(splitSentences(dc).map(({ start, end }) => dc.slice(start, end))).toEqual([
      'The capital of United States is Washington D.C.',
      'The currency of United States is the US Dollar.',
    ]);
    expect(splitSentences('He served in the U.S. Army for years.')).toHaveLength(1);
  });
  it('keeps a final sentence without a period and ignores blank text', () => {
    expect(splitSentences('  one sentence without end  ')).toEqual([{ start: 2, end: 26 }]);
    expect(splitSentences('   ')).toEqual([]);
  });
});

describe('splitIntoBlocks', () => {
  const tok = WordPieceTokenizer.train([text, text, 'capital city seine olympics summer'], { vocabSize: 200 });
  const pieces = (title: string, body: string) => 3 + tok.encode(title).length + tok.encode(body).length;

  it('keeps every block within the wordpiece budget, cut on sentence boundaries', () => {
    const long = Array.from({ length: 12 }, () => text).join(' ');
    const blocks = splitIntoBlocks('Paris', long, tok, 64);
    expect(blocks.length).toBeGreaterThan(3);
    for (const b of blocks) {
      expect(pieces('Paris', b)).toBeLessThanOrEqual(64);
      expect(b).toMatch(/[.!?]$/);
    }
    // Nothing lost: the blocks hold every sentence in order.
    expect(blocks.join(' ').replace(/\s+/g, ' ')).toBe(long.replace(/\s+/g, ' '));
  });
  it('cuts a single over-long sentence at wordpiece boundaries', () => {
    const sentence = Array.from({ length: 80 }, () => 'capital').join(' ') + '.';
    const blocks = splitIntoBlocks('T', sentence, tok, 32);
    expect(blocks.length).toBeGreaterThan(2);
    for (const b of blocks) expect(pieces('T', b)).toBeLessThanOrEqual(32);
  });
  it('returns no block for an empty body, and refuses a title that leaves no room', () => {
    expect(splitIntoBlocks('Paris', '   ', tok)).toEqual([]);
    expect(() => splitIntoBlocks('capital '.repeat(40), 'x.', tok, 32)).toThrow(BlockSizeError);
  });
});
