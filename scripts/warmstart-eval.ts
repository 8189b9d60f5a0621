// What the warm start's retriever finds on a bundled corpus whose held-out sentences it never trained
// on: for each held-out cloze sentence (answer masked), whether its GOLD passage (the passage it was
// cut from, which stays in the index WITHOUT that sentence, as trivialExclusion 'sentence' keeps it)
// and whether any passage holding the answer is among the top k of every passage of the corpus, from
// the dense retriever (Embed_input . Embed_doc), from BM25 over the same wordpieces, and by chance
// (k / N for the gold passage). Answer match: the answer's wordpieces appear in the passage's.
import * as tf from '@tensorflow/tfjs';
import { buildTrainingData } from '../src/corpus/corpus-data';
import { containsSpan, documentStore, trivialCandidate, type ClozeQuery, type DocumentStore } from '../src/corpus/data';
import { Rng } from '../src/corpus/rng';
import type { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { Bm25Retriever } from '../src/model/bm25';
import type { RealmModel } from '../src/model/realm-model';
import { cutQuery } from '../src/model/realm-step';
import type { CorpusRecall, RetrievalRecall } from '../src/model/warm-start';
import { loadCorpusDir } from './corpus-loader';

function recallOf(rows: number[][], queries: readonly ClozeQuery[], docs: DocumentStore, k: number): RetrievalRecall {
  if (queries.length === 0) return { gold: NaN, answer: NaN };
  let gold = 0;
  let answer = 0;
  queries.forEach((q, i) => {
    const top = rows[i].slice(0, k);
    const { tokensOf } = trivialCandidate('sentence', docs, q);
    if (top.some((r) => docs.ids[r] === q.sourceDocId)) gold++;
    if (top.some((r) => containsSpan(tokensOf(r), q.answer))) answer++;
  });
  return { gold: gold / queries.length, answer: answer / queries.length };
}

/**
 * The top `k` rows of every query by Embed_input(x) . Embed_doc(z) over every passage, the query's own
 * passage scored without the query's sentence.
 */
export function denseTopK(model: RealmModel, docs: DocumentStore, queries: readonly ClozeQuery[], k: number): number[][] {
  if (queries.length === 0) return [];
  const own = queries.map((q) => (q.sourceDocId === null ? -1 : docs.ids.indexOf(q.sourceDocId)));
  const top = tf.tidy(() => {
    const { maxDocLength, maxQueryLength } = model.config;
    const pEmb = model.embedDoc.embedRows([...docs.tokens], maxDocLength); // [N, d]
    const cut = model.embedDoc.embedRows(
      queries.map((q, i) => trivialCandidate('sentence', docs, q).tokensOf(Math.max(0, own[i]))),
      maxDocLength,
    ); // [Q, d]
    const qEmb = model.embedInput.embedRows(
      queries.map((q) => cutQuery(q.inputIds, maxQueryLength)),
      maxQueryLength,
    ); // [Q, d]
    const scores = tf.matMul(qEmb, pEmb, false, true); // [Q, N]
    const ownScores = tf.sum(tf.mul(qEmb, cut), 1, true); // [Q, 1]: the own passage without the sentence
    const isOwn = tf.oneHot(tf.tensor1d(own, 'int32'), docs.ids.length); // [Q, N]; a row of zeros for -1
    const adjusted = tf.add(scores, tf.mul(isOwn, tf.sub(ownScores, scores))); // [Q, N]
    return tf.topk(adjusted, Math.min(k, docs.ids.length)).indices; // [Q, k]
  });
  const rows = top.arraySync() as number[][];
  top.dispose();
  return rows;
}

/** Gold-passage and answer recall@k of the dense retriever and BM25 on a corpus folder's held-out cloze set. */
export function corpusRecall(model: RealmModel, dir: string, tokenizer: WordPieceTokenizer, k = 5): CorpusRecall {
  const corpus = loadCorpusDir(dir);
  // The cloze items bring their own answer spans; no training query is made (maxQueries 0), so the
  // passages' salient spans are not tagged.
  const passages = corpus.passages.map((p) => ({ ...p, spans: p.spans ?? [] }));
  const data = buildTrainingData(passages, tokenizer, corpus.cloze, {
    masking: 'salient',
    rng: new Rng(1),
    maxQueryLength: model.config.maxQueryLength,
    maxQueries: 0,
  });
  const docs = documentStore(data.passages, model.config.maxDocLength);
  const queries = data.heldOut;
  const bm25 = new Bm25Retriever(docs);
  // 'sentence': BM25 searches every passage, the query's own without the query's sentence.
  const bm25Rows = queries.map((q) => bm25.search(q, k, 'sentence'));
  return {
    corpus: dir,
    passages: docs.ids.length,
    queries: queries.length,
    k,
    dense: recallOf(denseTopK(model, docs, queries, k), queries, docs, k),
    bm25: recallOf(bm25Rows, queries, docs, k),
    chanceGold: docs.ids.length > 0 ? Math.min(1, k / docs.ids.length) : NaN,
  };
}
