// The corpus importer: turns a user's file, or a bundled corpus, into stored chunks (blocks of at most
// 128 wordpieces with their token ids and salient spans). A plain class so that it runs the same in a
// Web Worker (behind Comlink) and on the main thread (the fallback).
//
// A user's file goes through `importPassages` (corpus-import.ts: two streaming passes, the vocabulary
// between them), the same pipeline `npm run import` runs into a folder; here its sink is IndexedDB.
//
// Everything is written under a new corpus id whose record has status 'staging'. Only at the end is
// it flipped to 'ready', together with the active-corpus setting, in one transaction. Cancelling or
// failing deletes the staging corpus, so stored corpora are never touched by a failed import.
import { ByteLineSplitter, type BadRecord, type CorpusFormat } from '../corpus/corpus-parse';
import { parseCloze, parseQa, parseVocab, spansProblem } from '../corpus/corpus-format';
import { ProgressMeter } from '../model/progress';
import { RealmStore, type CorpusRecord, type EvalSetsRecord } from '../storage/db';
import { realTextTools, type TextTools } from './corpus-importer-tools';
import {
  ChunkWriter,
  emptyStats,
  EmptyCorpusError,
  forEachChunk,
  ImportCancelled,
  importPassages,
  Job,
  yieldNow,
  type Block,
  type ChunkSink,
  type ImportProgressCallback,
} from './corpus-import';

export type { ImportProgressCallback } from './corpus-import';

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
  /** Size of the vocabulary trained for this corpus (ignored with `vocab`). */
  vocabSize?: number;
  /** A model's vocabulary to tokenize with instead of training one (words it cannot spell count as stats.unkWords). */
  vocab?: string[];
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

/** A bundled corpus file could not be fetched. */
class BundledCorpusMissingError extends Error {
  constructor(url: string, detail: string) {
    super(
      `The bundled corpus file ${url} could not be loaded (${detail}). Rebuild the app with its public/corpus/ folder, then reload.`,
    );
    this.name = 'BundledCorpusMissingError';
  }
}

/** The id of a corpus imported from `fileName` now. */
export function importCorpusId(fileName: string): string {
  return `import:${fileName}:${Date.now().toString(36)}`;
}

/** The sink of an import into IndexedDB: the staging corpus's vocabulary, chunks and heartbeat. */
function storeSink(store: RealmStore, corpusId: string): ChunkSink {
  return {
    putVocab: (tokens) => store.putVocab({ corpusId, tokens }),
    putChunks: (chunks) => store.putChunks(chunks),
    heartbeat: (stats) => store.touchStaging(corpusId, stats),
  };
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
      await importPassages(
        file,
        { ...opts, name: record.name },
        {
          corpusId,
          tools: this.tools,
          job,
          sink: storeSink(store, corpusId),
          stats: record.stats,
        },
      );
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
      const writer = new ChunkWriter(storeSink(store, opts.corpusId), opts.corpusId, tokenizer, this.tools, stats, job);
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
