// Training data for a run on a stored corpus: its chunks (row i = chunk seq i, the same rows the
// index builder embeds), its vocabulary, and its held-out cloze set, turned into the trainer's
// TrainingData (masked queries with the held-out sentences left out).
import type { RealmConfig } from '../model/config';
import { buildTrainingData, type ClozeItemInput, type CorpusPassageInput } from '../corpus/corpus-data';
import type { TrainingData } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { WordPieceTokenizer } from '../corpus/tokenizer';
import type { RealmStore } from '../storage/db';

const PAGE = 512;

export async function loadRunData(store: RealmStore, corpusId: string, config: RealmConfig): Promise<TrainingData> {
  const vocab = await store.getVocab(corpusId);
  if (!vocab) throw new Error(`Corpus "${corpusId}" has no vocabulary: re-import it in the Corpus panel.`);
  const count = await store.countChunks(corpusId);
  if (count === 0) throw new Error(`Corpus "${corpusId}" is empty: import a corpus with at least a few passages.`);
  const passages: CorpusPassageInput[] = [];
  for (let from = 0; from < count; from += PAGE) {
    for (const c of await store.getChunks(corpusId, from, PAGE))
      passages.push({ id: c.id, title: c.title, text: c.text, spans: c.spans });
  }
  const evalSets = await store.getEvalSets(corpusId);
  const cloze = (evalSets?.cloze ?? []) as ClozeItemInput[];
  return buildTrainingData(passages, new WordPieceTokenizer(vocab.tokens), cloze, {
    masking: config.masking,
    rng: new Rng(config.seed ^ 0xda7a),
    maxQueryLength: config.maxQueryLength,
    maxMasks: config.maxMasks,
  });
}
