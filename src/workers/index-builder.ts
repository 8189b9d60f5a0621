// The asynchronous index builder (docs/realm.md, "Asynchronous index refresh"). A plain class so that it
// runs the same in a Web Worker (behind Comlink) and on the main thread (the fallback).
//
// build(): receives a snapshot θ′ of Embed_doc's weights (transferred, no copy), streams the corpus
// chunks from IndexedDB in batches, embeds them with Embed_doc(θ′) on this thread's own backend, stores
// the index under its version, and returns {version, vectors [N, d], ids} by transfer.
// A newer build, or cancel(), stops an older build at its next batch.
//
// Token ids: a cold run embeds each chunk's stored `tokenIds` (made with the corpus's vocabulary at
// import). A warm run's model has its own vocabulary (the warm start's): its request carries that
// vocabulary, and the builder tokenizes each chunk's title and text with it, in the importer's layout
// `[CLS] title [SEP] body [SEP]`, keeping the rows per corpus and vocabulary hash for the next build.
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendReport, type BackendRequest } from '../platform/backend';
import type { NamedWeights } from '../model/bert';
import type { RealmConfig } from '../model/config';
import { ProgressMeter, type Progress } from '../model/progress';
import { DocEmbedder } from '../model/retriever';
import { WASM_PATHS } from '../platform/wasm-assets';
import { RealmStore, type ChunkRecord } from '../storage/db';
import { CLS_ID, SEP_ID, WordPieceTokenizer } from '../corpus/tokenizer';

/** The vocabulary a run's model reads: its hash (the key of the builder's caches) and its pieces in id order. */
export interface BuildVocabulary {
  hash: string;
  tokens: string[];
}

export interface IndexBuilderInit {
  /** Backend to use; the page passes its own choice so both sides agree. */
  backend?: BackendRequest;
}

export interface BuildRequest {
  /** Index version this build produces (increasing per run). */
  version: number;
  corpusId: string;
  runId: string;
  /** Trainer step whose parameters θ′ are in `weights`. */
  snapshotStep: number;
  config: RealmConfig;
  /** snapshotDocEncoder(model): Embed_doc's parameters, moved to the builder. */
  weights: NamedWeights;
  /**
   * The model's vocabulary when it is not the corpus's (a warm start): chunks are tokenized from their
   * text with it instead of using their stored tokenIds. Absent: the stored tokenIds (a cold run).
   */
  vocab?: BuildVocabulary;
  /** Chunks embedded per batch (default 64). */
  batchSize?: number;
  /** Store the index in IndexedDB under its version (default true). */
  persist?: boolean;
  /** Main-thread mode: yield to the event loop after each batch so the trainer can step. */
  yieldBetweenBatches?: boolean;
}

export interface BuiltIndex {
  version: number;
  snapshotStep: number;
  corpusId: string;
  /** [count, dim] row-major; row i is the chunk with seq i. */
  vectors: Float32Array;
  ids: string[];
  dim: number;
  count: number;
  durationMs: number;
  chunksPerSecond: number;
}

/** A build that stopped because it was cancelled or replaced by a newer snapshot. Not a failure. */
export class BuildCancelledError extends Error {
  constructor(
    readonly version: number,
    reason: string,
  ) {
    super(`Index build v${version} stopped: ${reason}.`);
    this.name = 'BuildCancelledError';
  }
}

/** The builder's GPU device was lost (driver reset, GPU removed, tab in the background too long). */
export class GpuDeviceLostError extends Error {
  constructor(detail: string) {
    super(
      `The index builder lost its GPU device (${detail}). The builder restarts; training goes on with the index ` +
        'it has. If this repeats, close other GPU-heavy tabs or reload the page.',
    );
    this.name = 'GpuDeviceLostError';
  }
}

/** The corpus has no tokenized chunks to index. */
export class UnindexableCorpusError extends Error {
  constructor(corpusId: string, detail: string) {
    super(`Corpus "${corpusId}" cannot be indexed: ${detail}. Re-import the corpus or pick another one.`);
    this.name = 'UnindexableCorpusError';
  }
}

export class IndexBuilder {
  private report: BackendReport | null = null;
  private store: RealmStore | null = null;
  /** Ticket of the newest build asked for; a build with an older ticket stops at its next batch. */
  private newest = 0;
  private newestVersion = -1;
  /** Tickets of running builds by version, and the tickets cancelled. */
  private readonly running = new Map<number, number>();
  private readonly cancelled = new Set<number>();
  private deviceLost: string | null = null;
  /** Tokenizers by vocabulary hash (a run's vocabulary is sent with every build, built into a tokenizer once). */
  private readonly tokenizers = new Map<string, WordPieceTokenizer>();
  /** One corpus's chunk rows under one vocabulary: ids[seq] and rows[seq], filled as builds read them. */
  private rows: { key: string; ids: string[]; rows: Int32Array[] } | null = null;

  /** Sets up this thread's own tfjs backend (webgpu when available) and reports it. */
  async init(opts: IndexBuilderInit = {}): Promise<BackendReport> {
    if (!this.report) {
      // The builder never runs the webgpu-vs-wasm probe: the page decides and passes its choice.
      this.report = await selectBackend({ request: opts.backend ?? 'webgpu', wasmPaths: WASM_PATHS, probe: false });
      this.watchDevice();
    }
    return this.report;
  }

  private watchDevice(): void {
    if (tf.getBackend() !== 'webgpu') return;
    const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
    device?.lost.then((info) => {
      this.deviceLost = `${info.reason}: ${info.message}`;
    });
  }

  /** The backend tfjs reports right now on this thread. */
  backendName(): string {
    return tf.getBackend();
  }

