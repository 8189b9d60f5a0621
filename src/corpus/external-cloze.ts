// A cloze set from outside the project (`npm run eval -- --cloze FILE`), one JSON object per line:
//   {"doc_id"?: "...", "title"?: "...", "sentence": "... [MASK] ...", "answer": "..."}
// (the bundled cloze.jsonl form, {"masked", "answer", "sourceId"}, is read too). Each item becomes a
// held-out query as corpus-data.ts makes them: the sentence with the answer put back, tokenized, and
// exactly the answer's wordpieces masked (windowed to the query length), `answer` = those ids; its
// gold rows are the index rows whose passage id, or the id of the record it was imported from
// (`docId`), is the item's doc_id. Items that cannot be asked are listed with their line and reason.
// When a gold passage still holds the sentence itself (a held-out set cut from the corpus without
// removing it, as the bundled cloze sets are), `own` says where: the evaluation then reads and
// retrieves that passage without the sentence (trivialExclusion 'sentence'), or the gold passage would
// be found by copying.
import { splitSentences } from './blocks';
import { jsonlObjects } from './corpus-format';
import type { ClozeQuery } from './data';
import { createMasker } from './masking';
import { Rng } from './rng';
import type { WordPieceTokenizer } from './tokenizer';

export interface ExternalClozeItem {
  /** The passage (block id) or imported record (its `id`/`doc_id`) the sentence comes from, when known. */
  docId?: string;
  title?: string;
  /** The sentence with one `[MASK]` where the answer was. */
  sentence: string;
  answer: string;
  /** 1-based line in the file. */
  line: number;
}

/** A line that is not a cloze item; the message says which line and why. */
export class ExternalClozeError extends Error {
  constructor(file: string, line: number, detail: string) {
    super(`${file}, line ${line}: ${detail}. Expected {"doc_id"?, "title"?, "sentence" with [MASK], "answer"} per line.`);
    this.name = 'ExternalClozeError';
  }
}

const MASK = '[MASK]';

/** Parses the file; throws ExternalClozeError at the first line that is not an item. */
export function parseExternalCloze(text: string, file = 'cloze file'): ExternalClozeItem[] {
  const out: ExternalClozeItem[] = [];
  for (const { o, line } of jsonlObjects(text, (l, detail) => new ExternalClozeError(file, l, detail))) {
    const i = line - 1;
    // The bundled form keeps the whole sentence in "sentence" and the masked one in "masked".
    const bundled = typeof o.masked === 'string' && !(typeof o.sentence === 'string' && o.sentence.includes(MASK));
    const sentence = bundled ? o.masked : o.sentence;
    if (typeof sentence !== 'string') throw new ExternalClozeError(file, i + 1, 'field "sentence" must be a string');
    const masks = sentence.split(MASK).length - 1;
    if (masks !== 1) throw new ExternalClozeError(file, i + 1, `"sentence" must hold exactly one ${MASK}, it holds ${masks}`);
    if (typeof o.answer !== 'string' || !o.answer.trim())
      throw new ExternalClozeError(file, i + 1, 'field "answer" must be a non-empty string');
    const docId = o.doc_id ?? o.sourceId;
    if (docId !== undefined && typeof docId !== 'string' && typeof docId !== 'number')
      throw new ExternalClozeError(file, i + 1, 'field "doc_id" must be a string or a number');
    const item: ExternalClozeItem = { sentence, answer: o.answer, line: i + 1 };
    if (docId !== undefined) item.docId = String(docId);
    if (typeof o.title === 'string') item.title = o.title;
    out.push(item);
  }
  return out;
}

export interface ExternalClozeQueries {
  /** The items that could be asked, as queries (sourceDocId null: no passage is excluded from retrieval). */
  queries: ClozeQuery[];
  /** For each query, its item. */
  items: ExternalClozeItem[];
  /** For each query, the rows of its gold passage(s); null when it names none in the index. */
  gold: (number[] | null)[];
  /**
   * For each query, the gold passage that holds the sentence itself, when one does: its row, the
   * sentence's index among the passage's non-empty sentences (TokenizedPassage.sentences) and its
   * [start, end) in the passage text.
   */
  own: ({ row: number; sentence: number; start: number; end: number } | null)[];
  /** Items left out: the answer has no wordpiece. */
  skipped: { line: number; reason: string }[];
}

/**
 * The items as queries of at most `maxLength` tokens of `[CLS] x [SEP]`; `passages` are the index rows
 * (`id`, and `docId` for imported corpora), in row order.
 */
export function externalClozeQueries(
  items: readonly ExternalClozeItem[],
  tokenizer: WordPieceTokenizer,
  passages: readonly { id: string; docId?: string; text?: string }[],
  maxLength: number,
): ExternalClozeQueries {
  const squash = (t: string) => t.replace(/\s+/g, ' ').trim();
  /** Where `sentence` is one of the sentences of passage `row`, or null. */
  const locate = (row: number, sentence: string) => {
    const text = passages[row].text;
    if (text === undefined) return null;
    const want = squash(sentence);
    let index = 0;
    for (const span of splitSentences(text)) {
      const here = text.slice(span.start, span.end);
      if (squash(here) === want) return { row, sentence: index, start: span.start, end: span.end };
      if (tokenizer.encode(here).length > 0) index++; // tokenizePassage keeps the non-empty sentences only
    }
    return null;
  };
  const rowsOf = new Map<string, number[]>();
  const add = (key: string, row: number) => {
    const rows = rowsOf.get(key) ?? [];
    if (!rows.includes(row)) rows.push(row);
    rowsOf.set(key, rows);
  };
  passages.forEach((p, row) => {
    add(p.id, row);
    if (p.docId !== undefined) add(p.docId, row);
  });
  // Only the answer span is offered, so the salient masker masks exactly its wordpieces.
  const masker = createMasker('salient', { vocabSize: tokenizer.size, maxLength });
  const rng = new Rng(1);
  const out: ExternalClozeQueries = { queries: [], items: [], gold: [], own: [], skipped: [] };
  for (const item of items) {
    const at = item.sentence.indexOf(MASK);
    const text = item.sentence.slice(0, at) + item.answer + item.sentence.slice(at + MASK.length);
    const { ids, offsets } = tokenizer.encodeWithOffsets(text);
    const ex = masker.mask(
      { ids, offsets, spans: [{ start: at, end: at + item.answer.length, type: 'answer' }], sourceDocId: '' },
      rng,
    );
    if (!ex || ex.spanType === undefined) {
      out.skipped.push({ line: item.line, reason: 'the answer has no wordpiece the tokenizer reads' });
      continue;
    }
    out.queries.push({
      inputIds: ex.inputIds,
      maskPositions: ex.maskPositions,
      targets: ex.targets,
      sourceDocId: null,
      answer: [...ex.targets],
    });
    out.items.push(item);
    const gold = item.docId !== undefined ? (rowsOf.get(item.docId) ?? null) : null;
    out.gold.push(gold);
    out.own.push(gold?.map((row) => locate(row, text)).find((x) => x !== null) ?? null);
  }
  return out;
}
