// The trainer: phases ICT -> MLM -> REALM, each with its own step count; AdamW with warm-up and decay
// per phase and global-norm clipping; a seeded RNG (a cpu run is reproducible); a pluggable index
// refresh policy; one StepMetrics per step; checkpoints as transferable buffers.
//
// Steppable: `await trainer.step()` takes exactly one step (or returns null when every phase is done),
// so the page can interleave UI updates, pause and resume, and an index build in a worker.
import * as tf from '@tensorflow/tfjs';
import type { ForwardCtx, NamedWeights } from './bert';
import { withConfigDefaults, type RealmConfig } from './config';
import { documentStore, sampleDistinct, sampleRows, type TrainingData } from '../corpus/data';
import { evaluateCloze, goldPassageRecall, RandomRetrieval, type ClozeEval } from './evaluate';
import { ictLoss, ictRecall, makeIctBatch, type IctBatch } from './ict';
import { freshIndex, SyncRefresher, type IndexFactory, type IndexRefresher } from './index-refresh';
import type { EvalMetrics, Phase, RefreshRecord, StepMetrics } from './metrics';
import {
  answerHolders,
  makeMlmBatch,
  mlmLoss,
  pairSentences,
  salientPairInput,
  sentencePairInput,
  wordpiecePostings,
  type MlmInput,
} from './mlm';
import { AdamW, learningRateAt } from './optimizer';
import { RealmModel } from './realm-model';
import { disposeBatch, prepareRealmBatch, realmForward, realmLossAndStats, type RealmBatchStats } from './realm-step';
import { type DocumentStore, type RealmQuery } from '../corpus/data';
import { Rng } from '../corpus/rng';

/** Same shape as storage's CheckpointRecord (src/model does not import storage). */
export interface RealmCheckpoint {
  runId: string;
  step: number;
  createdAt: number;
  phase: string;
  weights: NamedWeights;
  optimizer: NamedWeights;
  rngState: number[];
  indexVersion: number;
  extra?: Record<string, unknown>;
}

/** A checkpoint that does not fit this trainer (another config, or a corrupt record). */
class CheckpointMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointMismatchError';
  }
}

interface TrainerOptions {
  config: RealmConfig;
  data: TrainingData;
  /** Index refresh policy; default: SyncRefresher(config.refreshEvery). */
  refresher?: IndexRefresher;
  /** Builds the MIPS index for evaluation (and for the default refresher). */
  indexFactory?: IndexFactory;
  onRefresh?: (r: RefreshRecord) => void;
}

interface StepDetail {
  /** REALM steps: the batch statistics (p(z|x), retrieval utility per query). */
  realm?: RealmBatchStats;
  /** ICT steps: in-batch accuracy. */
  ictAccuracy?: number;
  /** REALM steps with realmIctWeight > 0: the ICT loss (unweighted) that was added to REALM's. */
  realmIctLoss?: number;
}

export class RealmTrainer {
  readonly config: RealmConfig;
  readonly model: RealmModel;
  readonly docs: DocumentStore;
  private readonly data: TrainingData;
  private readonly optimizer: AdamW;
  private rng: Rng;
  private readonly refresher: IndexRefresher;
  private readonly indexFactory?: IndexFactory;
  private readonly onRefresh?: (r: RefreshRecord) => void;
  private readonly ictRows: number[];
  /** The masked REALM queries of each passage row (for ICT with masked pseudo-queries). */
  private readonly queriesByRow: RealmQuery[][];
  /** The sentences the MLM warm-up may pair with the rest of their passage: all but the held-out cloze sentences. */
  private readonly pairSentences: { row: number; sentence: number }[];
  /**
   * The training queries a salient pair may start with (mlmPairMasking 'salient' or 'answer'): those whose
   * sentence is known, with their row and (for 'answer') the other rows whose document holds their span.
   */
  private readonly pairQueries: { row: number; query: RealmQuery; holders: number[] }[];
  /** Global step: the number of steps taken so far. */
  stepCount = 0;
  indexVersion = 0;
  lastDetail: StepDetail = {};
  /** The masked queries of the latest REALM step (the inspector's "current batch"). */
  lastRealmQueries: readonly RealmQuery[] = [];

