// The micro model the unit tests train: the tiny preset at sizes where every step of every phase takes
// well under a second on the cpu backend. One place, so the tests of the trainer, the run, the
// inspector and MLM train the same model unless they say otherwise.
import { makeConfig, type RealmConfig } from '../model/config';

/** Widths and lengths of the micro model. */
export const MICRO_SIZES = {
  hidden: 16,
  layers: 1,
  heads: 2,
  intermediate: 32,
  retrieverDim: 8,
  maxPositions: 64,
  maxQueryLength: 16,
  maxDocLength: 32,
  maxReaderLength: 48,
} satisfies Partial<RealmConfig>;

/** The tiny preset at micro sizes, with the corpus's vocabulary size and `over` on top. */
export function microConfig(data: { vocabSize: number }, over: Partial<RealmConfig> = {}): RealmConfig {
  return makeConfig('tiny', { vocabSize: data.vocabSize, ...MICRO_SIZES, ...over });
}
