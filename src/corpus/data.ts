// Training data in token ids, as the trainer consumes it: the passages (index rows, in order), the
// masked REALM queries (held-out cloze sentences excluded) and the held-out cloze set. Built from the
// bundled corpus by corpus-data.ts, or from the small synthetic world below (tests).
import { CLS_ID, MASK_ID, SEP_ID } from './tokenizer';
import type { Rng } from './rng';

/** A masked query x: `[CLS] x [SEP]` with [MASK] at maskPositions; targets are the original ids. */
export interface RealmQuery {
  inputIds: ArrayLike<number>;
  maskPositions: ArrayLike<number>;
  targets: ArrayLike<number>;
  /** Id of the passage x was cut from (excluded from retrieval), or null. */
  sourceDocId: string | null;
  /** Index of x among its passage's sentences (TokenizedPassage.sentences), when known. */
  sourceSentence?: number;
}

/** The documents behind the index rows: tokens of `[CLS] title [SEP] body [SEP]` by row. */
export interface DocumentStore {
  readonly ids: readonly string[];
  readonly tokens: readonly ArrayLike<number>[];
  /** Tokens of row `row` with its sentence `sentence` cut out (for trivialExclusion 'sentence'). */
  withoutSentence?(row: number, sentence: number): ArrayLike<number>;
}

/**
 * REALM's trivial candidate. 'passage': the query's own passage is never retrieved (the paper).
 * 'sentence': it may be retrieved, but the reader and the recall check see it with the query's
 * sentence cut out, so the masked span can only be copied from the rest of the passage (its title,
 * its other sentences). Returns the id to exclude from the search and the tokens of a retrieved row.
 */
export function trivialCandidate(mode: 'passage' | 'sentence', docs: DocumentStore, q: RealmQuery) {
  const cut =
    mode === 'sentence' && q.sourceSentence !== undefined && q.sourceDocId !== null && docs.withoutSentence !== undefined;
  return {
    excludeId: cut ? null : q.sourceDocId,
    tokensOf: (row: number): ArrayLike<number> =>
      cut && docs.ids[row] === q.sourceDocId ? docs.withoutSentence!(row, q.sourceSentence!) : docs.tokens[row],
  };
}

/** One passage (block) z: a title and a body split into sentences, in wordpiece ids. */
export interface TokenizedPassage {
  id: string;
  title: number[];
  sentences: number[][];
}

/** A held-out cloze query, with the answer span's ids for recall@k ("a passage holding the answer"). */
export interface ClozeQuery extends RealmQuery {
  answer: number[];
  /** Type of the masked span (person, place, date, ...) when the corpus knows it. */
  spanType?: string;
}

export interface TrainingData {
  passages: TokenizedPassage[];
  /** REALM training queries (masked sentences). */
  queries: RealmQuery[];
  /** Held-out cloze queries: never trained on. */
  heldOut: ClozeQuery[];
  /**
   * Optional, larger held-out set: one query per salient span of every sentence of some passages that
   * REALM never trains on (corpus data with heldOutPassages > 0). The passages stay in the index.
   */
  heldOutSpans?: ClozeQuery[];
  /** Rows of passages held out of ICT training, for ICT recall@k. */
  ictHeldOut: number[];
  vocabSize: number;
}

/** `[CLS] title [SEP] body [SEP]`, the body cut so the whole fits in maxLen. */
export function docTokens(p: { title: number[]; sentences: number[][] }, maxLen: number, skipSentence = -1): Int32Array {
  const title = p.title.slice(0, Math.max(1, Math.floor(maxLen / 4)));
  const body = p.sentences.flatMap((s, i) => (i === skipSentence ? [] : s)).slice(0, Math.max(0, maxLen - title.length - 3));
  return Int32Array.from([CLS_ID, ...title, SEP_ID, ...body, SEP_ID]);
}

export function documentStore(passages: TokenizedPassage[], maxDocLength: number): DocumentStore {
  return {
    ids: passages.map((p) => p.id),
    tokens: passages.map((p) => docTokens(p, maxDocLength)),
    withoutSentence: (row, sentence) => docTokens(passages[row], maxDocLength, sentence),
  };
}

