import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVAL_CTX, padBatch } from './bert';
import { makeConfig } from './config';
import { containsSpan, documentStore, syntheticWorld } from '../corpus/data';
import {
  answerPriorRecallAtK,
  answerRanks,
  evaluateCloze,
  RandomRetrieval,
  recallHits,
  swappedRecallAtK,
  swappedShare,
  utilitySummary,
} from './evaluate';
import { freshIndex } from './index-refresh';
import { DenseMipsIndex } from './mips';
import { readerInput } from './knowledge-encoder';
import { RealmModel } from './realm-model';
import { cutQuery } from './realm-step';
import { NULL_DOC_TOKENS } from './retriever';
import { Rng } from '../corpus/rng';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('evaluateCloze', () => {
  it('held-out log-likelihoods: the null-only one matches the reader run on [CLS] x [SEP] [SEP] [SEP] alone; utilities are their difference', async () => {
    const data = syntheticWorld(6, { seedRng: new Rng(4) });
    const cfg = makeConfig('tiny', { vocabSize: data.vocabSize, hidden: 16, intermediate: 32, retrieverDim: 8, k: 4 });
    const rng = new Rng(11);
    const model = new RealmModel(cfg, () => rng.nextUint32());
    const docs = documentStore(data.passages, cfg.maxDocLength);
    const index = await freshIndex(model, docs);
    const queries = data.heldOut.slice(0, 5);
    const before = tf.memory().numTensors;
    const e = await evaluateCloze(model, index, docs, queries, 3, { logLikelihood: true });
    const plain = await evaluateCloze(model, index, docs, queries, 3);
    expect([plain.utilities, plain.clozeAccuracy, plain.tokenAccuracyNullOnly]).toEqual([
      [],
      e.clozeAccuracy,
      e.tokenAccuracyNullOnly,
    ]);
    expect(tf.memory().numTensors).toBe(before);
    expect(e.utilities).toHaveLength(queries.length);

    // Independently: log p(y_j | null, x) from the reader on each query with the null document, one at a time.
    let nullSum = 0;
    for (const q of queries) {
      const row = readerInput(cutQuery(q.inputIds, cfg.maxQueryLength), NULL_DOC_TOKENS, cfg.maxReaderLength);
      const logp = tf.tidy(() => {
        const { ids, segments } = padBatch([row], cfg.maxReaderLength);
        const positions = tf.tensor2d(Array.from(q.maskPositions), [1, q.maskPositions.length], 'int32');
        return tf.logSoftmax(model.reader.mlmLogits(ids, segments, positions, EVAL_CTX), -1).arraySync() as number[][][];
      });
      const per = Array.from(q.targets).map((t, j) => logp[0][j][t]);
      nullSum += per.reduce((a, b) => a + b, 0) / per.length;
    }
    expect(e.logLikelihoodNullOnly).toBeCloseTo(nullSum / queries.length, 4);
    const meanUtility = e.utilities.reduce((a, b) => a + b, 0) / e.utilities.length;
    expect(e.logLikelihood - e.logLikelihoodNullOnly).toBeCloseTo(meanUtility, 5);
    expect(e.logLikelihood).toBeLessThan(0);
    index.dispose();
    model.dispose();
  });

  it('RandomRetrieval (the control) returns k distinct random rows, never the excluded passage, reproducibly by seed', () => {
    const ids = ['a', 'b', 'c', 'd', 'e'];
    const q = tf.zeros([40, 2]) as tf.Tensor2D;
    const rowsOf = (seed: number) => {
      const r = new RandomRetrieval(ids, new Rng(seed)).search(
        q,
        4,
        Array.from({ length: 40 }, (_, i) => ids[i % 5]),
      );
      r.scores.dispose();
      const rows = r.indices.arraySync() as number[][];
      r.indices.dispose();
      return rows;
    };
    const rows = rowsOf(1);
    rows.forEach((row, i) => {
      expect(new Set(row).size).toBe(4);
      expect(row.map((x) => ids[x])).not.toContain(ids[i % 5]);
    });
    expect(rowsOf(1)).toEqual(rows);
    expect(rowsOf(2)).not.toEqual(rows);
    // every allowed row turns up somewhere: the draw is not stuck on a few rows
    expect(new Set(rows.flat()).size).toBe(5);
    expect(() => new RandomRetrieval(ids, new Rng(1)).search(q, 5, ['a'])).toThrow(/5 rows asked, 4 allowed/);
    q.dispose();
  });

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

  it('answerRanks: the rank of the first answer passage matches a plain-number ranking of every passage; recallHits counts ranks <= 5', async () => {
    const data = syntheticWorld(8, { seedRng: new Rng(5) });
    const cfg = makeConfig('tiny', { vocabSize: data.vocabSize, hidden: 16, intermediate: 32, retrieverDim: 4, k: 4 });
    const rng = new Rng(3);
    const model = new RealmModel(cfg, () => rng.nextUint32());
    const docs = documentStore(data.passages, cfg.maxDocLength);
    const n = docs.ids.length;
    const vectors = Float32Array.from({ length: n * 4 }, () => rng.next() * 2 - 1); // any index will do
    const index = new DenseMipsIndex(0, vectors, docs.ids, 4);
    const queries = data.heldOut.slice(0, 12);
    const before = tf.memory().numTensors;
    const { ranks, rows } = await answerRanks(model, index, docs, queries, n - 1);
    expect(tf.memory().numTensors).toBe(before);
    const q = tf.tidy(
      () =>
        model.embedInput
          .embedRows(
            queries.map((x) => cutQuery(x.inputIds, cfg.maxQueryLength)),
            cfg.maxQueryLength,
          )
          .arraySync() as number[][],
    );
    queries.forEach((query, i) => {
      const order = docs.ids
        .map((id, r) => ({ id, r, score: q[i].reduce((a, x, j) => a + x * vectors[r * 4 + j], 0) }))
        .filter((c) => c.id !== query.sourceDocId)
        .sort((a, b) => b.score - a.score)
        .map((c) => c.r);
      expect(rows[i]).toEqual(order);
      const at = order.findIndex((r) => containsSpan(docs.tokens[r], query.answer));
      expect(ranks[i]).toBe(at < 0 ? null : at + 1);
    });
    expect(ranks.some((r) => r !== null && r > 5)).toBe(true); // the test reaches past the top 5
    expect(await recallHits(model, index, docs, queries, 5)).toBe(ranks.filter((r) => r !== null && r <= 5).length);
    index.dispose();
    model.dispose();
  });
});
