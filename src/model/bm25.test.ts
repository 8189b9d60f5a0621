import { describe, expect, it } from 'vitest';
import { Bm25Retriever } from './bm25';
import { CLS_ID, MASK_ID, SEP_ID } from '../corpus/tokenizer';
import { documentStore, type ClozeQuery, type TokenizedPassage } from '../corpus/data';

// Rows: 0 "paris" passage (title 50), 1 "france" passage holding 50 in its body, 2 and 3 unrelated.
const passages: TokenizedPassage[] = [
  {
    id: 'p0',
    title: [50],
    sentences: [
      [60, 61, 62],
      [70, 71],
    ],
  },
  { id: 'p1', title: [51], sentences: [[80, 50, 61, 81]] },
  { id: 'p2', title: [52], sentences: [[90, 91, 92]] },
  { id: 'p3', title: [53], sentences: [[93, 94, 95, 96]] },
];
const docs = documentStore(passages, 64);
/** Sentence 0 of p0 ("60 61 62") with 61 masked; the answer is 50 (in p0's title and p1's body). */
const query: ClozeQuery = {
  inputIds: [CLS_ID, 60, MASK_ID, 62, SEP_ID],
  maskPositions: [2],
  targets: [61],
  sourceDocId: 'p0',
  sourceSentence: 0,
  answer: [50],
};

describe('Bm25Retriever', () => {
  it('never returns the own passage with passage exclusion, and ranks by shared terms', () => {
    const bm25 = new Bm25Retriever(docs);
    const q: ClozeQuery = { ...query, inputIds: [CLS_ID, 70, 80, MASK_ID, SEP_ID] };
    const top = bm25.search(q, 3, 'passage');
    expect(top).not.toContain(0);
    expect(top[0]).toBe(1); // shares 80 with p1; p0 (shares 70) is excluded
  });

  it("with 'sentence' it searches the own passage without the query sentence, and puts the sentence back", () => {
    const bm25 = new Bm25Retriever(docs);
    // The query's terms 60 and 62 appear only in the query sentence of p0: cut out, p0 does not match.
    expect(bm25.search(query, 3, 'sentence')).toEqual([]);
    // A query that also shares 70 (p0's other sentence) finds p0.
    expect(bm25.search({ ...query, inputIds: [CLS_ID, 60, 70, MASK_ID, SEP_ID] }, 3, 'sentence')).toEqual([0]);
    // The full passage is back for the next query (60 matches again in passage mode from another source).
    expect(bm25.search({ ...query, sourceDocId: 'p3' }, 3, 'passage')).toEqual([0]);
  });

  it('recall@k counts a passage holding the answer, as the model evaluation does', () => {
    const bm25 = new Bm25Retriever(docs);
    const q: ClozeQuery = { ...query, inputIds: [CLS_ID, 60, 81, MASK_ID, SEP_ID] }; // 81 only in p1, which holds 50
    expect(bm25.recallAtK([q], 1, 'passage')).toBe(1);
    expect(bm25.recallAtK([{ ...q, answer: [99] }], 1, 'passage')).toBe(0);
  });
});
