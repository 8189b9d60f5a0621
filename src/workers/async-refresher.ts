// Index refresh through the index builder (docs/realm.md, "Asynchronous index refresh"), behind the
// trainer's IndexRefresher interface. Policies:
//   async          the default: when the builder is idle (and at least R steps after the last
//                  snapshot), send a snapshot θ′ and keep training on the stale index; swap the new
//                  index in at the first step after it arrives.
//   sync           every R steps the trainer stops and waits for the rebuild: the paper-faithful
//                  reference (staleness 0 right after each refresh).
//   frozen         build once when REALM starts, never again: the stale-index ablation.
//   every-R-steps  snapshot exactly at every R-th step and swap when ready; if a build is still
//                  running at the next snapshot point, wait for it. Staleness stays between 0 and
//                  about 2R: the paper's "30x stale" ablation with R = 30 x the async interval.
// The stale index only chooses the top-k; everything after uses the current θ (see realm-step.ts).
import type { RefreshContext, IndexFactory, IndexInUse, IndexRefresher } from '../model/index-refresh';
import type { RefreshRecord } from '../model/metrics';
import type { MipsIndex } from '../model/mips';
import type { Progress } from '../model/progress';
import { snapshotDocEncoder } from '../model/realm-model';
import type { BuildVocabulary, BuiltIndex } from './index-builder';
import type { BuilderSupervisor } from './index-builder-client';

import type { RefreshPolicy } from './refresh-policy';
export { REFRESH_POLICIES, type RefreshPolicy } from './refresh-policy';

export interface BuildEvent {
  version: number;
  snapshotStep: number;
  /** Date.now() of the event. */
  time: number;
  /** Trainer step when the event happened. */
  step: number;
}

interface AsyncRefresherOptions {
  policy: RefreshPolicy;
  /** R: minimum steps between snapshots (async), the interval (sync, every-R-steps). */
  every: number;
  /** Usually a BuilderSupervisor (worker or main thread); anything that builds an index will do. */
  builder: Pick<BuilderSupervisor, 'build' | 'cancel'>;
  corpusId: string;
  runId: string;
  /** The model's vocabulary when it is not the corpus's (a warm start): the builder tokenizes the chunks' text with it. */
  vocab?: BuildVocabulary;
  /** Builds the trainer-side MipsIndex (the WGSL kernel on webgpu, matMul+topk elsewhere). */
  factory: IndexFactory;
  /** First version number to use (after a resume: the stored index version + 1). */
  firstVersion?: number;
  onBuildStart?: (e: BuildEvent) => void;
  onBuildEnd?: (e: BuildEvent & { ok: boolean; error?: string; chunks?: number; durationMs?: number }) => void;
  onBuildProgress?: (p: Progress) => void;
  /** A build failed for a reason the user should see (not a cancellation). */
  onError?: (e: Error) => void;
}

interface Pending {
  version: number;
  snapshotStep: number;
  start: number;
  result: BuiltIndex | null;
  error: Error | null;
  promise: Promise<void>;
}

/** Consecutive failed builds after which the refresher stops trying (and says so). */
const MAX_FAILURES = 3;

export class AsyncRefresher implements IndexRefresher {
  private current: { index: MipsIndex; snapshotStep: number } | null = null;
  private pending: Pending | null = null;
  private nextVersion: number;
  private failures = 0;
  private lastStep = 0;
  private disposed = false;

  constructor(private readonly opts: AsyncRefresherOptions) {
    if (!(opts.every >= 1)) throw new Error(`refresh interval R must be at least 1 step, got ${opts.every}`);
    this.nextVersion = opts.firstVersion ?? 1;
  }

  get policy(): RefreshPolicy {
    return this.opts.policy;
  }

  /** True while the builder works on a snapshot. */
  get building(): boolean {
    return this.pending !== null && !this.pending.result && !this.pending.error;
  }

  /** Start from an index restored from storage (a reload resumes with it instead of rebuilding). */
  seed(index: MipsIndex, snapshotStep: number): void {
    this.current?.index.dispose();
    this.current = { index, snapshotStep };
    this.nextVersion = Math.max(this.nextVersion, index.version + 1);
  }

