// A run's training data from a stored corpus: with the corpus's own vocabulary (a cold run), or with a
// model's (a warm start's), which tokenizes the stored text instead and counts the words it can only
// spell as [UNK].
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenizePassage } from '../corpus/corpus-data';
import { basicWords, UNK_ID, WordPieceTokenizer } from '../corpus/tokenizer';
import { makeConfig } from '../model/config';
import { RealmStore } from '../storage/db';
import { loadRunData, vocabularyCoverage } from './run-data';

const CORPUS = 'import:run-data';
const TEXTS = [
  'Ada Lovelace wrote the first program in 1843. She worked with Charles Babbage.',
  'Charles Babbage designed the analytical engine in London.',
  'The engine was never built in his lifetime. London kept his drawings.',
];
const TITLES = ['Ada Lovelace', 'Charles Babbage', 'Analytical engine'];
let store: RealmStore;
let corpusVocab: string[];

beforeAll(async () => {
  store = await RealmStore.open();
  corpusVocab = WordPieceTokenizer.train(TEXTS, { vocabSize: 60, minFrequency: 1 }).vocab;
  await store.putChunks(TEXTS.map((text, seq) => ({ corpusId: CORPUS, seq, id: `d${seq}`, title: TITLES[seq], text })));
  await store.putVocab({ corpusId: CORPUS, tokens: corpusVocab });
});
afterAll(() => store.close());

describe('loadRunData', () => {
  const config = makeConfig('tiny');

  it("tokenizes the stored text with the model's vocabulary when given one", async () => {
    // A model vocabulary trained on other text: it cannot spell 'lovelace' or 'babbage' whole.
    const model = WordPieceTokenizer.train(['the first engine was built in london in 1843 . she worked with his drawings'], {
      vocabSize: 80,
      minFrequency: 1,
    });
    const data = await loadRunData(store, CORPUS, config, model.vocab);
    expect(data.vocabSize).toBe(model.vocab.length);
    data.passages.forEach((p, i) => {
      expect(p).toEqual(tokenizePassage({ id: `d${i}`, title: TITLES[i], text: TEXTS[i] }, model));
    });
    const words = [...TITLES, ...TEXTS].reduce((n, t) => n + basicWords(t).length, 0);
    const unks = [...TITLES, ...TEXTS].reduce((n, t) => n + model.encode(t).filter((id) => id === UNK_ID).length, 0);
    expect(unks).toBeGreaterThan(0);
    expect(data.coverage).toEqual({
      source: 'model',
      pieces: model.vocab.length,
      words,
      unkWords: unks,
      unkWordShare: unks / words,
    });
  });

  it("keeps the corpus's vocabulary without one, which spells every word", async () => {
    const data = await loadRunData(store, CORPUS, config);
    expect(data.vocabSize).toBe(corpusVocab.length);
    const own = new WordPieceTokenizer(corpusVocab);
    expect(data.passages[1]).toEqual(tokenizePassage({ id: 'd1', title: TITLES[1], text: TEXTS[1] }, own));
    expect(data.coverage).toMatchObject({ source: 'corpus', unkWords: 0, unkWordShare: 0 });
    expect(vocabularyCoverage([], own, 'corpus').unkWordShare).toBe(0);
  });
});
