// The text tools the corpus importer uses (tokenizer, blocks, salient spans), behind one small
// interface so that the importer's tests can also run it with stand-ins. `realTextTools` binds the
// project's own implementations in src/model/.
import { splitIntoBlocks } from '../corpus/blocks';
import { tagSalientSpans } from '../corpus/salient';
import { basicWords, CLS_ID, SEP_ID, UNK_ID, WordPieceTokenizer } from '../corpus/tokenizer';

/** What the importer needs from a tokenizer. */
export interface CorpusTokenizer {
  /** Wordpieces in id order. */
  readonly vocab: string[];
  encode(text: string): number[];
}

interface SalientSpan {
  start: number;
  end: number;
  type: string;
}

export interface TextTools {
  /** Trains a WordPiece vocabulary on `texts`. */
  trainTokenizer(texts: string[], vocabSize: number): CorpusTokenizer;
  /** A tokenizer for a given vocabulary (the bundled corpora's vocab.txt). */
  tokenizerFromVocab(tokens: string[]): CorpusTokenizer;
  /** Cuts a passage into blocks of at most `maxPieces` wordpieces, on sentence boundaries. */
  splitIntoBlocks(title: string, text: string, tokenizer: CorpusTokenizer, maxPieces: number): string[];
  /** Named entities and dates, in character offsets of `text`. */
  tagSalientSpans(text: string): SalientSpan[];
  clsId: number;
  sepId: number;
  /** [UNK]'s id and a word count, for the share of words the vocabulary cannot spell (stats.unkWords / stats.words). */
  unkId?: number;
  countWords?(text: string): number;
}

export const realTextTools: TextTools = {
  trainTokenizer: (texts, vocabSize) => WordPieceTokenizer.train(texts, { vocabSize }),
  tokenizerFromVocab: (tokens) => new WordPieceTokenizer(tokens),
  splitIntoBlocks: (title, text, tokenizer, maxPieces) =>
    splitIntoBlocks(title, text, tokenizer as WordPieceTokenizer, maxPieces),
  tagSalientSpans: (text) => tagSalientSpans(text).map(({ start, end, type }) => ({ start, end, type })),
  clsId: CLS_ID,
  sepId: SEP_ID,
  unkId: UNK_ID,
  countWords: (text) => basicWords(text).length,
};
