// `npm run eval` on the bundled micro corpus's own cloze set, in-process: the gold passages still hold
// their sentences, so without the cut BM25 finds every one (a copy, not retrieval); with it (the
// default) the gold-passage recall@5 of BM25 is exactly what the project's own held-out queries
// (corpus-data.ts, trivialExclusion 'sentence') give, and the model's figures are finite.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { documentStore } from '../src/corpus/data';
import { Bm25Retriever } from '../src/model/bm25';
import { makeConfig } from '../src/model/config';
import { RealmTrainer } from '../src/model/trainer';
import { writeCheckpoint } from './checkpoint-files';
import { corpusTrainingData } from './corpus-loader';
import { evaluateClozeFile, formatClozeFileEval } from './eval';

const micro = path.resolve(__dirname, '..', 'public', 'corpus', 'micro');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eval-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

it('eval on micro: the sentence cut out of its gold passage; BM25 as the held-out queries give it; no tensor left', async () => {
  const data = corpusTrainingData(micro, { maxQueryLength: 32, maxMasks: 8 });
  const config = makeConfig('tiny', {
    vocabSize: data.vocabSize,
    hidden: 16,
    intermediate: 32,
    retrieverDim: 8,
    ictSteps: 0,
    mlmSteps: 0,
    realmSteps: 0,
  });
  const trainer = new RealmTrainer({ config, data });
  const model = path.join(tmp, 'm', 'checkpoint');
  writeCheckpoint(model, await trainer.checkpoint('t'), data.corpus.tokenizer.vocab);
  const before = tf.memory().numTensors;
  const cloze = path.join(micro, 'cloze.jsonl');
  const cut = await evaluateClozeFile({ model, cloze, corpus: micro });
  const kept = await evaluateClozeFile({ model, cloze, corpus: micro, keepSentence: true });
  expect(tf.memory().numTensors).toBe(before);

  const clozeCount = fs
    .readFileSync(cloze, 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;
  expect(clozeCount).toBeGreaterThan(10);
  expect([cut.items, cut.asked, cut.sentenceCut, kept.sentenceCut]).toEqual([clozeCount, clozeCount, clozeCount, 0]);
  expect(kept.bm25.gold.recall).toBeGreaterThanOrEqual(0.9); // the sentence itself is in its passage: a near copy (ties with look-alike list passages can push one out)
  // The project's held-out queries, searched by BM25 with the own sentence cut out.
  const docs = documentStore(data.passages, config.maxDocLength);
  const bm25 = new Bm25Retriever(docs);
  const hits = data.heldOut.filter((q) => bm25.search(q, 5, 'sentence').includes(docs.ids.indexOf(q.sourceDocId!))).length;
  expect(cut.bm25.gold).toEqual({ recall: hits / clozeCount, hits, queries: clozeCount });
  expect(hits).toBeLessThan(clozeCount);
  for (const x of [cut.model.gold.recall, cut.model.answer.recall, cut.exactMatch, cut.exactMatchNullOnly, cut.chance.gold])
    expect(Number.isFinite(x)).toBe(true);
  expect(cut.chance.gold).toBeCloseTo(5 / docs.ids.length, 10); // one gold passage of all
  expect(formatClozeFileEval(cut)).toContain(`${clozeCount} gold passages still held the sentence: read and searched without it`);
  trainer.dispose();
}, 60_000);
