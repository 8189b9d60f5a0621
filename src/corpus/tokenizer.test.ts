import { describe, expect, it } from 'vitest';
import {
  basicWords,
  CLS_ID,
  MASK_ID,
  PAD_ID,
  SEP_ID,
  SPECIAL_TOKENS,
  UNK_ID,
  VocabularyError,
  WordPieceTokenizer,
} from './tokenizer';

const small = new WordPieceTokenizer([
  ...SPECIAL_TOKENS,
  'un',
  '##aff',
  '##able',
  'the',
  'cafe',
  'paris',
  'is',
  'in',
  'france',
  ',',
  '.',
  '(',
  ')',
  '1789',
  'a',
  '##b',
  '##c',
  'b',
  'c',
  '東',
  '京',
  're',
  '##volution',
]);

describe('WordPieceTokenizer: BERT conventions', () => {
  it('fixes the special token ids', () => {
    expect([PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID]).toEqual([0, 1, 2, 3, 4]);
    expect(small.idOf('[MASK]')).toBe(MASK_ID);
  });
  it('splits a word greedily into ## continuation pieces (hand-checked)', () => {
    expect(small.tokenize('unaffable')).toEqual(['un', '##aff', '##able']);
    expect(small.tokenize('revolution')).toEqual(['re', '##volution']);
  });
  it('lower-cases, strips accents, and splits punctuation', () => {
    expect(small.tokenize('Café, Paris.')).toEqual(['cafe', ',', 'paris', '.']);
    expect(small.tokenize('(1789)')).toEqual(['(', '1789', ')']);
    expect(basicWords('Ünïcödé  TEXT\tx')).toEqual(['unicode', 'text', 'x']);
  });
  it('gives every CJK character its own word', () => {
    expect(small.tokenize('東京')).toEqual(['東', '京']);
  });
  it('maps unknown characters and unsegmentable words to one [UNK]', () => {
    expect(small.encode('paris ☃ zzz')).toEqual([small.idOf('paris'), UNK_ID, UNK_ID]);
  });
  it('maps a very long word to [UNK] instead of hundreds of pieces', () => {
    expect(small.tokenize('abc')).toEqual(['a', '##b', '##c']);
    expect(small.encode('a' + 'b'.repeat(200))).toEqual([UNK_ID]);
  });
  it('decodes by joining continuation pieces and dropping padding', () => {
    expect(small.decode([CLS_ID, small.idOf('un'), small.idOf('##aff'), small.idOf('##able'), PAD_ID, SEP_ID])).toBe(
      '[CLS] unaffable [SEP]',
    );
  });
  it('gives each piece its offsets in the original text, accents and all', () => {
    const text = 'Le Café (Paris)';
    const { ids, offsets } = small.encodeWithOffsets(text);
    const pieces = ids.map((id) => small.vocab[id]);
    expect(pieces).toEqual(['[UNK]', 'cafe', '(', 'paris', ')']);
    expect(offsets.map(([s, e]) => text.slice(s, e))).toEqual(['Le', 'Café', '(', 'Paris', ')']);
    const { offsets: o2 } = small.encodeWithOffsets('unaffable');
    expect(o2).toEqual([
      [0, 2],
      [2, 5],
      [5, 9],
    ]);
  });
  it('rejects a vocabulary without the special tokens first', () => {
    expect(() => new WordPieceTokenizer(['a', 'b'])).toThrow(VocabularyError);
    expect(() => new WordPieceTokenizer([...SPECIAL_TOKENS, 'x', 'x'])).toThrow(/appears twice/);
  });
  it('round-trips through JSON and vocab.txt', () => {
    expect(WordPieceTokenizer.fromJSON(small.toJSON()).vocab).toEqual(small.vocab);
    expect(WordPieceTokenizer.fromText(small.toText()).vocab).toEqual(small.vocab);
  });
});

describe('WordPieceTokenizer.train', () => {
  const corpus = [
    'Paris is the capital of France. The capital of France is Paris.',
    'Berlin is the capital of Germany. Germany borders France.',
    'Madrid is the capital of Spain. Spain borders France and Portugal.',
    'Lisbon is the capital of Portugal. Portugal borders Spain.',
    'The Eiffel Tower was built in Paris in 1889.',
  ];
  const texts = Array.from({ length: 20 }, () => corpus).flat();

  it('learns whole frequent words and keeps the specials first', () => {
    const tok = WordPieceTokenizer.train(texts, { vocabSize: 120 });
    expect(tok.vocab.slice(0, 5)).toEqual([...SPECIAL_TOKENS]);
    expect(tok.size).toBeLessThanOrEqual(120);
    for (const w of ['capital', 'france', 'paris', 'the']) expect(tok.tokenize(w)).toEqual([w]);
  });
  it('round-trips in-vocabulary text through encode and decode', () => {
    const tok = WordPieceTokenizer.train(texts, { vocabSize: 120 });
    const s = 'Lisbon is the capital of Portugal.';
    expect(tok.decode(tok.encode(s))).toBe('lisbon is the capital of portugal .');
    expect(tok.encode(s)).not.toContain(UNK_ID);
  });
  it('is deterministic', () => {
    const a = WordPieceTokenizer.train(texts, { vocabSize: 90 });
    const b = WordPieceTokenizer.train([...texts].reverse(), { vocabSize: 90 });
    expect(a.vocab).toEqual(b.vocab);
  });
  it('segments unseen words into known pieces rather than [UNK]', () => {
    const tok = WordPieceTokenizer.train(texts, { vocabSize: 150 });
    expect(tok.encode('Parisian')).not.toContain(UNK_ID);
  });
});
