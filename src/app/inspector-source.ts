// What the inspector needs beside the model: the index the trainer is searching (rebuilt in the page
// from the stored vectors of that version, so it returns exactly the rows training sees), the corpus
// vocabulary (to tokenize typed sentences and decode ids), and the passages' text by row. Inspections
// go one at a time: an index is only disposed between two of them.
import { createMipsIndex } from '../kernels/mips-index';
import { freshIndex } from '../model/index-refresh';
import { inspectQuery, type QueryInspection } from '../model/inspection';

/** What the Inspector panel also needs of the model: a typed sentence as a query, and its error. */
export { InspectionError, queryFromTypedText } from '../model/inspection';
import type { MipsIndex } from '../model/mips';
import type { RealmQuery } from '../corpus/data';
import { WordPieceTokenizer } from '../corpus/tokenizer';
import type { ChunkRecord, RealmStore } from '../storage/db';
import type { PretrainingRun } from './pretraining-run';

/** What the source reads from storage (a RealmStore, or a stand-in in tests). */
export type InspectorStore = Pick<RealmStore, 'getVocab' | 'getChunks' | 'getEmbeddings'>;
/** What the source reads from a run: its trainer (θ, documents, index version) and its ids. */
export interface InspectableRun {
  readonly realmTrainer: PretrainingRun['realmTrainer'];
  readonly settings: Pick<PretrainingRun['settings'], 'runId' | 'corpusId'>;
}

/** No index to inspect yet (the run is still in its warm-ups), or no run at all. */
export class NoIndexYetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoIndexYetError';
  }
}

export interface InspectorResult {
  inspection: QueryInspection;
  /** Trainer step (steps taken) when the query was inspected. */
  step: number;
  /** Step whose θ′ built the index (null when unknown). */
  snapshotStep: number | null;
  /** 'stored': the very vectors the trainer searches; 'rebuilt': the stored ones were gone, so the index was rebuilt from the current θ (not stale). */
  origin: 'stored' | 'rebuilt';
  /** The passage of each candidate (null for the null document, or a row that could not be read). */
  passages: (ChunkRecord | null)[];
  time: number;
}

interface CachedIndex {
  runId: string;
  version: number;
  index: MipsIndex;
  snapshotStep: number | null;
  origin: 'stored' | 'rebuilt';
}

export class InspectorSource {
  private readonly tokenizers = new Map<string, Promise<WordPieceTokenizer>>();
  private readonly chunks = new Map<string, ChunkRecord>();
  private cached: CachedIndex | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: InspectorStore) {}

  /** The run's tokenizer: the model's vocabulary when it has its own (a warm start), else the corpus's. */
  tokenizer(corpusId: string, modelVocab?: { hash: string; tokens: string[] }): Promise<WordPieceTokenizer> {
    const key = modelVocab ? `vocab\u0000${modelVocab.hash}` : corpusId;
    let t = this.tokenizers.get(key);
    if (!t) {
      t = modelVocab
        ? Promise.resolve(new WordPieceTokenizer(modelVocab.tokens))
        : this.store.getVocab(corpusId).then((v) => {
            if (!v) throw new Error(`Corpus "${corpusId}" has no vocabulary: re-import it in the Corpus panel.`);
            return new WordPieceTokenizer(v.tokens);
          });
      t.catch(() => this.tokenizers.delete(key));
      this.tokenizers.set(key, t);
    }
    return t;
  }

  async chunk(corpusId: string, row: number): Promise<ChunkRecord | null> {
    const key = `${corpusId}\u0000${row}`;
    const hit = this.chunks.get(key);
    if (hit) return hit;
    const [c] = await this.store.getChunks(corpusId, row, 1);
    if (!c || c.seq !== row) return null;
    this.chunks.set(key, c);
    return c;
  }

  /** The index of the version the trainer uses now. Call inside the queue only. */
  private async indexFor(run: InspectableRun): Promise<CachedIndex> {
    const trainer = run.realmTrainer;
    const version = trainer.indexVersion;
    if (version === 0) {
      const phase = trainer.phaseAt();
      const realmAt = trainer.config.ictSteps + trainer.config.mlmSteps;
      throw new NoIndexYetError(
        phase && phase.phase !== 'realm'
          ? `The run is in its ${phase.phase.toUpperCase()} warm-up (step ${trainer.stepCount} of ${trainer.totalSteps}); retrieval begins at the REALM phase (after step ${realmAt}), with the first index.`
          : phase === null
            ? 'This run ended before its REALM phase built an index: there is nothing to retrieve from.'
            : 'The first index is being built; retrieval begins with it. Try again in a moment.',
      );
    }
    const { runId, corpusId } = run.settings;
    const c = this.cached;
    if (c && c.runId === runId && c.version === version) return c;
    const stored = await this.store.getEmbeddings(corpusId, runId, version);
    let next: CachedIndex;
    if (stored && stored.runId === runId && stored.ids && stored.count === trainer.docs.ids.length) {
      next = {
        runId,
        version,
        index: createMipsIndex(version, stored.vectors, stored.ids, stored.dim),
        snapshotStep: stored.snapshotStep,
        origin: 'stored',
      };
    } else {
      next = {
        runId,
        version,
        index: await freshIndex(trainer.model, trainer.docs, version, createMipsIndex),
        snapshotStep: null,
        origin: 'rebuilt',
      };
    }
    this.cached?.index.dispose();
    this.cached = next;
    return next;
  }

  /** Inspects `query` with the run's current θ and the index it searches (one inspection at a time). */
  inspect(run: InspectableRun, query: RealmQuery): Promise<InspectorResult> {
    const job = this.queue.then(async () => {
      const idx = await this.indexFor(run);
      const trainer = run.realmTrainer;
      const step = trainer.stepCount;
      const inspection = await inspectQuery(trainer.model, idx.index, trainer.docs, query);
      const corpusId = run.settings.corpusId;
      const passages = await Promise.all(
        inspection.candidates.map((c) => (c.row === null ? null : this.chunk(corpusId, c.row).catch(() => null))),
      );
      return { inspection, step, snapshotStep: idx.snapshotStep, origin: idx.origin, passages, time: Date.now() };
    });
    this.queue = job.catch(() => {});
    return job;
  }

  dispose(): void {
    this.cached?.index.dispose();
    this.cached = null;
  }
}

const sources = new WeakMap<InspectorStore, InspectorSource>();

/** One source per store (the panel may remount; its caches stay). */
export function inspectorSourceFor(store: InspectorStore): InspectorSource {
  let s = sources.get(store);
  if (!s) {
    s = new InspectorSource(store);
    sources.set(store, s);
  }
  return s;
}
