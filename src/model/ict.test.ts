import { describe, expect, it } from 'vitest';
import { CLS_ID, MASK_ID, SEP_ID } from '../corpus/tokenizer';
import { makeConfig } from './config';
import { docTokens, type TokenizedPassage } from '../corpus/data';
import { makeIctBatch } from './ict';
import type { RealmQuery } from '../corpus/data';
import { Rng } from '../corpus/rng';

const passages: TokenizedPassage[] = [
  {
    id: 'a',
    title: [10],
    sentences: [
      [20, 21, 22],
      [23, 24],
      [25, 26, 27],
    ],
  },
  {
    id: 'b',
    title: [11],
    sentences: [
      [30, 31],
      [32, 33, 34],
    ],
  },
];
/** Masked REALM queries of passage a: sentence 1 with its second token masked. */
const maskedOfA: RealmQuery[] = [
  { inputIds: [CLS_ID, 23, MASK_ID, SEP_ID], maskPositions: [2], targets: [24], sourceDocId: 'a', sourceSentence: 1 },
];
const cfg = (p: number) => makeConfig('tiny', { vocabSize: 64, ictMaskedQueryProbability: p });

describe('makeIctBatch', () => {
  it('uses plain sentences and removes them from the passage (removal probability 1)', () => {
    const b = makeIctBatch(passages, [0, 1], new Rng(1), cfg(0), 1, () => maskedOfA);
    b.queries.forEach((q, i) => {
      const body = q.slice(1, -1);
      expect(q[0]).toBe(CLS_ID);
      expect(q.includes(MASK_ID)).toBe(false);
      const s = passages[i].sentences.findIndex((x) => x.join() === body.join());
      expect(s).toBeGreaterThanOrEqual(0);
      expect(Array.from(b.passages[i])).toEqual(Array.from(docTokens(passages[i], cfg(0).maxDocLength, s)));
    });
  });

  it('with ictMaskedQueryProbability 1, a passage that has masked queries sends one and loses that sentence', () => {
    const b = makeIctBatch(passages, [0, 1], new Rng(2), cfg(1), 1, (row) => (row === 0 ? maskedOfA : []));
    expect(b.queries[0]).toEqual([CLS_ID, 23, MASK_ID, SEP_ID]);
    expect(Array.from(b.passages[0])).toEqual([CLS_ID, 10, SEP_ID, 20, 21, 22, 25, 26, 27, SEP_ID]);
    // Passage b has no masked query: a plain sentence.
    expect(b.queries[1].includes(MASK_ID)).toBe(false);
  });

  it('mixes both kinds at an intermediate probability', () => {
    let masked = 0;
    const rng = new Rng(3);
    for (let i = 0; i < 400; i++)
      if (makeIctBatch(passages, [0], rng, cfg(0.5), 0.9, () => maskedOfA).queries[0].includes(MASK_ID)) masked++;
    expect(masked / 400).toBeGreaterThan(0.4);
    expect(masked / 400).toBeLessThan(0.6);
  });
});