  constructor(opts: TrainerOptions) {
    this.config = { ...withConfigDefaults(opts.config), vocabSize: Math.max(opts.config.vocabSize, opts.data.vocabSize) };
    this.data = opts.data;
    this.rng = new Rng(this.config.seed);
    const initRng = new Rng(this.config.seed ^ 0x5eed);
    this.model = new RealmModel(this.config, () => initRng.nextUint32());
    this.docs = documentStore(opts.data.passages, this.config.maxDocLength);
    this.optimizer = new AdamW({
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-6,
      weightDecay: this.config.weightDecay,
      clipNorm: this.config.clipNorm,
    });
    this.indexFactory = opts.indexFactory;
    this.refresher = opts.refresher ?? new SyncRefresher(this.config.refreshEvery, opts.indexFactory);
    this.onRefresh = opts.onRefresh;
    const held = new Set(opts.data.ictHeldOut);
    this.ictRows = opts.data.passages.map((_, i) => i).filter((i) => !held.has(i));
    const rowOf = new Map(opts.data.passages.map((p, i) => [p.id, i]));
    this.queriesByRow = opts.data.passages.map(() => []);
    for (const q of opts.data.queries) {
      const row = q.sourceDocId === null ? undefined : rowOf.get(q.sourceDocId);
      if (row !== undefined) this.queriesByRow[row].push(q);
    }
    this.pairSentences = pairSentences(opts.data);
    const postings =
      this.config.mlmPairMasking === 'answer' && this.config.mlmPairProbability > 0
        ? wordpiecePostings(this.docs.tokens)
        : undefined;
    this.pairQueries = this.queriesByRow.flatMap((qs, row) =>
      qs
        .filter((q) => q.sourceSentence !== undefined)
        .map((query) => ({ row, query, holders: postings ? answerHolders(query, this.docs.tokens, row, postings) : [] })),
    );
  }

  get totalSteps(): number {
    return this.config.ictSteps + this.config.mlmSteps + this.config.realmSteps;
  }

  /** Phase of the next step, its index in the phase and the phase length; null when done. */
  phaseAt(step = this.stepCount): { phase: Phase; phaseStep: number; phaseSteps: number } | null {
    const { ictSteps, mlmSteps, realmSteps } = this.config;
    if (step < ictSteps) return { phase: 'ict', phaseStep: step, phaseSteps: ictSteps };
    if (step < ictSteps + mlmSteps) return { phase: 'mlm', phaseStep: step - ictSteps, phaseSteps: mlmSteps };
    if (step < ictSteps + mlmSteps + realmSteps)
      return { phase: 'realm', phaseStep: step - ictSteps - mlmSteps, phaseSteps: realmSteps };
    return null;
  }

  get done(): boolean {
    return this.phaseAt() === null;
  }

  private variablesOf(phase: Phase): Map<string, tf.Variable> {
    const all = this.model.variables();
    // REALM trains everything, but a frozen reader (readerLearningRateScale 0) has no gradient taken, so its
    // weights, weight decay and the global-norm clip of the retriever's step are those of the retriever alone.
    if (phase === 'realm')
      return this.config.readerLearningRateScale > 0 ? all : new Map([...all].filter(([name]) => !name.startsWith('reader/')));
    const prefixes = phase === 'ict' ? ['embed_input/', 'embed_doc/'] : ['reader/'];
    return new Map([...all].filter(([name]) => prefixes.some((p) => name.startsWith(p))));
  }

  /**
   * An MLM warm-up input: passage `row`, or with probability mlmPairProbability a sentence pair
   * (BERT-masked; for mlmPairMasking 'salient' a salient pair with the rest of its own passage, for
   * 'answer' with another passage holding its span when there is one).
   */
  private mlmInput(row: number): MlmInput {
    const p = this.config.mlmPairProbability;
    const salient = this.config.mlmPairMasking !== 'random';
    const choices = salient ? this.pairQueries.length : this.pairSentences.length;
    if (p <= 0 || choices === 0 || this.rng.next() >= p) return this.docs.tokens[row];
    if (salient) {
      const { row: r, query, holders } = this.pairQueries[this.rng.int(choices)];
      const doc =
        holders.length > 0
          ? this.docs.tokens[holders[this.rng.int(holders.length)]]
          : (this.docs.withoutSentence?.(r, query.sourceSentence!) ?? this.docs.tokens[r]);
      return salientPairInput(query, doc, this.config);
    }
    const pick = this.pairSentences[this.rng.int(choices)];
    const rest = this.docs.withoutSentence?.(pick.row, pick.sentence) ?? this.docs.tokens[pick.row];
    return sentencePairInput(this.data.passages[pick.row].sentences[pick.sentence], rest, this.config);
  }

