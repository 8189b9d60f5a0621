// Training data for a run on a stored corpus: its chunks (row i = chunk seq i, the same rows the
// index builder embeds), a vocabulary, and its held-out cloze set, turned into the trainer's
// TrainingData (masked queries with the held-out sentences left out).
//
// The vocabulary is the corpus's own (a cold run), or the model's (a warm start's BERT vocabulary):
// then the stored text is tokenized with it, and the words it can only spell as [UNK] are counted
// as the importer counts them (corpus-import.ts: one [UNK] per word, of basicWords' words).
import type { RealmConfig } from '../model/config';
import { buildTrainingData, type ClozeItemInput, type CorpusPassageInput } from '../corpus/corpus-data';
import type { TrainingData } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { basicWords, UNK_ID, WordPieceTokenizer } from '../corpus/tokenizer';
import type { RealmStore } from '../storage/db';

const PAGE = 512;

/** Words of the corpus (titles and texts) and those the run's vocabulary can only spell as [UNK]. */
export interface VocabularyCoverage {
  /** 'model': a warm start's vocabulary; 'corpus': the corpus's own. */
  source: 'model' | 'corpus';
  pieces: number;
  words: number;
  unkWords: number;
  /** unkWords / words (0 for no words). */
  unkWordShare: number;
}

export type RunData = TrainingData & { coverage: VocabularyCoverage };

/** Counts words and [UNK]s of `texts` under `tokenizer`, as the importer does. */
export function vocabularyCoverage(
  texts: readonly string[],
  tokenizer: WordPieceTokenizer,
  source: VocabularyCoverage['source'],
): VocabularyCoverage {
  let words = 0;
  let unkWords = 0;
  for (const t of texts) {
    words += basicWords(t).length;
    for (const id of tokenizer.encode(t)) if (id === UNK_ID) unkWords++;
  }
  return { source, pieces: tokenizer.vocab.length, words, unkWords, unkWordShare: words > 0 ? unkWords / words : 0 };
}

/**
 * The run's training data. With `modelVocab` (a warm start's), the corpus is tokenized with it instead
 * of the corpus's own vocabulary.
 */
export async function loadRunData(
  store: RealmStore,
  corpusId: string,
  config: RealmConfig,
  modelVocab?: readonly string[],
): Promise<RunData> {
  let tokens = modelVocab ? [...modelVocab] : null;
  if (!tokens) {
    const vocab = await store.getVocab(corpusId);
    if (!vocab) throw new Error(`Corpus "${corpusId}" has no vocabulary: re-import it in the Corpus panel.`);
    tokens = vocab.tokens;
  }
  const count = await store.countChunks(corpusId);
  if (count === 0) throw new Error(`Corpus "${corpusId}" is empty: import a corpus with at least a few passages.`);
  const passages: CorpusPassageInput[] = [];
  for (let from = 0; from < count; from += PAGE) {
    for (const c of await store.getChunks(corpusId, from, PAGE))
      passages.push({ id: c.id, title: c.title, text: c.text, spans: c.spans });
  }
  const evalSets = await store.getEvalSets(corpusId);
  const cloze = (evalSets?.cloze ?? []) as ClozeItemInput[];
  const tokenizer = new WordPieceTokenizer(tokens);
  const data = buildTrainingData(passages, tokenizer, cloze, {
    masking: config.masking,
    rng: new Rng(config.seed ^ 0xda7a),
    maxQueryLength: config.maxQueryLength,
    maxMasks: config.maxMasks,
  });
  const texts = passages.flatMap((p) => [p.title, p.text]);
  return Object.assign(data, { coverage: vocabularyCoverage(texts, tokenizer, modelVocab ? 'model' : 'corpus') });
}
