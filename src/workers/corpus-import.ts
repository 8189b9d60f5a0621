// The import pipeline the page's corpus importer and `npm run import` share: a user's file (txt, md,
// jsonl, tsv) -> passages -> a WordPiece vocabulary (trained on a sample, or a model's given one) ->
// blocks -> chunks (id, `[CLS] title [SEP] body [SEP]` token ids, salient spans). Storage-free: the
// caller's ChunkSink keeps the vocabulary and the chunks (IndexedDB in the page, a folder in Node).
//
// A file is read twice, streaming, so memory stays bounded whatever its size:
//   pass 1  read and check: parse every record, list bad ones, count passages, and keep a bounded
//           random sample of the text (reservoir sampling, `sampleChars`) to train the vocabulary;
//   vocab   train a WordPiece vocabulary on that sample (or take the given one);
//   pass 2  parse again; passages -> blocks -> dedupe by id (SHA-1 of title + "\n" + block) ->
//           token ids of `[CLS] title [SEP] body [SEP]` -> salient spans -> chunks, written in batches.
// (Reading the file twice is cheaper than staging the raw passages: parsing runs at tens of MB/s,
// while tokenizing and tagging, done once, dominate.)
import { CorpusParser, detectFormat, type BadRecord, type CorpusFormat, type ParsedPassage } from '../corpus/corpus-parse';
import { ProgressMeter, type Progress } from '../model/progress';
import type { ChunkRecord } from '../storage/db';
import type { CorpusTokenizer, TextTools } from './corpus-importer-tools';

/** Where an import puts what it makes. */
export interface ChunkSink {
  putVocab(tokens: string[]): Promise<void>;
  putChunks(chunks: ChunkRecord[]): Promise<void>;
  /** Called every few seconds with the statistics so far (the page's staging heartbeat). */
  heartbeat(stats: Record<string, number>): Promise<void>;
}

export type ImportProgressCallback = (p: Progress) => unknown;

export interface ImportPassagesOptions {
  fileName: string;
  /** Shown in progress details; defaults to the file name. */
  name?: string;
  /** Defaults to the format named by the file's extension. */
  format?: CorpusFormat;
  /** Size of the vocabulary trained for this corpus (ignored with `vocab`). */
  vocabSize?: number;
  /**
   * A given vocabulary (a model's vocab.txt, one piece per entry, [PAD] [UNK] [CLS] [SEP] [MASK] first):
   * the corpus is tokenized with it instead of a trained one; words it cannot spell become [UNK] and are
   * counted in `stats.unkWords` (of `stats.words`).
   */
  vocab?: string[];
  /** At most this many characters of text (a random sample of passages) train the vocabulary. */
  sampleChars?: number;
  /** Records larger than this are skipped as bad. */
  maxRecordBytes?: number;
  /** Most wordpieces in one block. */
  maxPieces?: number;
}

/** The import produced nothing to store. */
export class EmptyCorpusError extends Error {
  constructor(fileName: string, bad: number) {
    super(
      `"${fileName}" has no usable passages` +
        (bad > 0 ? ` (all ${bad} records were skipped; see the list of bad lines).` : '.') +
        ' Check that the file is in one of the formats listed above.',
    );
    this.name = 'EmptyCorpusError';
  }
}

/** Thrown inside a job when it is cancelled; never leaves the importer. */
export class ImportCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'ImportCancelled';
  }
}

/** At most this many bad records are listed (all are counted). */
const MAX_LISTED_BAD = 500;
const DEFAULT_VOCAB_SIZE = 8192;
const DEFAULT_SAMPLE_CHARS = 4_000_000;
const DEFAULT_MAX_PIECES = 128;
const CHUNK_BATCH = 256;
const PROGRESS_EVERY_MS = 100;
const HEARTBEAT_EVERY_MS = 5_000;

const utf8 = new TextEncoder();

