// A lexical baseline retriever: BM25 (MiniSearch's scoring) over the same wordpieces the model reads,
// for comparing the learned retriever's recall@k with what plain term overlap finds. Queries and
// passages are token ids; special tokens ([CLS] [SEP] [MASK], ids < 5) are not terms. The query's
// trivial candidate is handled as in training (trivialCandidate): excluded, or, with trivialExclusion
// 'sentence', searched without the query sentence.
import MiniSearch from 'minisearch';
import { containsSpan, type ClozeQuery } from '../corpus/data';
import { trivialCandidate, type DocumentStore, type RealmQuery } from '../corpus/data';

const FIRST_WORDPIECE = 5;

const terms = (ids: ArrayLike<number>): string =>
  Array.from(ids)
    .filter((t) => t >= FIRST_WORDPIECE)
    .join(' ');

interface Row {
  id: number;
  t: string;
}

export class Bm25Retriever {
  private readonly index: MiniSearch<Row>;

  constructor(private readonly docs: DocumentStore) {
    this.index = new MiniSearch<Row>({
      fields: ['t'],
      tokenize: (s) => (s === '' ? [] : s.split(' ')),
      processTerm: (t) => t,
      searchOptions: { combineWith: 'OR', prefix: false, fuzzy: false },
    });
    this.index.addAll(docs.tokens.map((t, id) => ({ id, t: terms(t) })));
  }

  /** The rows of the top k passages for a query, best first (ties: MiniSearch's order). */
  search(query: RealmQuery, k: number, mode: 'passage' | 'sentence'): number[] {
    const trivial = trivialCandidate(mode, this.docs, query);
    const own = query.sourceDocId === null ? -1 : this.docs.ids.indexOf(query.sourceDocId);
    const cut = own >= 0 && trivial.excludeId === null;
    // With 'sentence', the own passage is searched without the query sentence, then put back.
    if (cut) this.index.replace({ id: own, t: terms(trivial.tokensOf(own)) });
    try {
      const excluded = trivial.excludeId === null ? -1 : own;
      return this.index
        .search(terms(query.inputIds))
        .map((r) => r.id as number)
        .filter((row) => row !== excluded)
        .slice(0, k);
    } finally {
      if (cut) this.index.replace({ id: own, t: terms(this.docs.tokens[own]) });
    }
  }

  /** Share of queries with a passage holding the answer among the top k. */
  recallAtK(queries: readonly ClozeQuery[], k: number, mode: 'passage' | 'sentence'): number {
    if (queries.length === 0) return NaN;
    let hits = 0;
    for (const q of queries) {
      const { tokensOf } = trivialCandidate(mode, this.docs, q);
      if (this.search(q, k, mode).some((row) => containsSpan(tokensOf(row), q.answer))) hits++;
    }
    return hits / queries.length;
  }
}
