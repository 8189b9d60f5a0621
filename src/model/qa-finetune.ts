// Open-QA fine-tuning as REALM and ORQA do it (issue #34; REALM §3.3, ORQA's orqa_model.py). A model
// built with spanReader: true starts from a pre-trained checkpoint (openQaModel: every weight but the
// new span head `span/`, which keeps its seeded initialisation). Embed_doc(z) of every evidence
// passage is computed once (FixedDocumentIndex) and never updated: Embed_doc gets no gradient and is
// not in the optimiser's variables (with shared retriever BERTs, the shared BERT is Embed_doc's too and
// stays frozen; Embed_input then learns through its projection). Per step, for B questions:
//   retrieve   top k of Embed_input(x) . Embed_doc(z) over the fixed index (no dropout);
//   score      S_retr(z, x) = Embed_input(x) . Embed_doc(z) again, differentiable in Embed_input;
//              S(z, s, e) = SpanReader over `[CLS] x [SEP] title [SEP] body [SEP]` + S_retr(z, x);
//   loss       spanLoss: the reader's marginal over (z, span) pairs matching an answer + the
//              retriever's marginal over the retrieved documents containing one, each 0 when none is.
// AdamW (optimizer.ts) on Embed_input, the knowledge-augmented encoder and `span/`, with a linear
// warm-up and decay over the run's steps. A seeded Rng draws the questions (shuffled epochs) and the
// dropout seeds, so a run on the cpu backend is reproducible.
import * as tf from '@tensorflow/tfjs';
import type { QaItem } from '../corpus/corpus-format';
import { Rng } from '../corpus/rng';
import type { WordPieceTokenizer } from '../corpus/tokenizer';
import type { ForwardCtx } from './bert';
import { withConfigDefaults, type RealmConfig } from './config';
import { AdamW, learningRateAt } from './optimizer';
import {
  denseRetrieval,
  embedQuestions,
  FixedDocumentIndex,
  questionInput,
  readerBatch,
  readSpans,
  type QaEvidence,
  type ReaderBatch,
} from './qa-retrieval';
import { RealmModel } from './realm-model';
import { spanLoss } from './span-loss';
import { checkpointConfig, initModelWeights } from './checkpoint';
import type { RealmCheckpoint } from './trainer';

/** Settings of a fine-tuning run (the CLI's --k, --steps, --batch, --lr, --seed). */
export interface FinetuneOptions {
  /** Documents retrieved and read per question (REALM's fine-tuning: 5). */
  k: number;
  steps: number;
  /** Questions per step. */
  batchSize: number;
  /** Peak learning rate of AdamW. */
  learningRate: number;
  seed: number;
}

export const FINETUNE_DEFAULTS: FinetuneOptions = { k: 5, steps: 100, batchSize: 4, learningRate: 1e-4, seed: 1 };

/** What one fine-tuning step reports. */
export interface FinetuneStepMetrics {
  step: number;
  /** Batch mean of reader + retriever loss. */
  loss: number;
  readerLoss: number;
  retrieverLoss: number;
  /** Share of the batch's questions with an answer in some retrieved document (the rest add 0 loss). */
  answerRetrieved: number;
  learningRate: number;
  gradNorm: number;
  stepMs: number;
}

/**
 * A spanReader model started from a checkpoint (checkpoint.ts initModelWeights): a pre-trained one's
 * weights with a fresh span head drawn from `seed`, or a fine-tuned one's weights, span head included.
 * `overrides` may change what does not fix the weights' shapes (maxReaderLength, dropout, ...).
 */
