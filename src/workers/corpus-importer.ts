// The corpus importer: turns a user's file, or a bundled corpus, into stored chunks (blocks of at most
// 128 wordpieces with their token ids and salient spans). A plain class so that it runs the same in a
// Web Worker (behind Comlink) and on the main thread (the fallback).
//
// A user's file is read twice, streaming, so memory stays bounded whatever its size:
//   pass 1  read and check: parse every record, list bad ones, count passages, and keep a bounded
//           random sample of the text (reservoir sampling, `sampleChars`) to train the vocabulary;
//   vocab   train a WordPiece vocabulary on that sample and store it;
//   pass 2  parse again; passages -> blocks -> dedupe by id (SHA-1 of title + "\n" + block) ->
//           token ids of `[CLS] title [SEP] body [SEP]` -> salient spans -> chunks, written in batches.
// (Reading the file twice is cheaper than staging the raw passages in IndexedDB: parsing runs at
// tens of MB/s, while tokenizing and tagging, done once, dominate.)
//
// Everything is written under a new corpus id whose record has status 'staging'. Only at the end is
// it flipped to 'ready', together with the active-corpus setting, in one transaction. Cancelling or
// failing deletes the staging corpus, so stored corpora are never touched by a failed import.
import {
  ByteLineSplitter,
  CorpusParser,
  detectFormat,
  type BadRecord,
  type CorpusFormat,
  type ParsedPassage,
} from '../corpus/corpus-parse';
import { parseCloze, parseQa, parseVocab, spansProblem } from '../corpus/corpus-format';
import { ProgressMeter, type Progress } from '../model/progress';
import { RealmStore, type ChunkRecord, type CorpusRecord, type EvalSetsRecord } from '../storage/db';
import { realTextTools, type CorpusTokenizer, type TextTools } from './corpus-importer-tools';

export interface ImportFileOptions {
  /** Chosen by the caller; `cancel(jobId)` stops this import. */
  jobId: string;
  /** Id of the new corpus, chosen by the caller so it can clean up if the worker dies (default: from the file name). */
  corpusId?: string;
  fileName: string;
  /** Shown in the corpus list; defaults to the file name. */
  name?: string;
  /** Defaults to the format named by the file's extension. */
  format?: CorpusFormat;
  /** IndexedDB database (tests use their own). */
  dbName?: string;
  /** Size of the vocabulary trained for this corpus. */
  vocabSize?: number;
  /** At most this many characters of text (a random sample of passages) train the vocabulary. */
  sampleChars?: number;
  /** Records larger than this are skipped as bad. */
  maxRecordBytes?: number;
  /** Most wordpieces in one block. */
  maxPieces?: number;
  /** Make the new corpus the active one when it is ready (default true). */
  activate?: boolean;
}

export interface BundledCorpusOptions {
  jobId: string;
  /** 'bundled:tiny' or 'bundled:default'. */
  corpusId: string;
  /** Absolute URL of the folder holding manifest.json, passages.jsonl, vocab.txt, ..., ending in '/'. */
  baseUrl: string;
  name?: string;
  dbName?: string;
  /** true: make it active; 'if-none': only when no corpus is active yet. Default true. */
  activate?: boolean | 'if-none';
}

export type ImportOutcome =
  | { status: 'done'; corpus: CorpusRecord; bad: BadRecord[]; badCount: number }
  | { status: 'cancelled'; bad: BadRecord[]; badCount: number }
  | { status: 'failed'; error: { name: string; message: string }; bad: BadRecord[]; badCount: number };

export type ImportProgressCallback = (p: Progress) => unknown;

/** The import produced nothing to store. */
class EmptyCorpusError extends Error {
  constructor(fileName: string, bad: number) {
    super(
      `"${fileName}" has no usable passages` +
        (bad > 0 ? ` (all ${bad} records were skipped; see the list of bad lines).` : '.') +
        ' Check that the file is in one of the formats listed above.',
    );
    this.name = 'EmptyCorpusError';
  }
}

/** A bundled corpus file could not be fetched. */
class BundledCorpusMissingError extends Error {
  constructor(url: string, detail: string) {
    super(
      `The bundled corpus file ${url} could not be loaded (${detail}). Rebuild the app with its public/corpus/ folder, then reload.`,
    );
    this.name = 'BundledCorpusMissingError';
  }
}

