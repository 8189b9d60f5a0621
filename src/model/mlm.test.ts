import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { padBatch } from './bert';
import { CLS_ID, MASK_ID, SEP_ID } from '../corpus/tokenizer';
import { makeConfig } from './config';
import { microConfig } from '../testing/micro-config';
import { docTokens, syntheticWorld, type TrainingData } from '../corpus/data';
import type { RealmQuery } from '../corpus/data';
import { answerHolders, makeMlmBatch, pairSentences, salientPairInput, sentencePairInput } from './mlm';
import { Rng } from '../corpus/rng';
import { RealmTrainer } from './trainer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const passage = {
  id: 'p',
  title: [10, 11],
  sentences: [
    [20, 21, 22],
    [30, 31],
  ],
};

describe('MLM warm-up inputs', () => {
  it('a sentence pair is [CLS] sentence [SEP] title [SEP] rest [SEP], in segments 0 then 1', () => {
    const cfg = makeConfig('tiny', { vocabSize: 64 });
    const ids = Array.from(sentencePairInput(passage.sentences[1], docTokens(passage, cfg.maxDocLength, 1), cfg));
    expect(ids).toEqual([CLS_ID, 30, 31, SEP_ID, 10, 11, SEP_ID, 20, 21, 22, SEP_ID]);
    const { segments } = padBatch([ids], cfg.maxReaderLength);
    expect((segments.arraySync() as number[][])[0].slice(0, ids.length)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]);
    segments.dispose();
  });

  it('cuts a long sentence to maxQueryLength and the pair to maxReaderLength', () => {
    const cfg = makeConfig('tiny', { vocabSize: 64, maxQueryLength: 8, maxReaderLength: 14, maxDocLength: 32 });
    const long = {
      id: 'q',
      title: [10],
      sentences: [Array.from({ length: 20 }, (_, i) => 20 + i), Array.from({ length: 20 }, (_, i) => 40 + i)],
    };
    const ids = Array.from(sentencePairInput(long.sentences[0], docTokens(long, cfg.maxDocLength, 0), cfg));
    expect(ids).toHaveLength(14);
    expect(ids.slice(0, 8)).toEqual([CLS_ID, 20, 21, 22, 23, 24, 25, SEP_ID]);
    expect(ids[ids.length - 1]).toBe(SEP_ID);
  });

  it('masks only wordpieces, targets the original ids, and masks at least one per row', () => {
    const cfg = makeConfig('tiny', { vocabSize: 64, mlmProbability: 0.5 });
    const inputs = [
      docTokens(passage, cfg.maxDocLength),
      sentencePairInput(passage.sentences[0], docTokens(passage, cfg.maxDocLength, 0), cfg),
      Int32Array.from([CLS_ID, 7, SEP_ID]),
    ];
    const batch = makeMlmBatch(inputs, new Rng(3), { ...cfg, mlmProbability: 0.5 });
    let masked = 0;
    inputs.forEach((input, i) => {
      let n = 0;
      for (let j = 0; j < batch.m; j++) {
        const t = batch.targets[i * batch.m + j];
        if (t < 0) continue;
        n++;
        const pos = batch.positions[i * batch.m + j];
        expect(t).toBe(input[pos]);
        expect(t).toBeGreaterThanOrEqual(5);
        if (batch.rows[i][pos] === MASK_ID) masked++;
      }
      expect(n).toBeGreaterThan(0);
      // special tokens are never touched
      input.forEach((id, pos) => {
        if (id < 5) expect(batch.rows[i][pos]).toBe(id);
      });
    });
    expect(masked).toBeGreaterThan(0);
  });

  it('a salient pair is a REALM query, its span masked, then the rest of its passage; its masks are kept as they are', () => {
    const cfg = makeConfig('tiny', { vocabSize: 64, mlmProbability: 1 });
    const query = {
      inputIds: [CLS_ID, 30, MASK_ID, SEP_ID],
      maskPositions: [2, 0],
      targets: [31, -1],
      sourceDocId: 'p',
      sourceSentence: 1,
    };
    const input = salientPairInput(query, docTokens(passage, cfg.maxDocLength, 1), cfg);
    if (!('picks' in input)) throw new Error('a salient pair carries its masks');
    expect(Array.from(input.ids)).toEqual([CLS_ID, 30, MASK_ID, SEP_ID, 10, 11, SEP_ID, 20, 21, 22, SEP_ID]);
    expect(input.picks).toEqual([{ pos: 2, target: 31 }]);
    // even at mlmProbability 1 nothing else is masked: the span is the only thing to predict
    const batch = makeMlmBatch([input, docTokens(passage, cfg.maxDocLength)], new Rng(1), cfg);
    expect(batch.rows[0]).toEqual(Array.from(input.ids));
    expect(Array.from(batch.targets.slice(0, batch.m)).filter((t) => t >= 0)).toEqual([31]);
    expect(batch.positions[0]).toBe(2);
    expect(Array.from(batch.targets.slice(batch.m)).filter((t) => t >= 0).length).toBe(7); // the passage row: every wordpiece
  });

  it('a salient pair drops masks that the query cut removes', () => {
    const cfg = makeConfig('tiny', { vocabSize: 64, maxQueryLength: 4 });
    const query = {
      inputIds: [CLS_ID, MASK_ID, 21, MASK_ID, SEP_ID],
      maskPositions: [1, 3],
      targets: [20, 22],
      sourceDocId: 'p',
      sourceSentence: 0,
    };
    const input = salientPairInput(query, docTokens(passage, cfg.maxDocLength, 0), cfg);
    if (!('picks' in input)) throw new Error('a salient pair carries its masks');
    expect(Array.from(input.ids).slice(0, 4)).toEqual([CLS_ID, MASK_ID, 21, SEP_ID]);
    expect(input.picks).toEqual([{ pos: 1, target: 20 }]);
  });

  it("an 'answer' pair's documents are the other passages holding the query's whole span, in order", () => {
    const docs = [
      [CLS_ID, 10, SEP_ID, 30, 31, SEP_ID], // the query's own passage: never a holder
      [CLS_ID, 12, SEP_ID, 7, 30, 31, SEP_ID],
      [CLS_ID, 13, SEP_ID, 31, 30, SEP_ID], // the span's wordpieces, out of order
      [CLS_ID, 30, SEP_ID, 31, SEP_ID], // split by a [SEP]
      [CLS_ID, 30, 31, SEP_ID, SEP_ID], // in the title
    ];
    const query = {
      inputIds: [CLS_ID, 5, MASK_ID, MASK_ID, SEP_ID, 0],
      maskPositions: [2, 3, 0],
      targets: [30, 31, -1],
      sourceDocId: 'p',
    };
    expect(answerHolders(query, docs, 0)).toEqual([1, 4]);
    expect(answerHolders({ ...query, targets: [-1, -1, -1] }, docs, 0)).toEqual([]);
  });

  it('never starts a pair with a held-out cloze sentence', () => {
    const data: Pick<TrainingData, 'passages' | 'heldOut'> = {
      passages: [
        passage,
        { id: 'r', title: [12], sentences: [[40], [41], []] },
        { id: 's', title: [13], sentences: [[50], [51]] },
      ],
      heldOut: [
        {
          inputIds: [CLS_ID, MASK_ID, SEP_ID],
          maskPositions: [1],
          targets: [41],
          sourceDocId: 'r',
          sourceSentence: 1,
          answer: [41],
        },
        { inputIds: [CLS_ID, MASK_ID, SEP_ID], maskPositions: [1], targets: [50], sourceDocId: 's', answer: [50] },
      ],
    };
    // r's sentence 1 is held out, r's sentence 2 is empty; s's item has no sentence index, so all of s stays out
    expect(pairSentences(data)).toEqual([
      { row: 0, sentence: 0 },
      { row: 0, sentence: 1 },
      { row: 1, sentence: 0 },
    ]);
  });

  it.each(['random', 'salient', 'answer'] as const)(
    'the trainer warms the reader up on sentence pairs (mlmPairProbability 1, %s masks): finite losses, reproducible, no leak',
    async (mlmPairMasking) => {
      const world = syntheticWorld(8, { seedRng: new Rng(5) });
      // The synthetic queries do not say which sentence they were cut from; find it, so salient pairs exist.
      const sentenceOf = (q: RealmQuery) =>
        world.passages
          .find((p) => p.id === q.sourceDocId)!
          .sentences.findIndex(
            (s) =>
              s.length === q.inputIds.length - 2 && s.every((id, i) => q.inputIds[i + 1] === MASK_ID || q.inputIds[i + 1] === id),
          );
      const data = { ...world, queries: world.queries.map((q) => ({ ...q, sourceSentence: sentenceOf(q) })) };
      expect(data.queries.every((q) => q.sourceSentence >= 0)).toBe(true);
      const cfg = microConfig(data, {
        k: 3,
        batchSize: 2,
        ictSteps: 0,
        mlmSteps: 6,
        realmSteps: 0,
        mlmPairProbability: 1,
        mlmPairMasking,
      });
      const run = async (over: Partial<typeof cfg> = {}) => {
        const t = new RealmTrainer({ config: { ...cfg, ...over }, data });
        const losses: number[] = [];
        let tensors = 0;
        for (let i = 0; i < 6; i++) {
          losses.push((await t.step())!.loss);
          if (i === 1) tensors = tf.memory().numTensors;
        }
        expect(tf.memory().numTensors).toBe(tensors);
        t.dispose();
        return losses;
      };
      const a = await run();
      expect(a.every(Number.isFinite)).toBe(true);
      expect(await run()).toEqual(a);
      // pairs were built: whole passages only (no pair ever drawn) would give other losses
      expect(await run({ mlmPairProbability: 0 })).not.toEqual(a);
      // 'answer' pairs follow the query with other passages holding its span, not the rest of its own
      if (mlmPairMasking === 'answer') expect(await run({ mlmPairMasking: 'salient' })).not.toEqual(a);
    },
  );
});