  /** Test hook: behave as if the GPU device had been lost. */
  simulateDeviceLoss(): void {
    this.deviceLost = 'simulated device loss';
  }

  /** Stops the build of `version` (or every build when omitted) at its next batch. */
  cancel(version?: number): void {
    if (version === undefined) this.newest++;
    else if (this.running.has(version)) this.cancelled.add(this.running.get(version)!);
  }

  private async openStore(): Promise<RealmStore> {
    this.store ??= await RealmStore.open();
    return this.store;
  }

  private check(version: number, ticket: number): void {
    if (this.deviceLost) throw new GpuDeviceLostError(this.deviceLost);
    if (this.cancelled.has(ticket)) throw new BuildCancelledError(version, 'cancelled');
    if (this.newest > ticket) throw new BuildCancelledError(version, `a newer snapshot (v${this.newestVersion}) arrived`);
  }

  /** Re-embeds the whole corpus with Embed_doc(θ′). Progress goes to `onProgress` (a Comlink proxy in a worker). */
  async build(req: BuildRequest, onProgress?: (p: Progress) => void): Promise<BuiltIndex> {
    const { version } = req;
    // Arrival order decides which snapshot is newer (version numbers restart with every run).
    const ticket = ++this.newest;
    this.newestVersion = version;
    this.running.set(version, ticket);
    try {
      return await this.buildTicket(req, ticket, onProgress);
    } finally {
      if (this.running.get(version) === ticket) this.running.delete(version);
      this.cancelled.delete(ticket);
    }
  }

  private async buildTicket(req: BuildRequest, ticket: number, onProgress?: (p: Progress) => void): Promise<BuiltIndex> {
    const { version } = req;
    await this.init();
    this.check(version, ticket);
    const store = await this.openStore();
    const count = await store.countChunks(req.corpusId);
    if (count === 0) throw new UnindexableCorpusError(req.corpusId, 'it has no chunks');
    const dim = req.config.retrieverDim;
    const batchSize = req.batchSize ?? 64;
    const vectors = new Float32Array(count * dim); // [N, d]
    const ids: string[] = new Array(count);
    const meter = new ProgressMeter('index-build', 'chunks', count);
    const t0 = performance.now();
    const embedder = DocEmbedder.fromWeights(req.config, req.weights);
    try {
      onProgress?.(meter.at(0, `v${version}`));
      for (let from = 0; from < count; from += batchSize) {
        this.check(version, ticket);
        const chunks = await store.getChunks(req.corpusId, from, batchSize);
        const tokens = chunks.map((c, i) => {
          if (c.seq !== from + i || (!req.vocab && !c.tokenIds)) {
            throw new UnindexableCorpusError(req.corpusId, `chunk ${from + i} is missing or not tokenized`);
          }
          ids[c.seq] = c.id;
          return req.vocab ? this.rowOf(req.corpusId, req.vocab, c) : c.tokenIds!;
        });
        const emb = embedder.embed(tokens, batchSize); // [n, d]
        const data = await emb.data();
        emb.dispose();
        vectors.set(data as Float32Array, from * dim);
        const done = Math.min(from + batchSize, count);
        onProgress?.(meter.at(done, `v${version}`));
        if (req.yieldBetweenBatches) await new Promise((r) => setTimeout(r, 0));
      }
      this.check(version, ticket);
    } finally {
      embedder.dispose();
    }
    const durationMs = performance.now() - t0;
    if (req.persist !== false) {
      await store.putEmbeddings({
        corpusId: req.corpusId,
        version,
        snapshotStep: req.snapshotStep,
        runId: req.runId,
        createdAt: Date.now(),
        dim,
        count,
        vectors,
        ids,
      });
      await store.pruneEmbeddings(req.corpusId, req.runId, 2);
    }
    const built: BuiltIndex = {
      version,
      snapshotStep: req.snapshotStep,
      corpusId: req.corpusId,
      vectors,
      ids,
      dim,
      count,
      durationMs,
      chunksPerSecond: count / (durationMs / 1000),
    };
    return Comlink.transfer(built, [vectors.buffer]);
  }

  /** Chunk `c` tokenized with `vocab` as the importer lays it out, from the cache when it was done before. */
  private rowOf(corpusId: string, vocab: BuildVocabulary, c: ChunkRecord): Int32Array {
    const key = `${corpusId}\n${vocab.hash}`;
    if (this.rows?.key !== key) this.rows = { key, ids: [], rows: [] };
    const cache = this.rows;
    if (cache.ids[c.seq] === c.id) return cache.rows[c.seq];
    let tokenizer = this.tokenizers.get(vocab.hash);
    if (!tokenizer) {
      if (vocab.tokens.length === 0) throw new Error(`the build request's vocabulary ${vocab.hash} has no pieces`);
      this.tokenizers.clear(); // one run's vocabulary at a time
      tokenizer = new WordPieceTokenizer(vocab.tokens);
      this.tokenizers.set(vocab.hash, tokenizer);
    }
    const row = new Int32Array([CLS_ID, ...tokenizer.encode(c.title), SEP_ID, ...tokenizer.encode(c.text), SEP_ID]);
    cache.ids[c.seq] = c.id;
    cache.rows[c.seq] = row;
    return row;
  }

  /**
   * Transfer check: receives a Float32Array by transfer, returns `x * scale` by transfer, computed
   * with tfjs on this thread's backend. The caller's buffer is detached (zero-copy both ways).
   */
  async scale(x: Float32Array, scale: number): Promise<Float32Array> {
    const t = tf.tensor1d(x);
    const y = tf.mul(t, scale);
    const out = (await y.data()) as Float32Array;
    tf.dispose([t, y]);
    return Comlink.transfer(out, [out.buffer]);
  }
}