async function sha1Hex(s: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', utf8.encode(s)));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Lets queued messages (a cancel) and rendering through between batches. */
export const yieldNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** One running import: its cancel flag, bad records, progress throttle. */
export class Job {
  cancelled = false;
  readonly abort = new AbortController();
  readonly bad: BadRecord[] = [];
  badCount = 0;
  private lastReport = 0;

  constructor(private readonly onProgress?: ImportProgressCallback) {}

  check(): void {
    if (this.cancelled) throw new ImportCancelled();
  }

  addBad(records: BadRecord[]): void {
    this.badCount += records.length;
    for (const r of records) if (this.bad.length < MAX_LISTED_BAD) this.bad.push(r);
  }

  report(p: Progress, force = false): void {
    const now = Date.now();
    if (!this.onProgress || (!force && now - this.lastReport < PROGRESS_EVERY_MS)) return;
    this.lastReport = now;
    // Across Comlink this returns a promise; a progress update that fails to arrive is not an error.
    void Promise.resolve(this.onProgress(p)).catch(() => {});
  }
}

/** Keeps a uniform random sample of passages whose text adds up to about `budget` characters. */
class TextSample {
  readonly texts: string[] = [];
  private chars = 0;
  private seen = 0;
  private capacity = 0;
  private rng = 0x9e3779b9;

  constructor(private readonly budget: number) {}

  add(text: string): void {
    this.seen++;
    if (this.capacity === 0) {
      this.texts.push(text);
      this.chars += text.length;
      if (this.chars >= this.budget) this.capacity = this.texts.length;
      return;
    }
    // Reservoir sampling (Algorithm R) with a fixed count once the budget is reached.
    const j = Math.floor(this.random() * this.seen);
    if (j < this.capacity) this.texts[j] = text;
  }

  private random(): number {
    // xorshift32: deterministic, so the same file gives the same vocabulary.
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return this.rng / 2 ** 32;
  }
}

/** Statistics kept on the corpus record. */
export function emptyStats(): Record<string, number> {
  return {
    passages: 0,
    chunks: 0,
    duplicates: 0,
    tokens: 0,
    spans: 0,
    bytes: 0,
    badRecords: 0,
    vocabSize: 0,
    words: 0,
    unkWords: 0,
  };
}

/**
 * Turns blocks into chunks: dedupes by document id, tokenizes `[CLS] title [SEP] body [SEP]`, tags
 * salient spans, and writes batches to the staging corpus.
 */
/** A block to store: its id is computed and its salient spans tagged when absent. */
export interface Block {
  title: string;
  text: string;
  id?: string;
  source?: string;
  docId?: string;
  spans?: { start: number; end: number; type: string }[];
}

export class ChunkWriter {
  private seq = 0;
  private readonly seen = new Set<string>();
  private pending: ChunkRecord[] = [];
  private lastHeartbeat = Date.now();

  constructor(
    private readonly sink: ChunkSink,
    private readonly corpusId: string,
    private readonly tokenizer: CorpusTokenizer,
    private readonly tools: TextTools,
    readonly stats: Record<string, number>,
    private readonly job: Job,
  ) {}

  /** Adds blocks of one or more passages; `id` is computed when absent. */
  async add(blocks: Block[]): Promise<void> {
    const ids = await Promise.all(blocks.map((b) => b.id ?? sha1Hex(`${b.title}\n${b.text}`)));
    const titleIds = new Map<string, number[]>();
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      const id = ids[i];
      if (this.seen.has(id)) {
        this.stats.duplicates++;
        continue;
      }
      this.seen.add(id);
      let title = titleIds.get(b.title);
      if (!title) titleIds.set(b.title, (title = this.tokenizer.encode(b.title)));
      const body = this.tokenizer.encode(b.text);
      const { clsId, sepId, unkId, countWords } = this.tools;
      if (countWords && unkId !== undefined) {
        // A word the vocabulary cannot spell is one [UNK] (BERT's rule), so [UNK]s count those words.
        this.stats.words += countWords(b.title) + countWords(b.text);
        for (const ids of [title, body]) for (const t of ids) if (t === unkId) this.stats.unkWords++;
      }
      const tokenIds = new Int32Array([clsId, ...title, sepId, ...body, sepId]);
      const spans = b.spans ?? this.tools.tagSalientSpans(b.text);
      this.stats.tokens += tokenIds.length;
      this.stats.spans += spans.length;
      for (const s of spans) this.stats[`spans.${s.type}`] = (this.stats[`spans.${s.type}`] ?? 0) + 1;
      const chunk: ChunkRecord = { corpusId: this.corpusId, seq: this.seq++, id, title: b.title, text: b.text, tokenIds, spans };
      if (b.source) chunk.source = b.source;
      if (b.docId !== undefined) chunk.docId = b.docId;
      this.pending.push(chunk);
    }
    this.stats.chunks = this.seq;
    if (this.pending.length >= CHUNK_BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    this.job.check();
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      await this.sink.putChunks(batch);
    }
    if (Date.now() - this.lastHeartbeat > HEARTBEAT_EVERY_MS) {
      this.lastHeartbeat = Date.now();
      await this.sink.heartbeat({ ...this.stats });
    }
  }
}

/** Reads a byte stream chunk by chunk; stops reading when the job is cancelled. */
export async function forEachChunk(
  stream: ReadableStream<Uint8Array>,
  job: Job,
  onChunk: (bytes: Uint8Array) => Promise<void> | void,
): Promise<void> {
  const reader = stream.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  job.abort.signal.addEventListener('abort', stop);
  try {
    for (;;) {
      job.check();
      const { done, value } = await reader.read();
      job.check();
      if (done) return;
      await onChunk(value);
    }
  } finally {
    job.abort.signal.removeEventListener('abort', stop);
    reader.releaseLock();
  }
}

/**
 * Imports a user's file: pass 1 (read, check, sample), the vocabulary (trained, or `opts.vocab`), pass 2
 * (blocks, ids, tokens, spans) into `sink`. Fills `stats` as it goes; throws EmptyCorpusError when
 * nothing usable is left, ImportCancelled when `job` is cancelled. The page's importer and
 * `npm run import` both call this.
 */