/** The wordpieces query `q` masks, in order (its targets without the -1 padding): its answer span. */
export function maskedAnswer(q: Pick<RealmQuery, 'targets'>): number[] {
  return Array.from(q.targets).filter((t) => t >= 0);
}

/** True when `needle` occurs contiguously in `hay`. */
export function containsSpan(hay: ArrayLike<number>, needle: ArrayLike<number>): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return needle.length === 0;
}

/** Masks tokens [start, end) of a sentence: `[CLS] sentence [SEP]` with [MASK] there. */
export function maskSpan(sentence: number[], start: number, end: number, sourceDocId: string | null): ClozeQuery {
  const inputIds = [CLS_ID, ...sentence, SEP_ID];
  const maskPositions: number[] = [];
  const targets: number[] = [];
  for (let i = start; i < end; i++) {
    maskPositions.push(i + 1);
    targets.push(sentence[i]);
    inputIds[i + 1] = MASK_ID;
  }
  return { inputIds, maskPositions, targets, sourceDocId, answer: sentence.slice(start, end) };
}

/** n distinct-ish indices drawn uniformly with replacement. */
export function sampleRows(rng: Rng, n: number, count: number): number[] {
  return Array.from({ length: count }, () => rng.int(n));
}

/** n distinct rows (a shuffled prefix) from `rows`. */
export function sampleDistinct(rng: Rng, rows: readonly number[], count: number): number[] {
  const a = [...rows];
  const n = Math.min(count, a.length);
  for (let i = 0; i < n; i++) {
    const j = i + rng.int(a.length - i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a.slice(0, n);
}

/**
 * A small synthetic world for tests: `entities` people, each with a birth year and a city, each told in
 * two passages with different wording (so a fact masked in one passage can be found in the other:
 * the passage a query comes from is excluded from retrieval). Salient spans are the year and the city.
 * Vocabulary: 5 special ids, then words.
 */
export function syntheticWorld(
  entities: number,
  opts: { years?: number; cities?: number; heldOutShare?: number; seedRng: Rng },
): TrainingData {
  const { years = 12, cities = 10, heldOutShare = 0.2, seedRng: rng } = opts;
  const words = new Map<string, number>();
  const w = (s: string) => {
    if (!words.has(s)) words.set(s, 5 + words.size);
    return words.get(s)!;
  };
  ['was', 'born', 'in', 'lives', 'the', 'city', 'of', 'person', 'year', 'home', 'is', ',', '.', 'known', 'for', 'and'].forEach(w);
  const fillers = Array.from({ length: 24 }, (_, i) => w(`f${i}`));
  const passages: TokenizedPassage[] = [];
  const queries: ClozeQuery[] = [];
  const heldOut: ClozeQuery[] = [];
  for (let e = 0; e < entities; e++) {
    const name = w(`e${e}`);
    const year = w(`y${rng.int(years)}`);
    const city = w(`c${rng.int(cities)}`);
    const filler = () => [
      w('known'),
      w('for'),
      fillers[rng.int(fillers.length)],
      w('and'),
      fillers[rng.int(fillers.length)],
      w('.'),
    ];
    const a: TokenizedPassage = {
      id: `p${e}a`,
      title: [name],
      sentences: [
        [name, w('was'), w('born'), w('in'), year, w('.')],
        filler(),
        [name, w('lives'), w('in'), w('the'), w('city'), w('of'), city, w('.')],
      ],
    };
    const b: TokenizedPassage = {
      id: `p${e}b`,
      title: [name],
      sentences: [filler(), [w('the'), w('person'), name, w(','), w('year'), year, w(',')], [w('home'), w('is'), city, w('.')]],
    };
    passages.push(a, b);
    const held = rng.next() < heldOutShare;
    const qs = [
      maskSpan(a.sentences[0], 4, 5, a.id),
      maskSpan(a.sentences[2], 6, 7, a.id),
      maskSpan(b.sentences[1], 5, 6, b.id),
      maskSpan(b.sentences[2], 2, 3, b.id),
    ];
    (held ? heldOut : queries).push(...qs);
  }
  const ictHeldOut = passages.map((_, i) => i).filter((i) => i % 5 === 4);
  return { passages, queries, heldOut, ictHeldOut, vocabSize: 5 + words.size };
}