  async onStep(ctx: RefreshContext): Promise<IndexInUse> {
    const { step } = ctx;
    this.lastStep = step;
    const { policy, every } = this.opts;
    let refreshed: RefreshRecord | undefined;

    // No index yet: build one and wait, whatever the policy (there is nothing stale to use).
    // A crashed builder restarts, so retry a few times before giving up.
    for (let attempt = 1; !this.current; attempt++) {
      if (!this.pending) await this.startBuild(ctx);
      refreshed = await this.swapWhenDone(step, attempt >= MAX_FAILURES);
      if (this.current) return this.inUse(refreshed);
    }
    refreshed = this.swapIfReady(step);
    const since = step - this.current.snapshotStep;

    if (policy === 'async' && !this.pending && since >= every && this.failures < MAX_FAILURES) {
      await this.startBuild(ctx);
    } else if (policy === 'sync' && since >= every) {
      if (!this.pending) await this.startBuild(ctx);
      refreshed = (await this.swapWhenDone(step, false)) ?? refreshed;
    } else if (policy === 'every-R-steps' && since >= every && this.failures < MAX_FAILURES) {
      // At a snapshot point: finish the running build first so staleness stays bounded.
      if (this.pending) refreshed = (await this.swapWhenDone(step, false)) ?? refreshed;
      if (!this.pending) await this.startBuild(ctx);
    }
    return this.inUse(refreshed);
  }

  private inUse(refreshed?: RefreshRecord): IndexInUse {
    const c = this.current!;
    return { index: c.index, snapshotStep: c.snapshotStep, ...(refreshed ? { refreshed } : {}) };
  }

  private async startBuild(ctx: RefreshContext): Promise<void> {
    const version = this.nextVersion++;
    const snapshotStep = ctx.step;
    const start = Date.now();
    const { builder, corpusId, runId, vocab } = this.opts;
    const pending: Pending = { version, snapshotStep, start, result: null, error: null, promise: Promise.resolve() };
    this.pending = pending;
    this.opts.onBuildStart?.({ version, snapshotStep, time: start, step: ctx.step });
    // θ′ is read before this step's update (the trainer awaits onStep before it takes the step).
    const weights = await snapshotDocEncoder(ctx.model);
    pending.promise = builder
      .build(
        { version, corpusId, runId, snapshotStep, config: ctx.model.config, weights, ...(vocab ? { vocab } : {}) },
        this.opts.onBuildProgress,
      )
      .then(
        (built) => {
          pending.result = built;
          this.failures = 0;
          this.opts.onBuildEnd?.({
            version,
            snapshotStep,
            time: Date.now(),
            step: this.lastStep,
            ok: true,
            chunks: built.count,
            durationMs: built.durationMs,
          });
        },
        (e: Error) => {
          pending.error = e;
          const cancelled = e.name === 'BuildCancelledError';
          if (!cancelled) this.failures++;
          this.opts.onBuildEnd?.({ version, snapshotStep, time: Date.now(), step: this.lastStep, ok: false, error: e.message });
          if (!cancelled && !this.disposed) {
            const stop =
              this.failures >= MAX_FAILURES
                ? ` Refreshing stopped after ${MAX_FAILURES} failures in a row; training goes on with index v${this.current?.index.version ?? '?'}.`
                : '';
            this.opts.onError?.(Object.assign(new Error(e.message + stop), { name: e.name }));
          }
        },
      );
  }

  /** Swaps a finished build in; returns its record. Clears a failed build. */
  private swapIfReady(step: number): RefreshRecord | undefined {
    const p = this.pending;
    if (!p || (!p.result && !p.error)) return undefined;
    this.pending = null;
    if (!p.result) return undefined;
    const built = p.result;
    const index = this.opts.factory(built.version, built.vectors, built.ids, built.dim);
    this.current?.index.dispose();
    this.current = { index, snapshotStep: p.snapshotStep };
    const end = Date.now();
    return {
      version: built.version,
      snapshotStep: p.snapshotStep,
      start: p.start,
      end,
      swapStep: step,
      chunks: built.count,
      durationMs: end - p.start,
    };
  }

  /** Waits for the running build and swaps it in. With `required`, a failure is thrown. */
  private async swapWhenDone(step: number, required: boolean): Promise<RefreshRecord | undefined> {
    const p = this.pending;
    if (p) await p.promise;
    const error = p?.error;
    const record = this.swapIfReady(step);
    if (required && !this.current) throw error ?? new Error('no index could be built');
    return record;
  }

  reset(): void {
    if (this.pending) this.opts.builder.cancel(this.pending.version);
    this.pending = null;
    this.current?.index.dispose();
    this.current = null;
  }

  dispose(): void {
    this.disposed = true;
    this.reset();
  }
}
