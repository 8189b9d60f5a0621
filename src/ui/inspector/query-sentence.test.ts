import { describe, expect, it } from 'vitest';
import { CLS_ID, MASK_ID, SEP_ID } from '../../corpus/tokenizer';
import { queryFromTypedText } from '../../model/inspection';
import { WordPieceTokenizer } from '../../corpus/tokenizer';
import { latestBatchQueries, querySentence, sentenceChoices } from './query-sentence';

const tok = new WordPieceTokenizer([
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'paris',
  'is',
  'the',
  'capital',
  'of',
  'france',
  '.',
  'new',
  'york',
  'born',
  'in',
  '18',
  '##99',
  'ab',
  '##ba',
]);
const id = (w: string) => tok.vocab.indexOf(w);

/** `[CLS] words [SEP]` with the words at `masked` replaced by [MASK] (targets = the words). */
function masked(words: string[], at: number[]) {
  const inputIds = [CLS_ID, ...words.map((w, i) => (at.includes(i) ? MASK_ID : id(w))), SEP_ID];
  return { inputIds, maskPositions: at.map((i) => i + 1), targets: at.map((i) => id(words[i])), sourceDocId: null };
}

describe('querySentence', () => {
  it('gathers consecutive masks into one highlighted span holding the answer, and keeps the spaces in plain text', () => {
    const q = masked(['new', 'york', 'is', 'the', 'capital', '.'], [0, 1]);
    const s = querySentence(tok, q);
    expect(s.answers).toEqual(['new york']);
    expect(s.spanOfMask).toEqual([0, 0]);
    expect(s.masked).toBe('[MASK] is the capital .');
    expect(s.pieces).toEqual([
      { text: 'new york', span: 0 },
      { text: ' is the capital .', span: null },
    ]);
  });

  it('joins continuation pieces inside and outside spans, and numbers separate spans in order', () => {
    const q = masked(['ab', '##ba', 'born', 'in', '18', '##99', 'paris'], [4, 5, 6]);
    const s = querySentence(tok, q);
    expect(s.pieces.map((p) => p.text).join('')).toBe('abba born in 1899 paris');
    expect(s.answers).toEqual(['1899 paris']);
    const two = querySentence(tok, masked(['paris', 'is', 'in', 'france'], [0, 3]));
    expect(two.answers).toEqual(['paris', 'france']);
    expect(two.spanOfMask).toEqual([0, 1]);
    expect(two.masked).toBe('[MASK] is in [MASK]');
    expect(two.pieces.filter((p) => p.span !== null).map((p) => p.text)).toEqual(['paris', 'france']);
  });

  it('shows [MASK] for a typed mask whose answer is unknown, and the answer when one was given', () => {
    const unknown = querySentence(tok, queryFromTypedText(tok, 'Paris is the capital of [MASK].'));
    expect(unknown.answers).toEqual(['']);
    expect(unknown.pieces.map((p) => p.text).join('')).toBe('paris is the capital of [MASK] .');
    const known = querySentence(tok, queryFromTypedText(tok, '[MASK] is the capital of France.', 'New York'));
    expect(known.answers).toEqual(['new york']);
    expect(known.spanOfMask).toEqual([0, 0]);
    expect(known.masked).toBe('[MASK] is the capital of france .');
  });

  it('lists picker entries with their span type', () => {
    const q = { ...masked(['paris', 'is', 'in', 'france'], [3]), answer: [id('france')], spanType: 'place' };
    const c = sentenceChoices(tok, 'heldout', [q, masked(['paris', 'is'], [0])]);
    expect(c.map((x) => [x.index, x.label, x.spanType])).toEqual([
      [0, 'paris is in [MASK]', 'place'],
      [1, '[MASK] is', null],
    ]);
    expect(sentenceChoices(tok, 'training', [q, q, q], 2)).toHaveLength(2);
  });
});

describe('latestBatchQueries', () => {
  it("reads the trainer's latest batch when it exposes one, else null", () => {
    const q = { inputIds: [CLS_ID, MASK_ID, SEP_ID], maskPositions: [1], targets: [5], sourceDocId: null };
    expect(latestBatchQueries({ lastRealmQueries: [q] })).toEqual([q]);
    expect(latestBatchQueries({})).toBeNull();
    expect(latestBatchQueries({ lastRealmQueries: 'no' })).toBeNull();
  });
});
