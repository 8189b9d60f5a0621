// Zero-shot retrieval recall@k on Open-QA questions (REALM Table 2's "R@5"): before any fine-tuning,
// each dev question `[CLS] question [SEP]` is embedded with Embed_input, the top k passages of an index
// built with the model's Embed_doc are retrieved (nothing excluded: a question has no own passage), and
// the question counts as a hit when one of them holds an answer (evaluate.ts holdsAnswer: normalised
// substring on word boundaries of title + text).
import type { QaItem } from '../corpus/corpus-format';
import type { DocumentStore, RealmQuery } from '../corpus/data';
import { CLS_ID, SEP_ID, type WordPieceTokenizer } from '../corpus/tokenizer';
import { answerRecallAtK, holdsAnswer, normaliseAnswerText, topKRows, type RecallAtK } from './evaluate';
import { freshIndex } from './index-refresh';
import type { RealmModel } from './realm-model';

/** The dev questions in the model's wordpieces and the index rows' texts (same order as the document store). */
export interface ZeroShotRecallSet {
  questions: { inputIds: number[]; answers: readonly string[] }[];
  /** `title text` of each index row. */
  passageTexts: readonly string[];
}

/** The recall set of a corpus's QA dev items and passages (title and text, row order). */
export function zeroShotRecallSet(
  dev: readonly QaItem[],
  passages: readonly { title: string; text: string }[],
  tokenizer: WordPieceTokenizer,
): ZeroShotRecallSet {
  return {
    questions: dev.map((q) => ({ inputIds: [CLS_ID, ...tokenizer.encode(q.question), SEP_ID], answers: q.answer })),
    passageTexts: passages.map((p) => `${p.title} ${p.text}`),
  };
}

/** Recall@k of the model's retriever on the set, over a fresh index of `docs` (row-aligned with passageTexts). */
export async function zeroShotRecall(model: RealmModel, docs: DocumentStore, set: ZeroShotRecallSet, k = 5): Promise<RecallAtK> {
  if (set.passageTexts.length !== docs.ids.length)
    throw new Error(
      `the recall set names ${set.passageTexts.length} passages but the index has ${docs.ids.length}: build both from one corpus`,
    );
  if (set.questions.length === 0) return { recall: NaN, hits: 0, queries: 0 };
  const index = await freshIndex(model, docs);
  try {
    const queries: RealmQuery[] = set.questions.map((q) => ({
      inputIds: q.inputIds,
      maskPositions: [],
      targets: [],
      sourceDocId: null,
    }));
    const rows = await topKRows(model, index, queries, k);
    const normalised = new Map<number, string>();
    const text = (row: number) => {
      let t = normalised.get(row);
      if (t === undefined) normalised.set(row, (t = normaliseAnswerText(set.passageTexts[row])));
      return t;
    };
    return answerRecallAtK(rows, (i, row) => set.questions[i].answers.some((a) => holdsAnswer(text(row), a, true)), k);
  } finally {
    index.dispose();
  }
}