export function openQaModel(checkpoint: RealmCheckpoint, seed: number, overrides: Partial<RealmConfig> = {}): RealmModel {
  const rng = new Rng(seed);
  const config = withConfigDefaults({ ...checkpointConfig(checkpoint), ...overrides, spanReader: true });
  const model = new RealmModel(config, () => rng.nextUint32());
  try {
    initModelWeights(model, checkpoint);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The names fine-tuning trains: everything but Embed_doc's (frozen: the index stays fixed) and the unused MLM head. */
export function finetunedParamNames(model: RealmModel): string[] {
  const frozen = new Set(model.embedDoc.paramNames());
  return model.store.names().filter((n) => !frozen.has(n) && !n.startsWith('reader/mlm/'));
}

/** The loss terms of a batch as plain numbers (for tests and the CLI's log). */
export interface QaLossValues {
  loss: number;
  readerLoss: number;
  retrieverLoss: number;
}

export class OpenQaFinetuner {
  readonly optimizer: AdamW;
  private rng: Rng;
  private order: number[] = [];
  private at = 0;
  stepCount = 0;

  private constructor(
    readonly model: RealmModel,
    readonly evidence: QaEvidence,
    readonly tokenizer: WordPieceTokenizer,
    readonly index: FixedDocumentIndex,
    readonly train: readonly QaItem[],
    readonly options: FinetuneOptions,
  ) {
    const c = model.config;
    this.optimizer = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: c.weightDecay, clipNorm: c.clipNorm });
    this.rng = new Rng(options.seed);
  }

  /** Builds the fixed index with the model's Embed_doc, once. The finetuner owns `model` from here. */
  static async create(
    model: RealmModel,
    evidence: QaEvidence,
    tokenizer: WordPieceTokenizer,
    train: readonly QaItem[],
    options: Partial<FinetuneOptions> = {},
  ): Promise<OpenQaFinetuner> {
    if (!model.spanReader) throw new Error('OpenQaFinetuner: the model has no span reader; build it with openQaModel');
    const o = { ...FINETUNE_DEFAULTS, ...options };
    if (!(Number.isInteger(o.k) && o.k >= 1 && o.k <= evidence.docs.ids.length))
      throw new Error(`OpenQaFinetuner: k (${o.k}) must be a whole number from 1 to the ${evidence.docs.ids.length} passages`);
    if (train.length === 0) throw new Error('OpenQaFinetuner: no training questions');
    const index = await FixedDocumentIndex.build(model, evidence);
    return new OpenQaFinetuner(model, evidence, tokenizer, index, train, o);
  }

  /** The next batch of training questions: shuffled epochs from the seeded Rng. */
  private nextBatch(): QaItem[] {
    const out: QaItem[] = [];
    const n = Math.min(this.options.batchSize, this.train.length);
    while (out.length < n) {
      if (this.at >= this.order.length) {
        this.order = this.train.map((_q, i) => i);
        for (let i = this.order.length - 1; i > 0; i--) {
          const j = this.rng.int(i + 1);
          [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
        }
        this.at = 0;
      }
      out.push(this.train[this.order[this.at++]]);
    }
    return out;
  }

  /** The questions, their k retrieved documents (fixed index), the reader batch and Embed_doc(z) [B, K, d]. */
  private async prepare(items: readonly QaItem[]) {
    const c = this.model.config;
    const questions = items.map((q) => questionInput(this.tokenizer, q.question, c.maxQueryLength));
    const retrieved = await denseRetrieval(this.model, this.index).retrieve(questions, this.options.k);
    const batch = readerBatch(
      this.model,
      this.evidence,
      this.tokenizer,
      questions,
      retrieved,
      items.map((q) => q.answer),
    );
    const docVectors = this.index.rowsOf(retrieved.map((r) => r.rows)); // [B, K, d]
    return { questions, batch, docVectors };
  }

  /** spanLoss of a prepared batch, differentiable in Embed_input, the reader and `span/`. */
  private lossTerms(questions: readonly Int32Array[], batch: ReaderBatch, docVectors: Float32Array, ctx: ForwardCtx) {
    const { b, k } = batch;
    const d = this.model.config.retrieverDim;
    const s = batch.candidates.starts.length;
    const q = embedQuestions(this.model, questions, ctx); // [B, d]
    const z = tf.tensor3d(docVectors, [b, k, d]); // [B, K, d] constant: no gradient into Embed_doc
    const retrievalScores = tf.sum(tf.mul(q.reshape([b, 1, d]), z), 2) as tf.Tensor2D; // [B, K]
    const spanLogits = readSpans(this.model, batch, retrievalScores.reshape([b * k]), ctx); // [B*K, S]
    return spanLoss(
      retrievalScores,
      tf.tensor2d(batch.docCorrect!, [b, k]),
      spanLogits.reshape([b, k, s]),
      tf.tensor3d(batch.spanCorrect!, [b, k, s]),
    );
  }

  /** The loss on `items` with the current weights, no update and no dropout (a fixed batch's loss). */
  async lossOn(items: readonly QaItem[]): Promise<QaLossValues> {
    const { questions, batch, docVectors } = await this.prepare(items);
    const t = tf.tidy(() => {
      const r = this.lossTerms(questions, batch, docVectors, { training: false, seed: () => 0 });
      return [r.loss, tf.mean(r.readerLoss), tf.mean(r.retrieverLoss)];
    });
    const [loss, readerLoss, retrieverLoss] = await Promise.all(t.map(async (x) => (await x.data())[0]));
    tf.dispose(t);
    return { loss, readerLoss, retrieverLoss };
  }

  /** One AdamW step on the next batch of training questions (or on `items`, e.g. a fixed batch in a test). */
  async step(items?: readonly QaItem[]): Promise<FinetuneStepMetrics> {
    const t0 = performance.now();
    const batchItems = items ?? this.nextBatch();
    const { questions, batch, docVectors } = await this.prepare(batchItems);
    const lr = learningRateAt(
      this.stepCount,
      Math.max(1, this.options.steps),
      this.options.learningRate,
      this.model.config.warmupFraction,
    );
    const ctx: ForwardCtx = { training: true, seed: () => this.rng.nextUint32() };
    const names = finetunedParamNames(this.model);
    const all = this.model.variables();
    const vars = new Map(names.map((n) => [n, all.get(n)!]));
    const byTfName = new Map([...vars].map(([name, v]) => [v.name, name]));
    let terms: tf.Tensor[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const r = this.lossTerms(questions, batch, docVectors, ctx);
      terms = [tf.keep(tf.mean(r.readerLoss)), tf.keep(tf.mean(r.retrieverLoss))];
      return r.loss;
    }, [...vars.values()]);
    const named = new Map<string, tf.Tensor>();
    for (const [tfName, g] of Object.entries(grads)) named.set(byTfName.get(tfName)!, g);
    const gradNorm = await this.optimizer.apply(vars, named, lr);
    const [loss, readerLoss, retrieverLoss] = await Promise.all([value, ...terms].map(async (x) => (await x.data())[0]));
    tf.dispose([value, ...terms, ...Object.values(grads)]);
    this.stepCount++;
    let withAnswer = 0;
    for (let i = 0; i < batch.b; i++)
      if (batch.docCorrect!.subarray(i * batch.k, (i + 1) * batch.k).some((x) => x > 0)) withAnswer++;
    return {
      step: this.stepCount,
      loss,
      readerLoss,
      retrieverLoss,
      answerRetrieved: withAnswer / batch.b,
      learningRate: lr,
      gradNorm,
      stepMs: performance.now() - t0,
    };
  }

  /**
   * Everything a run needs to go on exactly (`restore`): the weights, AdamW's moments, the step, the RNG
   * state and the question order, with the config and options in `extra` (phase `finetune`).
   */
  async checkpoint(runId: string): Promise<RealmCheckpoint> {
    return {
      runId,
      step: this.stepCount,
      createdAt: Date.now(),
      phase: 'finetune',
      weights: await this.model.getWeights(),
      optimizer: await this.optimizer.getState(),
      rngState: this.rng.state(),
      indexVersion: 0,
      extra: { config: this.model.config, finetune: { ...this.options }, questionOrder: { order: [...this.order], at: this.at } },
    };
  }

  /**
   * Goes on from a checkpoint of this run (the model was built from it with openQaModel): AdamW's
   * moments, the step, the RNG and the question order. The training questions must be the same.
   */
  restore(c: RealmCheckpoint): void {
    const q = c.extra?.questionOrder as { order?: number[]; at?: number } | undefined;
    if (!q || !Array.isArray(q.order) || typeof q.at !== 'number' || q.order.some((i) => !(i >= 0 && i < this.train.length)))
      throw new Error(
        `OpenQaFinetuner.restore: the checkpoint of run "${c.runId}" has no question order for these ${this.train.length} training questions; resume with the questions it was fine-tuned on`,
      );
    this.optimizer.setState(c.optimizer);
    this.rng = Rng.fromState(c.rngState);
    this.stepCount = c.step;
    this.order = [...q.order];
    this.at = q.at;
  }

  /** Frees the model, the index and the optimiser state. */
  dispose(): void {
    this.optimizer.dispose();
    this.index.dispose();
    this.model.dispose();
  }
}