/** Thrown inside a job when it is cancelled; never leaves the importer. */
class ImportCancelled extends Error {
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

/** The id of a corpus imported from `fileName` now. */
export function importCorpusId(fileName: string): string {
  return `import:${fileName}:${Date.now().toString(36)}`;
}

/** Lets queued messages (a cancel) and rendering through between batches. */
const yieldNow = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** One running import: its cancel flag, bad records, progress throttle. */
class Job {
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

/** A block to store: its id is computed and its salient spans tagged when absent. */
interface Block {
  title: string;
  text: string;
  id?: string;
  source?: string;
  spans?: { start: number; end: number; type: string }[];
}

/** Statistics kept on the corpus record. */
function emptyStats(): Record<string, number> {
  return { passages: 0, chunks: 0, duplicates: 0, tokens: 0, spans: 0, bytes: 0, badRecords: 0, vocabSize: 0 };
}

/**
 * Turns blocks into chunks: dedupes by document id, tokenizes `[CLS] title [SEP] body [SEP]`, tags
 * salient spans, and writes batches to the staging corpus.
 */
class ChunkWriter {
  private seq = 0;
  private readonly seen = new Set<string>();
  private pending: ChunkRecord[] = [];
  private lastHeartbeat = Date.now();

  constructor(
    private readonly store: RealmStore,
    private readonly corpusId: string,
    private readonly tokenizer: CorpusTokenizer,
    private readonly tools: TextTools,
    readonly stats: Record<string, number>,
    private readonly job: Job,
  ) {}

  /** Adds blocks of one or more passages; `id` is computed and `spans` tagged when absent. */
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
      const { clsId, sepId } = this.tools;
      const tokenIds = new Int32Array([clsId, ...title, sepId, ...body, sepId]);
      const spans = b.spans ?? this.tools.tagSalientSpans(b.text);
      this.stats.tokens += tokenIds.length;
      this.stats.spans += spans.length;
      for (const s of spans) this.stats[`spans.${s.type}`] = (this.stats[`spans.${s.type}`] ?? 0) + 1;
      const chunk: ChunkRecord = { corpusId: this.corpusId, seq: this.seq++, id, title: b.title, text: b.text, tokenIds, spans };
      if (b.source) chunk.source = b.source;
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
      await this.store.putChunks(batch);
    }
    if (Date.now() - this.lastHeartbeat > HEARTBEAT_EVERY_MS) {
      this.lastHeartbeat = Date.now();
      await this.store.touchStaging(this.corpusId, { ...this.stats });
    }
  }
}

