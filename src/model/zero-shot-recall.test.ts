import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePassages, parseQa } from '../corpus/corpus-format';
import { documentStore, syntheticWorld, type TrainingData } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { CLS_ID, SEP_ID, WordPieceTokenizer } from '../corpus/tokenizer';
import { microConfig } from '../testing/micro-config';
import { holdsAnswer } from './evaluate';
import { RealmModel } from './realm-model';
import { zeroShotRecall, zeroShotRecallSet, type ZeroShotRecallSet } from './zero-shot-recall';

let data: TrainingData;
let set: ZeroShotRecallSet;

beforeAll(async () => {
  await tf.setBackend('cpu');
  data = syntheticWorld(8, { seedRng: new Rng(5) });
  set = {
    questions: data.heldOut.map((q) => ({ inputIds: Array.from(q.inputIds), answers: [`w${q.answer[0]}`, 'never there'] })),
    passageTexts: data.passages.map((p) => [...p.title, ...p.sentences.flat()].map((id) => `w${id}`).join(' ')),
  };
});

describe('zeroShotRecall', () => {
  it('equals a brute-force ranking of every passage by Embed_input(x)·Embed_doc(z), without leaks', async () => {
    const config = microConfig(data, { seed: 3 });
    const rng = new Rng(9);
    const model = new RealmModel(config, () => rng.nextUint32());
    const docs = documentStore(data.passages, config.maxDocLength);
    const before = tf.memory().numTensors;
    const got = await zeroShotRecall(model, docs, set, 5);
    expect(tf.memory().numTensors).toBe(before);
    const scores = tf.tidy(() =>
      tf.matMul(
        model.embedInput.embedRows(
          set.questions.map((q) => q.inputIds),
          config.maxQueryLength,
        ),
        model.embedDoc.embedRows(docs.tokens as ArrayLike<number>[], config.maxDocLength),
        false,
        true,
      ),
    ); // [Q, N]
    const s = (await scores.array()) as number[][];
    scores.dispose();
    let hits = 0;
    s.forEach((row, i) => {
      const top = row
        .map((v, r) => [v, r] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, 5)
        .map(([, r]) => r);
      if (top.some((r) => set.questions[i].answers.some((a) => holdsAnswer(set.passageTexts[r], a)))) hits++;
    });
    expect(got.queries).toBe(set.questions.length);
    expect(got.hits).toBe(hits);
    expect(got.recall).toBeCloseTo(hits / set.questions.length, 12);
    // k = N: every question whose answer some passage holds is a hit.
    const all = await zeroShotRecall(model, docs, set, docs.ids.length);
    const answerable = set.questions.filter((q) => set.passageTexts.some((t) => q.answers.some((a) => holdsAnswer(t, a)))).length;
    expect(all.hits).toBe(answerable);
    model.dispose();
  });

  it('refuses a set built from another corpus; an empty set is n/a', async () => {
    const config = microConfig(data);
    const model = new RealmModel(config, () => 1);
    const docs = documentStore(data.passages, config.maxDocLength);
    await expect(zeroShotRecall(model, docs, { ...set, passageTexts: set.passageTexts.slice(1) })).rejects.toThrow(
      /build both from one corpus/,
    );
    expect((await zeroShotRecall(model, docs, { ...set, questions: [] })).recall).toBeNaN();
    model.dispose();
  });
});

describe('zeroShotRecallSet', () => {
  it("tokenizes a corpus folder's dev questions as [CLS] question [SEP] and keeps title + text per row", () => {
    const dir = 'public/corpus/micro';
    const tok = WordPieceTokenizer.fromText(readFileSync(`${dir}/vocab.txt`, 'utf8'));
    const dev = parseQa(readFileSync(`${dir}/qa-dev.jsonl`, 'utf8'));
    const passages = parsePassages(readFileSync(`${dir}/passages.jsonl`, 'utf8'));
    const s = zeroShotRecallSet(dev, passages, tok);
    expect(s.questions).toHaveLength(dev.length);
    expect(s.questions[0].inputIds).toEqual([CLS_ID, ...tok.encode(dev[0].question), SEP_ID]);
    expect(s.questions[0].answers).toEqual(dev[0].answer);
    expect(s.passageTexts[3]).toBe(`${passages[3].title} ${passages[3].text}`);
  });
});
