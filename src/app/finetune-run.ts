// The Open-QA fine-tuning phase in the page (issue #34): after pre-training, the run's current weights
// start a spanReader model (openQaModel: a fresh span head), and OpenQaFinetuner trains it on the
// corpus's qa-train.jsonl with the index fixed (Embed_doc frozen, built once). It runs on the page's
// main thread, as pre-training does, one step at a time with a yield in between, and reports each step,
// the dev set's exact match and recall@5 every E steps (and before the first step: the zero-shot
// point), its progress and ETA. Its model and index are what the Ask panel reads once it has stepped.
// When it ends (done or stopped) its checkpoint is stored with the run (RealmStore.putFinetuneCheckpoint:
// weights with the span head, AdamW, step, RNG, question order, and its charts' history), so a reload
// that opens the run again restores the fine-tuned reader (`FinetuneRun.restore`).
// Not a React component: panels subscribe through the qa store (qa-store.ts).
import type { FinetuneStepMetrics } from '../model/qa-finetune';
import { FINETUNE_DEFAULTS, OpenQaFinetuner, openQaModel, type FinetuneOptions } from '../model/qa-finetune';
import { evaluateOpenQa, retrievalRecall } from '../model/qa-answer';
import { denseRetrieval } from '../model/qa-retrieval';
import { ProgressMeter, type Progress } from '../model/progress';
import type { RealmCheckpoint } from '../model/trainer';
import { guardedWasmStep } from '../platform/wasm-kernels';
import type { RealmStore } from '../storage/db';
import { OpenQaUnavailableError, pretrainedWeights, type QaContext, type QaReader, type QaRun } from './open-qa-source';

export type FinetuneStatus = 'preparing' | 'running' | 'stopped' | 'done' | 'failed';

/** What the Training panel asks for: FinetuneOptions plus how often the dev set is evaluated. */
export interface FinetuneSettings extends FinetuneOptions {
  /** Evaluate dev EM and recall@5 every E steps (0: only before the first step and at the end). */
  evalEvery: number;
}

/** The page's defaults: REALM's k = 5 and the CLI's learning rate and batch, a short run. */
export const PAGE_FINETUNE_DEFAULTS: FinetuneSettings = { ...FINETUNE_DEFAULTS, steps: 20, evalEvery: 5 };

/**
 * Dev questions the page evaluates (the first this many): the default corpus has 1,633, too many to
 * read every E steps on the main thread; `npm run eval:qa` evaluates them all.
 */
export const PAGE_DEV_QUESTIONS = 200;

/** Dev-set metrics at one fine-tuning step (step 0: before fine-tuning, the zero-shot retriever). */
export interface QaDevPoint {
  step: number;
  /** Exact match of the predicted answer (k documents read), over the dev questions. */
  exactMatch: number;
  /** An answer in the top 5 documents of the retriever (qa-answer QA_RECALL_RULE). */
  recallAt5: number;
  questions: number;
}

export interface FinetuneEvents {
  step?: (m: FinetuneStepMetrics) => void;
  evaluated?: (p: QaDevPoint) => void;
  status?: (s: FinetuneStatus) => void;
  error?: (e: Error) => void;
}

/** Where a fine-tuning run keeps its checkpoint (a RealmStore, or a stand-in in tests). */
export type FinetuneStore = Pick<RealmStore, 'putFinetuneCheckpoint'>;

/** What a stored fine-tuned checkpoint carries besides OpenQaFinetuner.checkpoint's fields. */
interface PageFinetuneExtra {
  pageFinetune: { fromStep: number; settings: FinetuneSettings; history: FinetuneRun['history'] };
}