  /**
   * An ICT batch of ictBatchSize training passages (not the held-out ones), drawn with the trainer's RNG:
   * the ICT phase's, and the one REALM steps add with realmIctWeight > 0 (also for benches that build
   * their own REALM step, such as the oracle reader's).
   */
  sampleIctBatch(): IctBatch {
    const rows = sampleDistinct(this.rng, this.ictRows, this.config.ictBatchSize);
    return makeIctBatch(
      this.data.passages,
      rows,
      this.rng,
      this.config,
      this.config.ictRemoveProbability,
      (row) => this.queriesByRow[row],
    );
  }

  /** Takes one training step. Returns its metrics, or null when every phase is done. */
  async step(): Promise<StepMetrics | null> {
    const at = this.phaseAt();
    if (!at) return null;
    const t0 = performance.now();
    const { phase, phaseStep, phaseSteps } = at;
    const lr = learningRateAt(phaseStep, phaseSteps, this.config.learningRate, this.config.warmupFraction);
    const ctx: ForwardCtx = { training: true, seed: () => this.rng.nextUint32() };
    const vars = this.variablesOf(phase);
    const byTfName = new Map([...vars].map(([name, v]) => [v.name, name]));
    let accuracy = NaN;
    let staleness = 0;
    let detail: StepDetail = {};
    let lossFn: () => tf.Scalar;
    let after: () => Promise<void> = async () => {};
    if (phase === 'ict') {
      const batch = this.sampleIctBatch();
      let acc: tf.Scalar | null = null;
      lossFn = () => {
        const r = ictLoss(this.model, batch, ctx);
        acc = tf.keep(r.accuracy);
        return r.loss;
      };
      after = async () => {
        if (acc) {
          detail = { ictAccuracy: (await (acc as tf.Scalar).data())[0] };
          acc.dispose();
        }
      };
    } else if (phase === 'mlm') {
      const rows = sampleRows(this.rng, this.docs.tokens.length, this.config.batchSize);
      const batch = makeMlmBatch(
        rows.map((row) => this.mlmInput(row)),
        this.rng,
        this.config,
      );
      let acc: tf.Scalar | null = null;
      lossFn = () => {
        const r = mlmLoss(this.model, batch, ctx);
        acc = tf.keep(r.accuracy);
        return r.loss;
      };
      after = async () => {
        if (acc) {
          accuracy = (await (acc as tf.Scalar).data())[0];
          acc.dispose();
        }
      };
    } else {
      const inUse = await this.refresher.onStep({ step: this.stepCount, model: this.model, docs: this.docs });
      if (inUse.refreshed) this.onRefresh?.(inUse.refreshed);
      this.indexVersion = inUse.index.version;
      staleness = this.stepCount - inUse.snapshotStep;
      if (this.data.queries.length === 0)
        throw new Error('no REALM training queries: the corpus has no masked sentences; check the masking step');
      const queries = sampleRows(this.rng, this.data.queries.length, this.config.batchSize).map((i) => this.data.queries[i]);
      this.lastRealmQueries = queries;
      const batch = await prepareRealmBatch(this.model, inUse.index, this.docs, queries);
      const ictWeight = this.config.realmIctWeight;
      const ictBatch = ictWeight > 0 ? this.sampleIctBatch() : null;
      let stats: (() => Promise<RealmBatchStats>) | null = null;
      let ict: tf.Scalar | null = null;
      lossFn = () => {
        const fwd = realmForward(this.model, batch, ctx);
        const r = realmLossAndStats(fwd, batch, this.config.marginalisation);
        stats = r.stats;
        if (!ictBatch) return r.terms.loss;
        const i = ictLoss(this.model, ictBatch, ctx);
        i.accuracy.dispose();
        ict = tf.keep(i.loss);
        return tf.add(r.terms.loss, tf.mul(i.loss, ictWeight));
      };
      after = async () => {
        disposeBatch(batch);
        if (stats) {
          const s = await (stats as () => Promise<RealmBatchStats>)();
          accuracy = s.masks > 0 ? s.correct / s.masks : NaN;
          detail = { realm: s };
        }
        if (ict) {
          detail.realmIctLoss = (await (ict as tf.Scalar).data())[0];
          (ict as tf.Scalar).dispose();
        }
      };
    }
    const { value, grads } = tf.variableGrads(lossFn, [...vars.values()]);
    const named = new Map<string, tf.Tensor>();
    for (const [tfName, g] of Object.entries(grads)) named.set(byTfName.get(tfName)!, g);
    const [readerScale, retrieverScale] =
      phase === 'realm' ? [this.config.readerLearningRateScale, this.config.retrieverLearningRateScale] : [1, 1];
    const gradNorm = await this.optimizer.apply(vars, named, lr, (name) =>
      name.startsWith('reader/') ? readerScale : retrieverScale,
    );
    const loss = (await value.data())[0];
    tf.dispose([value, ...Object.values(grads)]);
    await after();
    this.lastDetail = detail;
    this.stepCount++;
    const realm = detail.realm;
    return {
      phase,
      step: this.stepCount,
      phaseStep: phaseStep + 1,
      loss,
      mlmAccuracy: accuracy,
      meanPNull: realm ? realm.meanPNull : NaN,
      meanRetrievalUtility: realm ? realm.meanRetrievalUtility : NaN,
      retrievalEntropy: realm ? realm.retrievalEntropy : NaN,
      indexVersion: phase === 'realm' ? this.indexVersion : 0,
      staleness,
      learningRate: lr,
      gradNorm,
      stepMs: performance.now() - t0,
      time: Date.now(),
    };
  }

