import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVAL_CTX, padBatch } from './bert';
import { makeConfig } from './config';
import { containsSpan, documentStore, syntheticWorld } from '../corpus/data';
import {
  answerRanks,
  answerRecallAtK,
  chanceOfHit,
  chanceRecallAtK,
  evaluateCloze,
  formatMetric,
  goldRecallAtK,
  holdsAnswer,
  normaliseAnswerText,
  RandomRetrieval,
  recallHits,
  topKRows,
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

describe('retrieval metrics on rankings (npm run eval)', () => {
  // Four queries' top 3 rows, best first, worked out by hand.
  const rankings = [
    [3, 1, 2],
    [0, 4, 5],
    [7, 8, 9],
    [1, 2, 3],
  ];

  it('gold-passage recall@k counts only the queries with a gold passage, a hit when one of its rows is in the top k', () => {
    const gold = [[1], [5], null, [9, 6]];
    // k = 2: q0 [3,1] holds 1; q1 [0,4] lacks 5; q2 has no gold (not counted); q3 [1,2] lacks 9 and 6.
    expect(goldRecallAtK(rankings, gold, 2)).toEqual({ recall: 1 / 3, hits: 1, queries: 3 });
    // k = 3: q1's 5 comes in.
    expect(goldRecallAtK(rankings, gold, 3)).toEqual({ recall: 2 / 3, hits: 2, queries: 3 });
    // An empty gold list counts as none.
    expect(goldRecallAtK(rankings, [[], [], [], []], 3).queries).toBe(0);
  });

  it('answer recall@k: a top-k row for which the predicate holds', () => {
    const holding = new Map([
      [0, new Set([2])],
      [1, new Set([0])],
      [2, new Set<number>()],
      [3, new Set([3])],
    ]);
    const holds = (i: number, row: number) => holding.get(i)!.has(row);
    // k = 1: only q1 (row 0 first). k = 3: q0 (row 2 third), q1, q3 (row 3 third).
    expect(answerRecallAtK(rankings, holds, 1)).toEqual({ recall: 0.25, hits: 1, queries: 4 });
    expect(answerRecallAtK(rankings, holds, 3)).toEqual({ recall: 0.75, hits: 3, queries: 4 });
  });

  it('chance: k random passages of n include one of h relevant ones with 1 - C(n-h, k) / C(n, k)', () => {
    expect(chanceOfHit(4, 1, 2)).toBeCloseTo(1 - (3 / 4) * (2 / 3), 12); // 0.5
    expect(chanceOfHit(10, 0, 5)).toBe(0);
    expect(chanceOfHit(3, 1, 5)).toBe(1); // k >= n
    // Mean over the queries with a count; null (no gold passage) is left out.
    expect(chanceRecallAtK(4, [1, null, 2], 2)).toBeCloseTo((0.5 + (1 - (2 / 4) * (1 / 3))) / 2, 12);
  });

  it('the answer rule: normalised substring on word boundaries (accents, case and punctuation ignored)', () => {
    expect(normaliseAnswerText('  Zürich, the U.S.-born  ')).toBe('zurich the u s born');
    expect(holdsAnswer('The city of ZURICH, Switzerland.', 'Zürich')).toBe(true);
    expect(holdsAnswer('Parisian cafés', 'Paris')).toBe(false); // not a whole word
    expect(holdsAnswer('the U.S. army', 'U.S.')).toBe(true);
    expect(holdsAnswer('anything', '  ...  ')).toBe(false); // an answer with no letters matches nothing
    expect(holdsAnswer(normaliseAnswerText('Café de Flore'), 'cafe', true)).toBe(true);
  });

  it('an empty set is NaN, printed "n/a" (never 0.000): recalls, chance, and evaluateCloze with no queries', async () => {
    expect(goldRecallAtK([], [], 5).recall).toBeNaN();
    expect(answerRecallAtK([], () => true, 5).recall).toBeNaN();
    expect(chanceRecallAtK(10, [null, null], 5)).toBeNaN();
    expect(formatMetric(NaN)).toBe('n/a');
    expect(formatMetric(0)).toBe('0.000');
    expect(formatMetric(0.12345, 2)).toBe('0.12');
    const data = syntheticWorld(4, { seedRng: new Rng(2) });
    const cfg = makeConfig('tiny', { vocabSize: data.vocabSize, hidden: 16, intermediate: 32, retrieverDim: 4, k: 3 });
    const rng = new Rng(9);
    const model = new RealmModel(cfg, () => rng.nextUint32());
    const docs = documentStore(data.passages, cfg.maxDocLength);
    const index = await freshIndex(model, docs);
    const e = await evaluateCloze(model, index, docs, [], 4);
    expect([e.clozeAccuracy, e.clozeAccuracyNullOnly, e.tokenAccuracy, e.recallAt5]).toEqual([NaN, NaN, NaN, NaN]);
    expect(formatMetric(e.clozeAccuracy)).toBe('n/a');
    index.dispose();
    model.dispose();
  });

  it("topKRows: each query's top k rows by inner product, nothing excluded, no tensor left", async () => {
    const data = syntheticWorld(6, { seedRng: new Rng(8) });
    const cfg = makeConfig('tiny', { vocabSize: data.vocabSize, hidden: 16, intermediate: 32, retrieverDim: 4, k: 4 });
    const rng = new Rng(13);
    const model = new RealmModel(cfg, () => rng.nextUint32());
    const docs = documentStore(data.passages, cfg.maxDocLength);
    const n = docs.ids.length;
    const vectors = Float32Array.from({ length: n * 4 }, () => rng.next() * 2 - 1);
    const index = new DenseMipsIndex(0, vectors, docs.ids, 4);
    const queries = data.heldOut.slice(0, 7);
    const before = tf.memory().numTensors;
    const rows = await topKRows(model, index, queries, 5, 3);
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
    queries.forEach((_query, i) => {
      const order = docs.ids
        .map((_id, r) => ({ r, score: q[i].reduce((a, x, j) => a + x * vectors[r * 4 + j], 0) }))
        .sort((a, b) => b.score - a.score)
        .map((c) => c.r);
      expect(rows[i]).toEqual(order.slice(0, 5)); // the query's own passage included
    });

    // With an own passage read as other tokens (its sentence cut out): that row scores as those tokens.
    const own = queries.map((_q, i) => (i % 2 === 0 ? { row: i, tokens: docs.tokens[(i + 3) % n] } : null));
    const cutRows = await topKRows(model, index, queries, 5, 3, own);
    expect(tf.memory().numTensors).toBe(before);
    const ownVecs = tf.tidy(
      () =>
        model.embedDoc
          .embedRows(
            own.map((o) => (o ? o.tokens : docs.tokens[0])),
            cfg.maxDocLength,
          )
          .arraySync() as number[][],
    );
    queries.forEach((_query, i) => {
      const vec = (r: number) => (own[i]?.row === r ? ownVecs[i] : Array.from(vectors.subarray(r * 4, r * 4 + 4)));
      const order = docs.ids
        .map((_id, r) => ({ r, score: q[i].reduce((a, x, j) => a + x * vec(r)[j], 0) }))
        .sort((a, b) => b.score - a.score)
        .map((c) => c.r);
      expect(cutRows[i], `query ${i}`).toEqual(order.slice(0, 5));
    });
    expect(cutRows.some((r, i) => JSON.stringify(r) !== JSON.stringify(rows[i]))).toBe(true); // the cut moved something
    index.dispose();
    model.dispose();
  });
});

describe('gold-passage recall in the held-out evaluation (the page charts it)', () => {
  it("matches a plain ranking of every passage, the query's own scored without its sentence", async () => {
    const { RealmTrainer } = await import('./trainer');
    const data = syntheticWorld(8, { seedRng: new Rng(5) });
    const cfg = makeConfig('tiny', {
      vocabSize: data.vocabSize,
      hidden: 16,
      intermediate: 32,
      retrieverDim: 8,
      k: 4,
      ictSteps: 0,
      mlmSteps: 0,
      realmSteps: 0,
    });
    // The synthetic world's held-out queries name their passage but not their sentence: name its first
    // one, so the own passage is scored without a sentence as a corpus's held-out queries are.
    data.heldOut = data.heldOut.map((q) => ({ ...q, sourceSentence: 0 }));
    const trainer = new RealmTrainer({ config: cfg, data });
    const queries = data.heldOut;
    const before = tf.memory().numTensors;
    const e = await trainer.evaluate();
    expect(tf.memory().numTensors).toBe(before);
    // Independently: every passage's Embed_doc, the own passage re-embedded without the sentence, a full sort.
    const docs = trainer.docs;
    const m = trainer.model;
    const pEmb = m.embedDoc.embedRows([...docs.tokens], cfg.maxDocLength);
    const qEmb = m.embedInput.embedRows(
      queries.map((q) => cutQuery(q.inputIds, cfg.maxQueryLength)),
      cfg.maxQueryLength,
    );
    const scores = (await tf.matMul(qEmb, pEmb, false, true).array()) as number[][];
    let hits = 0;
    let counted = 0;
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i];
      const row = docs.ids.indexOf(q.sourceDocId!);
      if (row < 0) continue;
      counted++;
      const cut = q.sourceSentence !== undefined ? docs.withoutSentence!(row, q.sourceSentence) : docs.tokens[row];
      const ownEmb = m.embedDoc.embedRows([cut], cfg.maxDocLength);
      const own = (await tf.sum(tf.mul(qEmb.slice([i, 0], [1, -1]), ownEmb)).data())[0];
      const above = scores[i].filter((s, r) => r !== row && s > own).length;
      if (above < 5) hits++;
    }
    tf.dispose([pEmb, qEmb]);
    expect(counted).toBeGreaterThan(0);
    expect(e.goldRecallAt5).toBeCloseTo(hits / counted, 10);
    // The random-documents control has no ranking: no gold recall.
    expect(Number.isNaN((await trainer.evaluate(undefined, { randomDocuments: 1 })).goldRecallAt5)).toBe(true);
    trainer.dispose();
  });
});