/** Checks the settings a user typed; throws what to fix. */
export function checkFinetuneSettings(s: FinetuneSettings, passages: number, trainQuestions: number): void {
  if (!(Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 100_000))
    throw new OpenQaUnavailableError('Steps must be a whole number from 1 to 100000.');
  if (!(Number.isInteger(s.k) && s.k >= 1 && s.k <= passages))
    throw new OpenQaUnavailableError(`k must be a whole number from 1 to the ${passages} passages.`);
  if (!(Number.isInteger(s.evalEvery) && s.evalEvery >= 0))
    throw new OpenQaUnavailableError('Evaluate every E: a whole number, 0 for never.');
  if (trainQuestions === 0)
    throw new OpenQaUnavailableError(
      "This corpus has no Open-QA training questions (a bundled corpus's qa-train.jsonl): fine-tuning needs them.",
    );
}

export class FinetuneRun {
  status: FinetuneStatus = 'preparing';
  readonly history: { steps: FinetuneStepMetrics[]; evals: QaDevPoint[] } = { steps: [], evals: [] };
  progress: Progress | null = null;
  private loop: Promise<void> | null = null;
  private meter: ProgressMeter;

  private constructor(
    readonly runId: string,
    /** The pre-training step whose weights it started from. */
    readonly fromStep: number,
    readonly settings: FinetuneSettings,
    readonly ctx: QaContext,
    readonly finetuner: OpenQaFinetuner,
    private readonly events: FinetuneEvents,
    private readonly store: FinetuneStore | null,
  ) {
    this.meter = new ProgressMeter('finetune', 'steps', settings.steps);
  }