export async function importPassages(
  file: { size: number; stream(): ReadableStream<Uint8Array> },
  opts: ImportPassagesOptions,
  ctx: { corpusId: string; tools: TextTools; job: Job; sink: ChunkSink; stats: Record<string, number> },
): Promise<void> {
  const { tools, job, sink, stats } = ctx;
  const name = opts.name ?? opts.fileName;
  stats.bytes = file.size;
  const format = opts.format ?? detectFormat(opts.fileName);
  const parserOpts = { format, fileName: opts.fileName, maxRecordBytes: opts.maxRecordBytes };

  // Pass 1: read and check, sample text for the vocabulary (none needed when one is given).
  const sample = new TextSample(opts.vocab ? 0 : (opts.sampleChars ?? DEFAULT_SAMPLE_CHARS));
  const reading = new ProgressMeter('import', 'bytes', file.size);
  const parser1 = new CorpusParser(parserOpts);
  const take = (b: { passages: ParsedPassage[]; bad: BadRecord[] }) => {
    job.addBad(b.bad);
    if (!opts.vocab) for (const p of b.passages) sample.add(p.title ? `${p.title}\n${p.text}` : p.text);
    stats.passages += b.passages.length;
  };
  const detail1 = () => `reading ${name}: ${stats.passages.toLocaleString('en')} passages, ${job.badCount} bad records`;
  let lastBeat = Date.now();
  await forEachChunk(file.stream(), job, async (bytes) => {
    take(parser1.push(bytes));
    job.report(reading.at(parser1.bytes, detail1()));
    if (Date.now() - lastBeat > HEARTBEAT_EVERY_MS) {
      lastBeat = Date.now();
      await sink.heartbeat({ ...stats });
    }
  });
  take(parser1.finish());
  job.report(reading.at(file.size, detail1()), true);
  stats.badRecords = job.badCount;
  if (stats.passages === 0) throw new EmptyCorpusError(opts.fileName, job.badCount);

  // The vocabulary: the given one, or one trained on the sample.
  let tokenizer: CorpusTokenizer;
  if (opts.vocab) {
    tokenizer = tools.tokenizerFromVocab(opts.vocab);
  } else {
    const vocabDetail = `training a vocabulary on ${sample.texts.length.toLocaleString('en')} sampled passages`;
    job.report(new ProgressMeter('vocab', 'passages', 0).at(0, vocabDetail), true);
    await sink.heartbeat({ ...stats });
    await yieldNow();
    job.check();
    tokenizer = tools.trainTokenizer(sample.texts, opts.vocabSize ?? DEFAULT_VOCAB_SIZE);
    sample.texts.length = 0;
  }
  job.check();
  stats.vocabSize = tokenizer.vocab.length;
  await sink.putVocab([...tokenizer.vocab]);

  // Pass 2: blocks, ids, tokens, spans.
  const writer = new ChunkWriter(sink, ctx.corpusId, tokenizer, tools, stats, job);
  const tokenizing = new ProgressMeter('tokenize', 'passages', stats.passages);
  const maxPieces = opts.maxPieces ?? DEFAULT_MAX_PIECES;
  let done = 0;
  const detail2 = () => `${stats.chunks.toLocaleString('en')} blocks, ${stats.duplicates} duplicates dropped`;
  const write = async (passages: ParsedPassage[]) => {
    // Small slices keep the thread responsive (it may be the page's main thread).
    for (let i = 0; i < passages.length; i += 32) {
      const blocks = passages.slice(i, i + 32).flatMap((p) => {
        try {
          const texts = tools.splitIntoBlocks(p.title, p.text, tokenizer, maxPieces);
          if (texts.length === 0) {
            // Nothing the tokenizer reads (control or invisible characters only): listed, not lost.
            job.addBad([{ line: p.line, reason: 'no readable text: only control or invisible characters' }]);
            stats.badRecords = job.badCount;
          }
          return texts.map((text) => ({ title: p.title, text, docId: p.docId }));
        } catch (e) {
          // A title too long to leave room for a body in a block: that record is skipped.
          job.addBad([{ line: p.line, reason: (e as Error).message }]);
          stats.badRecords = job.badCount;
          return [];
        }
      });
      await writer.add(blocks);
      done += Math.min(32, passages.length - i);
      job.report(tokenizing.at(done, detail2()));
      await yieldNow();
      job.check();
    }
  };
  const parser2 = new CorpusParser(parserOpts);
  await forEachChunk(file.stream(), job, (bytes) => write(parser2.push(bytes).passages));
  await write(parser2.finish().passages);
  await writer.flush();
  job.report(tokenizing.at(stats.passages, detail2()), true);
  if (stats.chunks === 0) throw new EmptyCorpusError(opts.fileName, job.badCount);
}
