import { describe, expect, it } from 'vitest';
import { answerPriorRecallAtK, swappedRecallAtK, swappedShare, utilitySummary } from './retrieval-stats';

describe('retrieval statistics', () => {
  it('answerPriorRecallAtK: the same k answer-rich passages for every query, its own passage left out', () => {
    // Passages as token rows; answers are single wordpieces 7, 8, 9. Row 0 ('a') holds 7 and 8, row 1
    // holds 7, row 2 holds 9, row 3 holds nothing.
    const docs = {
      ids: ['a', 'b', 'c', 'd'],
      tokens: [
        [2, 7, 8, 3],
        [2, 7, 3],
        [2, 9, 3],
        [2, 5, 3],
      ],
    };
    const seen = [{ answer: [7] }, { answer: [7] }, { answer: [8] }, { answer: [9] }];
    // seen answers held: a 3, b 2, c 1, d 0, so the prior's order is a, b, c, d
    const query = (answer: number[], sourceDocId: string) => ({
      inputIds: [2, 4, 3],
      maskPositions: [1],
      targets: answer,
      sourceDocId,
      answer,
    });
    // k = 1: a query from 'c' gets a; one from 'a' gets b (a is its own). Answers 8 (in a), 7 (in a, b), 9 (in c only)
    expect(answerPriorRecallAtK(docs, seen, [query([8], 'c')], 1)).toBe(1);
    expect(answerPriorRecallAtK(docs, seen, [query([8], 'a')], 1)).toBe(0);
    expect(answerPriorRecallAtK(docs, seen, [query([7], 'a')], 1)).toBe(1);
    expect(answerPriorRecallAtK(docs, seen, [query([9], 'b'), query([9], 'd')], 1)).toBe(0);
    // k = 3 reaches c for a query not from a, b or c: a, b, c
    expect(answerPriorRecallAtK(docs, seen, [query([9], 'd'), query([9], 'c'), query([8], 'a')], 3)).toBeCloseTo(1 / 3, 12);
    expect(Number.isNaN(answerPriorRecallAtK(docs, seen, [], 5))).toBe(true);
  });

  it("swappedRecallAtK: each query scored on the other queries' rows, its own passage left out", () => {
    // Rows 0-3 as above: 7 and 8 in a, 7 in b, 9 in c, nothing in d.
    const docs = {
      ids: ['a', 'b', 'c', 'd'],
      tokens: [
        [2, 7, 8, 3],
        [2, 7, 3],
        [2, 9, 3],
        [2, 5, 3],
      ],
    };
    const query = (answer: number[], sourceDocId: string) => ({
      inputIds: [2, 4, 3],
      maskPositions: [1],
      targets: answer,
      sourceDocId,
      answer,
    });
    const queries = [query([7], 'd'), query([9], 'a'), query([8], 'b')];
    // k = 1. q0 (answer 7) on q1's first row c (no) and q2's a (yes): 1 of 2. q1 (answer 9, from a) on
    // q0's c (yes) and q2's b, a being its own (no): 1 of 2. q2 (answer 8, only in a) on c and c: 0.
    expect(
      swappedRecallAtK(
        docs,
        queries,
        [
          [2, 3],
          [2, 0],
          [0, 1],
        ],
        1,
      ),
    ).toEqual([0.5, 0.5, 0]);
    // A query-independent retriever (the same rows for all) scores as well swapped as on its own rows:
    // b holds 7 (q0); q1 reads b too; q2 (from b) reads c.
    expect(
      swappedRecallAtK(
        docs,
        queries,
        [
          [1, 2],
          [1, 2],
          [1, 2],
        ],
        1,
      ),
    ).toEqual([1, 0, 0]);
    // k = 2 reaches the second row: q1 (answer 9) finds c second in q0's rows [d, c]; q2's [d, a] loses a (its own).
    const tops = [
      [3, 2],
      [3, 1],
      [3, 0],
    ];
    expect(swappedRecallAtK(docs, queries, tops, 1)).toEqual([1, 0, 0]);
    expect(swappedRecallAtK(docs, queries, tops, 2)).toEqual([1, 0.5, 0]);
    expect(() => swappedRecallAtK(docs, queries, [[0]], 1)).toThrow(/1 rows of results for 3 queries/);
    expect(() => swappedRecallAtK(docs, [queries[0]], [[0]], 1)).toThrow(/at least 2 queries/);
  });

  it('swappedShare: any holding rule, e.g. questions with several answer strings', () => {
    // Three questions; question i is answered by rows in answers[i] (one or several answer strings).
    const answers = [new Set([1, 4]), new Set([2]), new Set([0, 3])];
    const top2 = (i: number, rows: readonly number[]) => rows.slice(0, 2).some((r) => answers[i].has(r));
    // q0 on q1's [4, 2] (4: yes) and q2's [0, 2] (no): 1/2. q1 on [1, 3] (no) and [0, 2] (yes): 1/2.
    // q2 on [1, 3] (3: yes) and [4, 2] (no): 1/2.
    const tops = [
      [1, 3, 0],
      [4, 2, 0],
      [0, 2, 4],
    ];
    expect(swappedShare(tops, top2)).toEqual([0.5, 0.5, 0.5]);
    // Only the first row: q0 on 4 (yes) and 0 (no); q1 on 1 and 0 (no); q2 on 1 (no) and 4 (no).
    expect(swappedShare(tops, (i, rows) => answers[i].has(rows[0]))).toEqual([0.5, 0, 0]);
    expect(() => swappedShare([[0]], top2)).toThrow(/at least 2 queries/);
  });

  it('summarises utilities: mean, standard error, helped and hurt counts', () => {
    const s = utilitySummary([0.5, -0.1, 0, 0.2]);
    expect(s.mean).toBeCloseTo(0.15, 10);
    // sample variance: (0.35² + 0.25² + 0.15² + 0.05²) / 3 = 0.0633..., s.e. = sqrt(var / 4)
    expect(s.standardError).toBeCloseTo(Math.sqrt((0.1225 + 0.0625 + 0.0225 + 0.0025) / 3 / 4), 10);
    expect([s.helped, s.hurt]).toEqual([2, 1]);
    expect(Number.isNaN(utilitySummary([]).mean)).toBe(true);
  });
});