  /**
   * A fine-tuning run from `run`'s current weights (the run must not be training). Call start(). With
   * `store`, its checkpoint is stored when it ends.
   */
  static async create(
    run: QaRun,
    ctx: QaContext,
    settings: FinetuneSettings,
    events: FinetuneEvents = {},
    store: FinetuneStore | null = null,
  ): Promise<FinetuneRun> {
    checkFinetuneSettings(settings, ctx.evidence.docs.ids.length, ctx.train.length);
    const weights = await pretrainedWeights(run);
    const model = openQaModel(weights, settings.seed);
    let ft: OpenQaFinetuner;
    try {
      ft = await OpenQaFinetuner.create(model, ctx.evidence, ctx.tokenizer, ctx.train, settings);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return new FinetuneRun(run.settings.runId, weights.step, settings, ctx, ft, events, store);
  }

  /**
   * The fine-tuning run stored for `runId` (its checkpoint from `putFinetuneCheckpoint`), with its
   * model, fixed index, step and charts: ended ('done', or 'stopped' before its last step, which
   * `continue()` takes on to its steps; with `store`, stored again when it ends).
   */
  static async restore(
    runId: string,
    ctx: QaContext,
    c: RealmCheckpoint,
    events: FinetuneEvents = {},
    store: FinetuneStore | null = null,
  ): Promise<FinetuneRun> {
    const page = (c.extra as Partial<PageFinetuneExtra> | undefined)?.pageFinetune;
    if (c.runId !== runId || c.phase !== 'finetune' || !page)
      throw new OpenQaUnavailableError(`The stored fine-tuned checkpoint is not run ${runId}'s; fine-tune the run again.`);
    const model = openQaModel(c, page.settings.seed);
    let ft: OpenQaFinetuner;
    try {
      ft = await OpenQaFinetuner.create(model, ctx.evidence, ctx.tokenizer, ctx.train, page.settings);
      ft.restore(c);
    } catch (e) {
      model.dispose();
      throw e;
    }
    const f = new FinetuneRun(runId, page.fromStep, page.settings, ctx, ft, events, store);
    f.history.steps.push(...page.history.steps);
    f.history.evals.push(...page.history.evals);
    f.status = f.step >= page.settings.steps ? 'done' : 'stopped';
    f.progress = { task: 'finetune', done: f.step, total: page.settings.steps, unit: 'steps', rate: 0, etaSeconds: null };
    return f;
  }

  /** Stores the checkpoint (weights, AdamW, step, RNG, question order) with the history of its charts. */
  private async save(): Promise<void> {
    if (!this.store || this.step === 0) return;
    const c = await this.finetuner.checkpoint(this.runId);
    const page: PageFinetuneExtra = {
      pageFinetune: { fromStep: this.fromStep, settings: this.settings, history: this.history },
    };
    c.extra = { ...c.extra, ...page };
    try {
      await this.store.putFinetuneCheckpoint(c);
    } catch (e) {
      const err = new Error(
        `The fine-tuned model was not saved (${(e as Error).message}); it stays in the page until a reload. Free some space and fine-tune again to keep it.`,
      );
      err.name = (e as Error).name === 'StorageFullError' ? 'StorageFullError' : 'CheckpointNotSavedError';
      this.events.error?.(err);
    }
  }

  get step(): number {
    return this.finetuner.stepCount;
  }

  /** The fine-tuned reader for the Ask panel, once at least one step was taken and it is not training. */
  reader(): QaReader | null {
    if (this.status === 'running' || this.status === 'preparing' || this.step === 0) return null;
    return {
      model: this.finetuner.model,
      index: this.finetuner.index,
      kind: 'fine-tuned',
      pretrainStep: this.fromStep,
      finetuneSteps: this.step,
    };
  }

  start(): void {
    if (this.status !== 'preparing') return;
    this.setStatus('running');
    this.loop = this.runLoop();
  }

  /**
   * Goes on with a stopped run (stopped here, or restored from storage) up to its steps: the weights,
   * AdamW's moments, the RNG and the question order carry on, so it ends where an uninterrupted run would.
   */
  continue(): void {
    if (!this.canContinue) return;
    this.setStatus('running');
    this.loop = this.runLoop();
  }

  /** Whether `continue()` has steps left to take. */
  get canContinue(): boolean {
    return this.status === 'stopped' && this.step < this.settings.steps;
  }

  /** Stops after the current step (its model stays, for the Ask panel). */
  async stop(): Promise<void> {
    if (this.status !== 'running') return;
    this.setStatus('stopped');
    await this.loop;
  }

  /** Waits for the loop to end (tests). */
  finished(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  private async evaluate(): Promise<void> {
    const { model, index } = this.finetuner;
    const { evidence, tokenizer } = this.ctx;
    const dev = this.ctx.dev.slice(0, PAGE_DEV_QUESTIONS);
    if (dev.length === 0) return;
    const retrieval = denseRetrieval(model, index);
    const e = await evaluateOpenQa(model, evidence, tokenizer, retrieval, dev, { k: this.settings.k });
    const recallAt5 = this.settings.k === 5 ? e.recallAtK : await retrievalRecall(model, evidence, tokenizer, retrieval, dev, 5);
    const p: QaDevPoint = { step: this.step, exactMatch: e.exactMatch, recallAt5, questions: e.questions };
    this.history.evals.push(p);
    this.events.evaluated?.(p);
  }

  private async runLoop(): Promise<void> {
    const { steps, evalEvery, batchSize, k } = this.settings;
    try {
      // Step 0: the pre-trained retriever, the untrained span head (a continued run has it already).
      if (this.history.evals.length === 0) await this.evaluate();
      this.progress = this.meter.at(this.step);
      while (this.status === 'running' && this.step < steps) {
        const m = await guardedWasmStep(`fine-tuning step ${this.step + 1} (batch ${batchSize}, k ${k})`, () =>
          this.finetuner.step(),
        );
        this.history.steps.push(m);
        this.progress = this.meter.at(m.step);
        this.events.step?.(m);
        if (evalEvery > 0 && m.step % evalEvery === 0 && m.step < steps) await this.evaluate();
        // Let the page paint between steps.
        await new Promise((r) => setTimeout(r, 0));
      }
      if (this.history.evals.at(-1)?.step !== this.step) await this.evaluate();
      await this.save();
      if (this.status === 'running') this.setStatus('done');
    } catch (e) {
      this.setStatus('failed');
      this.events.error?.(e as Error);
    }
  }

  private setStatus(s: FinetuneStatus): void {
    this.status = s;
    this.events.status?.(s);
  }

  /** Frees the model, its index and the optimiser state. */
  dispose(): void {
    this.finetuner.dispose();
  }
}