/** Reads a byte stream chunk by chunk; stops reading when the job is cancelled. */
async function forEachChunk(
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

export class CorpusImporter {
  private readonly jobs = new Map<string, Job>();

  constructor(
    private readonly tools: TextTools = realTextTools,
    private readonly fetchFn: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  /** Answers once the importer is up (the client's start check). */
  ping(): string {
    return 'corpus-importer';
  }

  /** Stops a running import; its staging corpus is deleted and stored corpora stay as they were. */
  cancel(jobId: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    job.cancelled = true;
    job.abort.abort();
  }

  /** Imports a user's file (txt, md, jsonl, tsv) as a new corpus. */
  async importFile(file: Blob, opts: ImportFileOptions, onProgress?: ImportProgressCallback): Promise<ImportOutcome> {
    const corpusId = opts.corpusId ?? importCorpusId(opts.fileName);
    const record: CorpusRecord = {
      id: corpusId,
      name: opts.name ?? opts.fileName,
      source: `import:${opts.fileName}`,
      status: 'staging',
      createdAt: Date.now(),
      updatedAt: Date.now(),
      stats: emptyStats(),
    };
    return this.run(opts.jobId, opts.dbName, record, onProgress, async (store, job) => {
      const stats = record.stats;
      stats.bytes = file.size;
      const format = opts.format ?? detectFormat(opts.fileName);
      const parserOpts = { format, fileName: opts.fileName, maxRecordBytes: opts.maxRecordBytes };

      // Pass 1: read and check, sample text for the vocabulary.
      const sample = new TextSample(opts.sampleChars ?? DEFAULT_SAMPLE_CHARS);
      const reading = new ProgressMeter('import', 'bytes', file.size);
      const parser1 = new CorpusParser(parserOpts);
      const take = (b: { passages: ParsedPassage[]; bad: BadRecord[] }) => {
        job.addBad(b.bad);
        for (const p of b.passages) sample.add(p.title ? `${p.title}\n${p.text}` : p.text);
        stats.passages += b.passages.length;
      };
      const detail1 = () =>
        `reading ${record.name}: ${stats.passages.toLocaleString('en')} passages, ${job.badCount} bad records`;
      let lastBeat = Date.now();
      await forEachChunk(file.stream(), job, async (bytes) => {
        take(parser1.push(bytes));
        job.report(reading.at(parser1.bytes, detail1()));
        if (Date.now() - lastBeat > HEARTBEAT_EVERY_MS) {
          lastBeat = Date.now();
          await store.touchStaging(corpusId, { ...stats });
        }
      });
      take(parser1.finish());
      job.report(reading.at(file.size, detail1()), true);
      stats.badRecords = job.badCount;
      if (stats.passages === 0) throw new EmptyCorpusError(opts.fileName, job.badCount);

      // The vocabulary, trained on the sample.
      const vocabDetail = `training a vocabulary on ${sample.texts.length.toLocaleString('en')} sampled passages`;
      job.report(new ProgressMeter('vocab', 'passages', 0).at(0, vocabDetail), true);
      await store.touchStaging(corpusId, { ...stats });
      await yieldNow();
      job.check();
      const tokenizer = this.tools.trainTokenizer(sample.texts, opts.vocabSize ?? DEFAULT_VOCAB_SIZE);
      sample.texts.length = 0;
      job.check();
      stats.vocabSize = tokenizer.vocab.length;
      await store.putVocab({ corpusId, tokens: [...tokenizer.vocab] });

      // Pass 2: blocks, ids, tokens, spans.
      const writer = new ChunkWriter(store, corpusId, tokenizer, this.tools, stats, job);
      const tokenizing = new ProgressMeter('tokenize', 'passages', stats.passages);
      const maxPieces = opts.maxPieces ?? DEFAULT_MAX_PIECES;
      let done = 0;
      const detail2 = () => `${stats.chunks.toLocaleString('en')} blocks, ${stats.duplicates} duplicates dropped`;
      const write = async (passages: ParsedPassage[]) => {
        // Small slices keep the thread responsive (it may be the page's main thread).
        for (let i = 0; i < passages.length; i += 32) {
          const blocks = passages.slice(i, i + 32).flatMap((p) => {
            try {
              const texts = this.tools.splitIntoBlocks(p.title, p.text, tokenizer, maxPieces);
              if (texts.length === 0) {
                // Nothing the tokenizer reads (control or invisible characters only): listed, not lost.
                job.addBad([{ line: p.line, reason: 'no readable text: only control or invisible characters' }]);
                stats.badRecords = job.badCount;
              }
              return texts.map((text) => ({ title: p.title, text }));
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
      return { activate: opts.activate !== false };
    });
  }

  /** Loads a bundled corpus (passages, vocab.txt, cloze and QA sets) from the app's own files. */
  async installBundled(opts: BundledCorpusOptions, onProgress?: ImportProgressCallback): Promise<ImportOutcome> {
    const record: CorpusRecord = {
      id: opts.corpusId,
      name: opts.name ?? opts.corpusId,
      source: opts.corpusId,
      status: 'staging',
      createdAt: Date.now(),
      updatedAt: Date.now(),
      stats: emptyStats(),
    };
    return this.run(opts.jobId, opts.dbName, record, onProgress, async (store, job) => {
      const stats = record.stats;
      const url = (file: string) => new URL(file, opts.baseUrl).href;
      const get = async (file: string, optional = false): Promise<Response | null> => {
        let res: Response;
        try {
          res = await this.fetchFn(url(file), { signal: job.abort.signal });
        } catch (e) {
          job.check();
          throw new BundledCorpusMissingError(url(file), (e as Error).message);
        }
        if (!res.ok) {
          if (optional && res.status === 404) return null;
          throw new BundledCorpusMissingError(url(file), `HTTP ${res.status}`);
        }
        return res;
      };
      const manifest = (await (await get('manifest.json', true))?.json().catch(() => null)) as { name?: string } | null;
      if (manifest?.name && !opts.name) record.name = manifest.name;
      const vocab = (await get('vocab.txt'))!;
      const tokens = parseVocab(await vocab.text());
      const tokenizer = this.tools.tokenizerFromVocab(tokens);
      stats.vocabSize = tokens.length;
      await store.putVocab({ corpusId: opts.corpusId, tokens });
      // Checked with the bundle's own parsers: a malformed evaluation file fails the install with its line.
      const readJsonl = async <T>(file: string, parse: (text: string) => T[]): Promise<T[]> => {
        const res = await get(file, true);
        return res ? parse(await res.text()) : [];
      };
      const evalSets: EvalSetsRecord = {
        cloze: await readJsonl('cloze.jsonl', parseCloze),
        qaTrain: await readJsonl('qa-train.jsonl', (t) => parseQa(t, 'qa-train.jsonl')),
        qaDev: await readJsonl('qa-dev.jsonl', (t) => parseQa(t, 'qa-dev.jsonl')),
      };
      await store.putEvalSets(opts.corpusId, evalSets);
      stats.cloze = evalSets.cloze.length;
      stats.qaTrain = evalSets.qaTrain.length;
      stats.qaDev = evalSets.qaDev.length;

      // The passages are already blocks with their ids: one chunk per passage.
      const res = (await get('passages.jsonl'))!;
      const total = Number(res.headers.get('content-length') ?? 0);
      const meter = new ProgressMeter('import', 'bytes', total);
      const writer = new ChunkWriter(store, opts.corpusId, tokenizer, this.tools, stats, job);
      const splitter = new ByteLineSplitter(1 << 20);
      const decoder = new TextDecoder('utf-8', { fatal: true });
      let bytes = 0;
      const lines = async (raw: { lineNo: number; bytes: Uint8Array | null }[]) => {
        const blocks: Block[] = [];
        for (const r of raw) {
          try {
            if (!r.bytes) throw new Error('record larger than 1 MB');
            const line = decoder.decode(r.bytes);
            if (!line.trim()) continue;
            const p = JSON.parse(line) as { id?: unknown; title?: unknown; text?: unknown; source?: unknown; spans?: unknown };
            if (typeof p.text !== 'string' || !p.text) throw new Error('missing field "text"');
            // The build's spans (typed from what the corpus knows) are kept as they are.
            const problem = p.spans === undefined ? null : spansProblem(p.spans, p.text.length);
            if (problem) throw new Error(problem);
            blocks.push({
              title: typeof p.title === 'string' ? p.title : '',
              text: p.text,
              id: typeof p.id === 'string' && p.id ? p.id : undefined,
              source: typeof p.source === 'string' ? p.source : undefined,
              spans: (p.spans as [number, number, string][] | undefined)?.map(([start, end, type]) => ({ start, end, type })),
            });
          } catch (e) {
            job.addBad([{ line: r.lineNo, reason: (e as Error).message }]);
          }
        }
        stats.passages += blocks.length;
        for (let i = 0; i < blocks.length; i += 32) {
          await writer.add(blocks.slice(i, i + 32));
          job.report(meter.at(bytes, `${stats.chunks.toLocaleString('en')} passages`));
          await yieldNow();
          job.check();
        }
      };
      if (!res.body) throw new BundledCorpusMissingError(url('passages.jsonl'), 'empty response');
      await forEachChunk(res.body, job, async (chunk) => {
        bytes += chunk.length;
        await lines(splitter.push(chunk));
      });
      await lines(splitter.finish());
      await writer.flush();
      stats.bytes = bytes;
      stats.badRecords = job.badCount;
      job.report(meter.at(total || bytes, `${stats.chunks.toLocaleString('en')} passages`), true);
      if (stats.chunks === 0) throw new EmptyCorpusError(url('passages.jsonl'), job.badCount);
      let activate = opts.activate !== false;
      if (opts.activate === 'if-none') activate = !(await store.activeCorpusId());
      return { activate };
    });
  }

  /**
   * Runs one import through a staging corpus: creates it (replacing a leftover with the same id),
   * runs `body`, then commits atomically; on cancel or failure deletes the staging corpus.
   */
  private async run(
    jobId: string,
    dbName: string | undefined,
    record: CorpusRecord,
    onProgress: ImportProgressCallback | undefined,
    body: (store: RealmStore, job: Job) => Promise<{ activate: boolean }>,
  ): Promise<ImportOutcome> {
    const job = new Job(onProgress);
    this.jobs.set(jobId, job);
    const started = Date.now();
    let store: RealmStore | null = null;
    let staged = false;
    try {
      store = await RealmStore.open(dbName);
      const existing = await store.getCorpus(record.id);
      if (existing?.status === 'ready')
        throw new Error(`A corpus "${record.id}" is already stored. Delete it first to load it again.`);
      staged = true;
      if (existing) await store.deleteCorpus(record.id);
      await store.putCorpus(record);
      const { activate } = await body(store, job);
      job.check();
      record.stats.seconds = Math.round((Date.now() - started) / 100) / 10;
      const corpus = await store.commitStagedCorpus(
        record.id,
        { name: record.name, stats: record.stats, badRecords: job.bad },
        { activate },
      );
      return { status: 'done', corpus, bad: job.bad, badCount: job.badCount };
    } catch (e) {
      // Only the staging corpus this job created is deleted; stored corpora are never touched.
      if (store && staged) await store.deleteCorpus(record.id).catch(() => {});
      if (e instanceof ImportCancelled || job.cancelled) return { status: 'cancelled', bad: job.bad, badCount: job.badCount };
      const err = e as Error;
      return {
        status: 'failed',
        error: { name: err.name || 'Error', message: err.message || String(e) },
        bad: job.bad,
        badCount: job.badCount,
      };
    } finally {
      this.jobs.delete(jobId);
      store?.close();
    }
  }
}