  /** Runs steps until `untilStep` (global) or the end; `onStep` sees every record. */
  async run(untilStep = this.totalSteps, onStep?: (m: StepMetrics) => void): Promise<void> {
    while (this.stepCount < untilStep) {
      const m = await this.step();
      if (!m) break;
      onStep?.(m);
    }
  }

  /** ICT recall@1 and @5 on the held-out passages (fixed seed, so comparable across calls). */
  ictRecall(): Promise<{ recallAt1: number; recallAt5: number }> {
    return ictRecall(this.model, this.data.passages, this.data.ictHeldOut, new Rng(this.config.seed + 7));
  }

  /**
   * Held-out cloze accuracy with retrieval and null-only, recall@5, on an index built from the current
   * weights; with `randomDocuments` (a seed), on k-1 uniformly random passages instead (the control);
   * with `logLikelihood`, also the held-out log-likelihoods and utilities (evaluateCloze).
   */
  async evaluate(
    queries = this.data.heldOut,
    opts: { randomDocuments?: number; logLikelihood?: boolean } = {},
  ): Promise<ClozeEval & EvalMetrics> {
    const { randomDocuments } = opts;
    const index =
      randomDocuments === undefined
        ? await freshIndex(this.model, this.docs, this.indexVersion, this.indexFactory)
        : new RandomRetrieval(this.docs.ids, new Rng(randomDocuments));
    try {
      const e = await evaluateCloze(this.model, index, this.docs, queries, 16, { logLikelihood: opts.logLikelihood });
      // Gold-passage recall on the same index (not for the random control, which has no ranking).
      const gold =
        randomDocuments === undefined ? (await goldPassageRecall(this.model, index, this.docs, queries, 5)).recall : NaN;
      return { ...e, goldRecallAt5: gold, step: this.stepCount, time: Date.now() };
    } finally {
      index.dispose();
    }
  }

  async checkpoint(runId: string): Promise<RealmCheckpoint> {
    return {
      runId,
      step: this.stepCount,
      createdAt: Date.now(),
      phase: this.phaseAt()?.phase ?? 'done',
      weights: await this.model.getWeights(),
      optimizer: await this.optimizer.getState(),
      rngState: this.rng.state(),
      indexVersion: this.indexVersion,
      extra: { config: this.config },
    };
  }

  /** Restores weights, optimiser state, RNG and step; the next REALM step rebuilds the index. */
  restore(c: RealmCheckpoint): void {
    const names = new Set(this.model.store.names());
    const missing = [...names].filter((n) => !c.weights.some((w) => w.name === n));
    if (missing.length > 0) {
      throw new CheckpointMismatchError(
        `the checkpoint lacks ${missing.length} weights (first: ${missing[0]}): it was saved by a model with another config; start a new run or load that config`,
      );
    }
    this.model.setWeights(c.weights);
    this.optimizer.setState(c.optimizer);
    this.rng = Rng.fromState(c.rngState);
    this.stepCount = c.step;
    this.indexVersion = c.indexVersion;
    this.refresher.reset();
  }

  dispose(): void {
    this.refresher.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }

  // ---- Read-only views for the retrieval inspector. Nothing below changes the trainer. ----

  /** The training data the run was built from: passages (index rows), REALM queries, held-out cloze set. */
  get trainingData(): Readonly<TrainingData> {
    return this.data;
  }
}
