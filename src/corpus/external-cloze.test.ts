import { describe, expect, it } from 'vitest';
import { externalClozeQueries, parseExternalCloze } from './external-cloze';
import { MASK_ID, WordPieceTokenizer } from './tokenizer';

const tok = new WordPieceTokenizer([
  '[PAD]',
  '[UNK]',
  '[CLS]',
  '[SEP]',
  '[MASK]',
  'ada',
  'wrote',
  'notes',
  'with',
  'charles',
  'babbage',
  'in',
  'london',
  '.',
  '##s',
  'paris',
  'is',
  'big',
]);

describe('external cloze files (npm run eval --cloze)', () => {
  it('reads {doc_id?, title?, sentence with [MASK], answer} and the bundled form; a bad line names its number', () => {
    const items = parseExternalCloze(
      [
        JSON.stringify({ doc_id: 7, title: 'Ada', sentence: 'Ada wrote notes with [MASK].', answer: 'Charles Babbage' }),
        '',
        JSON.stringify({ masked: '[MASK] is big.', sentence: 'Paris is big.', answer: 'Paris', sourceId: 'abc' }),
      ].join('\n'),
    );
    expect(items).toEqual([
      { docId: '7', title: 'Ada', sentence: 'Ada wrote notes with [MASK].', answer: 'Charles Babbage', line: 1 },
      { docId: 'abc', sentence: '[MASK] is big.', answer: 'Paris', line: 3 },
    ]);
    expect(() => parseExternalCloze('{"sentence": "no mask", "answer": "x"}', 'q.jsonl')).toThrow(
      /q\.jsonl, line 1: .*exactly one \[MASK\]/,
    );
    expect(() => parseExternalCloze('{"sentence": "[MASK] [MASK]", "answer": "x"}')).toThrow(/holds 2/);
    expect(() => parseExternalCloze('\n{"sentence": "a [MASK]"}')).toThrow(/line 2: field "answer"/);
    expect(() => parseExternalCloze('[1]')).toThrow(/expected a JSON object/);
  });

  it("masks exactly the answer's wordpieces; gold rows by passage id or by the imported record's docId", () => {
    const items = parseExternalCloze(
      [
        JSON.stringify({ doc_id: 'd1', sentence: 'Ada wrote notes with [MASK] in London.', answer: 'Charles Babbage' }),
        JSON.stringify({ doc_id: 'p2', sentence: '[MASK] is big.', answer: 'Paris' }),
        JSON.stringify({ doc_id: 'nowhere', sentence: 'Ada is [MASK].', answer: 'big' }),
        JSON.stringify({ sentence: 'Ada wrote [MASK].', answer: '\u200b' }), // an invisible answer: no wordpiece
      ].join('\n'),
    );
    const passages = [{ id: 'p0', docId: 'd1' }, { id: 'p1' }, { id: 'p2' }, { id: 'p3', docId: 'd1' }];
    const q = externalClozeQueries(items, tok, passages, 32);
    expect(q.queries).toHaveLength(3);
    expect(q.skipped).toEqual([{ line: 4, reason: 'the answer has no wordpiece the tokenizer reads' }]);
    // [CLS] ada wrote notes with [MASK] [MASK] in london . [SEP]
    const first = q.queries[0];
    expect(Array.from(first.inputIds)).toEqual([2, 5, 6, 7, 8, MASK_ID, MASK_ID, 11, 12, 13, 3]);
    expect(Array.from(first.maskPositions)).toEqual([5, 6]);
    expect(first.answer).toEqual([9, 10]);
    expect(first.sourceDocId).toBeNull(); // nothing excluded from retrieval
    expect(q.gold).toEqual([[0, 3], [2], null]);
    expect(q.own).toEqual([null, null, null]); // no passage text given: nothing to cut
  });

  it("finds the gold passage that still holds the sentence itself: its row, the sentence's index and offsets", () => {
    const items = parseExternalCloze(
      [
        JSON.stringify({ doc_id: 'p1', sentence: 'Paris is [MASK].', answer: 'big' }),
        JSON.stringify({ doc_id: 'p1', sentence: 'Ada is [MASK].', answer: 'big' }), // not a sentence of p1
      ].join('\n'),
    );
    const text = 'Ada wrote notes. London is big. Paris  is big. London.';
    const passages = [
      { id: 'p0', text: 'Paris is big.' },
      { id: 'p1', text },
    ];
    const q = externalClozeQueries(items, tok, passages, 32);
    const start = text.indexOf('Paris');
    // Sentences: "Ada wrote notes." (0), "London is big." (1), "Paris  is big." (2; spaces squashed to compare).
    expect(q.own).toEqual([{ row: 1, sentence: 2, start, end: start + 'Paris  is big.'.length }, null]);
  });
});
