// Index refresh policies. The trainer asks its `IndexRefresher` for the index to search before each
// REALM step. `SyncRefresher` is the reference: it re-embeds the whole corpus with the current
// Embed_doc on the trainer's own thread every `every` steps. The asynchronous policy (a Web Worker
// building from a snapshot while the trainer goes on) implements the same interface in src/workers/.
import type { RefreshRecord } from './metrics';
import { DenseMipsIndex, type MipsIndex } from './mips';
import type { RealmModel } from './realm-model';
import type { DocumentStore } from '../corpus/data';

/** Builds a MipsIndex from [N, d] vectors; the kernel module passes its WGSL index here. */
export type IndexFactory = (version: number, vectors: Float32Array, ids: readonly string[], dim: number) => MipsIndex;
export const denseIndexFactory: IndexFactory = (version, vectors, ids, dim) => new DenseMipsIndex(version, vectors, ids, dim);

export interface RefreshContext {
  /** Global trainer step about to be taken. */
  step: number;
  model: RealmModel;
  docs: DocumentStore;
}

export interface IndexInUse {
  index: MipsIndex;
  /** Trainer step whose parameters θ′ built the index; staleness = step - snapshotStep. */
  snapshotStep: number;
  /** Set on the step a new index was swapped in. */
  refreshed?: RefreshRecord;
}

export interface IndexRefresher {
  /** The index to search at this step (building or swapping one in when the policy says so). */
  onStep(ctx: RefreshContext): Promise<IndexInUse> | IndexInUse;
  /** Forget the current index (after a checkpoint restore); the next onStep builds a new one. */
  reset(): void;
  dispose(): void;
}

/** Embed_doc(z) for every document with the model's current weights, [N, d] row-major. */
export async function embedCorpus(model: RealmModel, docs: DocumentStore, batchSize = 64): Promise<Float32Array> {
  const t = model.embedDoc.embedRows(docs.tokens as ArrayLike<number>[], model.config.maxDocLength, batchSize); // [N, d]
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

/** Re-embeds everything on the trainer's thread every `every` steps (and at the first step). */
export class SyncRefresher implements IndexRefresher {
  private current: IndexInUse | null = null;
  private version = 0;

  constructor(
    readonly every: number,
    private readonly factory: IndexFactory = denseIndexFactory,
  ) {}

  async onStep(ctx: RefreshContext): Promise<IndexInUse> {
    if (this.current && ctx.step - this.current.snapshotStep < this.every) {
      return { index: this.current.index, snapshotStep: this.current.snapshotStep };
    }
    const start = Date.now();
    const vectors = await embedCorpus(ctx.model, ctx.docs);
    const index = this.factory(++this.version, vectors, ctx.docs.ids, ctx.model.config.retrieverDim);
    this.current?.index.dispose();
    const end = Date.now();
    const refreshed: RefreshRecord = {
      version: this.version,
      snapshotStep: ctx.step,
      start,
      end,
      swapStep: ctx.step,
      chunks: ctx.docs.ids.length,
      durationMs: end - start,
    };
    this.current = { index, snapshotStep: ctx.step };
    return { index, snapshotStep: ctx.step, refreshed };
  }

  reset(): void {
    this.current?.index.dispose();
    this.current = null;
  }

  dispose(): void {
    this.reset();
  }
}

/** A fixed index over the current weights (evaluation: "at inference the index is fixed"). */
export async function freshIndex(
  model: RealmModel,
  docs: DocumentStore,
  version = 0,
  factory: IndexFactory = denseIndexFactory,
): Promise<MipsIndex> {
  return factory(version, await embedCorpus(model, docs), docs.ids, model.config.retrieverDim);
}
