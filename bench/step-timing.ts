// The measuring half of `npm run bench:step`: on the tfjs backend already selected, times ICT, MLM
// or REALM training steps of one preset, and the parts of a step alone (the loss forward, forward +
// backward, the MIPS search, the reader), counts a step's matMul FLOPs from its kernels, and times a
// plain tf.matMul. No DOM and no Node imports: the step page (bench/pages/step.ts) and the Node
// runner (bench/step-node.ts) both call it.
//
// The training data is the bundled tiny corpus (public/corpus/tiny), masked as the app masks it. The
// REALM phase searches an index of seeded random vectors with the corpus' shape ([passages, d]) instead
// of the embedded corpus: a search costs the same either way, and embedding the whole corpus (one index
// refresh, which is bench:refresh's subject) would cost more than the steps on the slow backends.
import * as tf from '@tensorflow/tfjs';
import { padBatch, type ForwardCtx } from '../src/model/bert';
import { makeConfig, type PresetName, type RealmConfig } from '../src/model/config';
import { buildTrainingData, type CorpusPassageInput } from '../src/corpus/corpus-data';
import { parseCloze, parsePassages } from '../src/corpus/corpus-format';
import { sampleDistinct, sampleRows, trivialCandidate, type RealmQuery, type TrainingData } from '../src/corpus/data';
import { ictLoss, makeIctBatch } from '../src/model/ict';
import { denseIndexFactory, type IndexFactory, type IndexInUse, type IndexRefresher } from '../src/model/index-refresh';
import type { MipsIndex } from '../src/model/mips';
import { makeMlmBatch, mlmLoss } from '../src/model/mlm';
import { AdamW } from '../src/model/optimizer';
import type { RealmModel } from '../src/model/realm-model';
import { cutQuery, disposeBatch, prepareRealmBatch, realmForward, realmLossAndStats } from '../src/model/realm-step';
import { Rng } from '../src/corpus/rng';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { RealmTrainer } from '../src/model/trainer';
import { countStepWork, type KernelShapes, type MatMulResult, type StepCellResult, type StepPhase } from './step-report';

/** The corpus files the bench trains on, as text. */
export interface CorpusFiles {
  passages: string;
  vocab: string;
  cloze: string;
}

/** Training data from the corpus files, masked with the preset's query length and mask limit (as the app does). */
export function stepBenchData(files: CorpusFiles, preset: PresetName, seed = 1): TrainingData {
  const cfg = makeConfig(preset);
  return buildTrainingData(
    parsePassages(files.passages) as CorpusPassageInput[],
    WordPieceTokenizer.fromText(files.vocab),
    parseCloze(files.cloze),
    { masking: 'salient', rng: new Rng(seed + 2000), maxQueryLength: cfg.maxQueryLength, maxMasks: cfg.maxMasks },
  );
}

export interface StepCellOptions {
  phase: StepPhase;
  preset: PresetName;
  data: TrainingData;
  /** Timed steps after the warm-up step. */
  steps: number;
  /** A warm-up step slower than this (ms) leaves 1 timed step and 1 repetition of each part. */
  slowMs?: number;
  /** The MIPS index the REALM phase searches (the app's createMipsIndex in the page). */
  indexFactory?: IndexFactory;
  seed?: number;
  /** Progress, for a driver that may have to stop the cell: what is being measured now. */
  onProgress?: (stage: string, partial: Partial<StepCellResult>) => void;
}

/** Serves one index of seeded random vectors, [passages, d], for every REALM step (never refreshed). */
class FixedRandomIndex implements IndexRefresher {
  index: MipsIndex | null = null;

  constructor(
    private readonly factory: IndexFactory,
    private readonly seed: number,
  ) {}

  onStep(ctx: { model: RealmModel; docs: { ids: readonly string[] } }): IndexInUse {
    if (!this.index) {
      const d = ctx.model.config.retrieverDim;
      const rng = new Rng(this.seed);
      const vectors = new Float32Array(ctx.docs.ids.length * d).map(() => rng.next() * 2 - 1);
      this.index = this.factory(1, vectors, ctx.docs.ids, d);
    }
    return { index: this.index, snapshotStep: 0 };
  }

  reset(): void {}

  dispose(): void {
    this.index?.dispose();
    this.index = null;
  }
}

/** The variables a phase trains (as RealmTrainer's variablesOf, with the default readerLearningRateScale 1). */
function phaseVariables(model: RealmModel, phase: StepPhase): tf.Variable[] {
  const all = [...model.variables()];
  if (phase === 'realm') return all.map(([, v]) => v);
  const prefixes = phase === 'ict' ? ['embed_input/', 'embed_doc/'] : ['reader/'];
  return all.filter(([name]) => prefixes.some((p) => name.startsWith(p))).map(([, v]) => v);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median wall time of `once(0 .. reps-1)`, each of which must end with a read that waits for the backend. */
async function timeIt(once: (i: number) => Promise<void>, reps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await once(i);
    times.push(performance.now() - t0);
  }
  return median(times);
}

/**
 * A loss function as the trainer builds it for `phase` (the same extras: ICT and MLM accuracy, REALM's
 * batch statistics), on a fresh batch, with `cleanup` for what outlives it; `reader` runs the reader's
 * forward alone on the same batch (null for ICT); `shapes` names the encoder inputs' [rows, length].
 */
interface PhaseProbe {
  loss: () => tf.Scalar;
  reader: (() => tf.Tensor) | null;
  afterLoss: () => Promise<void>;
  dispose: () => void;
  /** REALM: the batch's queries. */
  queries?: RealmQuery[];
  shapes: Record<string, [number, number]>;
}

async function phaseProbe(
  trainer: RealmTrainer,
  phase: StepPhase,
  rngState: number[],
  index: MipsIndex | null,
): Promise<PhaseProbe> {
  const model = trainer.model;
  const cfg = trainer.config;
  const data = trainer.trainingData;
  // The trainer's own draws, replayed from its RNG state before the step (the defaults of the presets
  // draw nothing else: no sentence pairs in MLM, no masked ICT queries, no ICT term in REALM).
  const rng = Rng.fromState(rngState);
  const ctx: ForwardCtx = { training: true, seed: () => rng.nextUint32() };
  if (phase === 'ict') {
    const held = new Set(data.ictHeldOut);
    const rows = sampleDistinct(
      rng,
      data.passages.map((_, i) => i).filter((i) => !held.has(i)),
      cfg.ictBatchSize,
    );
    const batch = makeIctBatch(data.passages, rows, rng, cfg, cfg.ictRemoveProbability);
    const lq = bucketed(batch.queries, cfg.maxQueryLength);
    const ld = bucketed(batch.passages, cfg.maxDocLength);
    return {
      loss: () => {
        const r = ictLoss(model, batch, ctx);
        r.accuracy.dispose();
        return r.loss;
      },
      reader: null,
      afterLoss: async () => {},
      dispose: () => {},
      shapes: { query: [batch.queries.length, lq], doc: [batch.passages.length, ld] },
    };
  }
  if (phase === 'mlm') {
    const rows = sampleRows(rng, trainer.docs.tokens.length, cfg.batchSize);
    const batch = makeMlmBatch(
      rows.map((row) => trainer.docs.tokens[row]),
      rng,
      cfg,
    );
    const b = batch.rows.length;
    const lr = bucketed(batch.rows, cfg.maxReaderLength);
    return {
      loss: () => {
        const r = mlmLoss(model, batch, ctx);
        r.accuracy.dispose();
        return r.loss;
      },
      reader: () =>
        tf.tidy(() => {
          const { ids, segments } = padBatch(batch.rows, cfg.maxReaderLength); // [B, Lr]
          const positions = tf.tensor2d(batch.positions, [b, batch.m], 'int32');
          return model.reader.mlmLogits(ids, segments, positions, ctx); // [B, M, V]
        }),
      afterLoss: async () => {},
      dispose: () => {},
      shapes: { reader: [b, lr] },
    };
  }
  if (!index) throw new Error('the REALM probe needs the index the trainer searched');
  const queries = sampleRows(rng, data.queries.length, cfg.batchSize).map((i) => data.queries[i]);
  const batch = await prepareRealmBatch(model, index, trainer.docs, queries);
  let stats: (() => Promise<unknown>) | null = null;
  return {
    loss: () => {
      const fwd = realmForward(model, batch, ctx);
      const r = realmLossAndStats(fwd, batch, cfg.marginalisation);
      stats = r.stats;
      return r.terms.loss;
    },
    reader: () => model.reader.mlmLogits(batch.readerIds, batch.readerSegments, batch.positions, ctx), // [B*k, M, V]
    afterLoss: async () => {
      // The statistics' tensors are kept past the loss; reading them disposes them (as the trainer does).
      if (stats) await stats();
      stats = null;
    },
    dispose: () => disposeBatch(batch),
    queries,
    shapes: {
      query: batch.queryIds.shape,
      doc: batch.docIds.shape,
      reader: batch.readerIds.shape,
    },
  };
}

/** The length padBatch pads `rows` to (bucketed). */
function bucketed(rows: ArrayLike<number>[], maxLen: number): number {
  const { ids, segments, length } = padBatch(rows, maxLen);
  tf.dispose([ids, segments]);
  return length;
}

/**
 * The kernels `fn` runs, by name and shapes: every call of the engine's runKernel (what each op and
 * each gradient calls) while it runs. tf.profile records the same, but its per-kernel timer broke the
 * wasm backend's dropout in the small preset ("Cannot read properties of undefined (reading 'map')" in
 * Engine.runKernelFunc) and warns on webgpu without timestamp queries.
 */
export async function recordKernels(fn: () => Promise<unknown>): Promise<KernelShapes[]> {
  const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: object, attrs?: object) => unknown };
  const runKernel = engine.runKernel;
  const out: KernelShapes[] = [];
  engine.runKernel = function (name: string, inputs: object, attrs?: object) {
    const result = runKernel.call(this, name, inputs, attrs);
    const outputs = (Array.isArray(result) ? result : [result]) as tf.Tensor[];
    out.push({
      name,
      inputShapes: Object.values(inputs).map((t) => (t as tf.Tensor | null)?.shape ?? []),
      outputShapes: outputs.map((t) => t.shape),
    });
    return result;
  };
  try {
    await fn();
  } finally {
    engine.runKernel = runKernel;
  }
  return out;
}

/** Waits until the backend has computed `t` (a read; on webgpu this waits for all work queued before). */
async function settle(t: tf.Tensor): Promise<void> {
  await t.data();
}

/**
 * Measures one phase of one preset on the current backend: a recorded warm-up step (FLOPs and
 * kernels), `steps` timed trainer steps, then each part alone.
 */
export async function measureStepCell(o: StepCellOptions): Promise<StepCellResult> {
  const seed = o.seed ?? 1;
  const warm = 1;
  const config: RealmConfig = makeConfig(o.preset, {
    vocabSize: o.data.vocabSize,
    ictSteps: o.phase === 'ict' ? warm + o.steps : 0,
    mlmSteps: o.phase === 'mlm' ? warm + o.steps : 0,
    realmSteps: o.phase === 'realm' ? warm + o.steps : 0,
    seed,
  });
  const before = tf.memory().numTensors;
  const refresher = new FixedRandomIndex(o.indexFactory ?? denseIndexFactory, seed + 11);
  const trainer = new RealmTrainer({ config, data: o.data, refresher });
  const partial: Partial<StepCellResult> = { phase: o.phase, preset: o.preset, backend: tf.getBackend() };
  const progress = (stage: string) => o.onProgress?.(stage, partial);
  try {
    // 1. The warm-up step, recorded: which kernels ran, and the FLOPs of the matrix products.
    progress('warm-up step');
    const w0 = performance.now();
    const kernels = await recordKernels(() => trainer.step());
    partial.warmupMs = performance.now() - w0;
    const work = countStepWork(kernels);
    Object.assign(partial, { matMulFlops: work.flops, kernels: work.kernels, matMuls: work.matMuls });
    const slow = partial.warmupMs > (o.slowMs ?? 10_000);
    const steps = slow ? 1 : o.steps;
    const reps = slow ? 1 : o.steps;
    Object.assign(partial, { steps, reps });

    // 2. Whole steps, back to back, as a run takes them (the trainer reads the loss at the end of each).
    progress('timed steps');
    const stepTimes: number[] = [];
    const rngStates: number[][] = [];
    for (let i = 0; i < steps; i++) {
      // The RNG state before the step, to rebuild its batch for the parts below (untimed).
      rngStates.push((await trainer.checkpoint('bench-step')).rngState);
      const s0 = performance.now();
      if (!(await trainer.step())) throw new Error('the trainer ran out of steps');
      stepTimes.push(performance.now() - s0);
    }
    partial.stepMs = median(stepTimes);
    partial.stepTimes = stepTimes;

    // 3. The parts alone, each repetition i on the batch of timed step i (replayed from its RNG state).
    const probes: PhaseProbe[] = [];
    try {
      for (const state of rngStates.slice(0, reps)) probes.push(await phaseProbe(trainer, o.phase, state, refresher.index));
      const last = probes[probes.length - 1];
      if (o.phase === 'realm' && rngStates.length === reps && last.queries?.some((q, i) => q !== trainer.lastRealmQueries[i]))
        throw new Error("the bench's replay of the trainer's REALM batch drifted from the trainer's: update phaseProbe");
      partial.shapes = last.shapes;
      const vars = phaseVariables(trainer.model, o.phase);
      // The smallest gradient: reading it waits for the backward pass without copying much back.
      const smallest = vars.reduce((a, v) => (v.size < a.size ? v : a), vars[0]);
      progress('forward');
      partial.forwardMs = await timeIt(async (i) => {
        const loss = tf.tidy(probes[i].loss);
        await settle(loss);
        loss.dispose();
        await probes[i].afterLoss();
      }, reps);
      progress('forward + backward');
      // The last repetition's gradients feed the optimizer's measurement below.
      let kept: { value: tf.Scalar; grads: tf.NamedTensorMap } | null = null;
      partial.forwardBackwardMs = await timeIt(async (i) => {
        if (kept) tf.dispose([kept.value, ...Object.values(kept.grads)]);
        kept = tf.variableGrads(probes[i].loss, vars);
        await settle(kept.grads[smallest.name]);
        await settle(kept.value);
        await probes[i].afterLoss();
      }, reps);
      progress('optimizer');
      // A separate AdamW with the trainer's settings, on those gradients: its first update makes the
      // moments (untimed), the later ones are what every training step pays.
      {
        const { value, grads } = kept as unknown as { value: tf.Scalar; grads: tf.NamedTensorMap };
        const byName = new Map([...trainer.model.variables()].filter(([, v]) => vars.includes(v)));
        const named = new Map([...byName].map(([name, v]) => [name, grads[v.name]]));
        const adamw = new AdamW({
          beta1: 0.9,
          beta2: 0.999,
          epsilon: 1e-6,
          weightDecay: config.weightDecay,
          clipNorm: config.clipNorm,
        });
        try {
          await adamw.apply(byName, named, 1e-6);
          partial.optimizerMs = await timeIt(async () => {
            await adamw.apply(byName, named, 1e-6);
            await settle(smallest);
          }, reps);
        } finally {
          adamw.dispose();
          tf.dispose([value, ...Object.values(grads)]);
        }
      }
      partial.readerMs = null;
      if (last.reader) {
        progress('reader');
        partial.readerMs = await timeIt(async (i) => {
          const logits = tf.tidy(probes[i].reader!);
          const corner = tf.tidy(() => logits.slice([0, 0, 0], [1, 1, 1]));
          await settle(corner);
          tf.dispose([logits, corner]);
        }, reps);
      }
      partial.searchMs = null;
      partial.prepareMs = null;
      if (o.phase === 'realm' && refresher.index) {
        progress('MIPS search');
        const index = refresher.index;
        const cfg = trainer.config;
        const inputs = probes.map((p) => {
          const queries = p.queries!;
          const exclude = queries.map((q) => trivialCandidate(cfg.trivialExclusion, trainer.docs, q).excludeId);
          const qEmb = trainer.model.embedInput.embedRows(
            queries.map((q) => cutQuery(q.inputIds, cfg.maxQueryLength)),
            cfg.maxQueryLength,
          ); // [B, d]
          return { queries, exclude, qEmb };
        });
        try {
          for (const x of inputs) await settle(x.qEmb);
          partial.searchMs = await timeIt(async (i) => {
            const { indices, scores } = index.search(inputs[i].qEmb, cfg.k - 1, inputs[i].exclude); // [B, k-1]
            await settle(indices);
            tf.dispose([indices, scores]);
          }, reps);
          progress('prepare batch');
          partial.prepareMs = await timeIt(async (i) => {
            disposeBatch(await prepareRealmBatch(trainer.model, index, trainer.docs, inputs[i].queries));
          }, reps);
        } finally {
          tf.dispose(inputs.map((x) => x.qEmb));
        }
      }
    } finally {
      probes.forEach((p) => p.dispose());
    }
  } finally {
    trainer.dispose();
    refresher.dispose();
  }
  partial.leakedTensors = tf.memory().numTensors - before;
  progress('done');
  return partial as StepCellResult;
}

/** [m, k] x [k, n] products to time: 512³, and each preset's reader feed-forward at full reader length. */
export function matMulShapes(presets: readonly PresetName[]): [number, number, number][] {
  const shapes: [number, number, number][] = [[512, 512, 512]];
  for (const p of presets) {
    const c = makeConfig(p);
    shapes.push([c.batchSize * c.k * c.maxReaderLength, c.hidden, c.intermediate]);
  }
  return shapes;
}

/**
 * Plain tf.matMul GFLOP/s on the current backend: one warm-up product, then products back to back
 * until `budgetMs` has passed (at least one, at most `maxReps`), ended by a read of one element.
 */
export async function measureMatMul(
  shapes: readonly [number, number, number][],
  budgetMs = 2000,
  maxReps = 20,
): Promise<MatMulResult[]> {
  const out: MatMulResult[] = [];
  for (const [m, k, n] of shapes) {
    const a = tf.randomUniform([m, k], -1, 1, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomUniform([k, n], -1, 1, 'float32', 2) as tf.Tensor2D;
    const once = async (reps: number) => {
      // Backends run queued work in order: reading the last product's corner waits for them all.
      const corners: tf.Tensor[] = [];
      for (let i = 0; i < reps; i++) corners.push(tf.tidy(() => tf.matMul(a, b).slice([0, 0], [1, 1]))); // [m, n] -> [1, 1]
      await settle(corners[corners.length - 1]);
      tf.dispose(corners);
    };
    const w0 = performance.now();
    await once(1);
    const warm = performance.now() - w0;
    const reps = Math.max(1, Math.min(maxReps, Math.floor(budgetMs / Math.max(warm, 1e-3))));
    const t0 = performance.now();
    await once(reps);
    const ms = (performance.now() - t0) / reps;
    tf.dispose([a, b]);
    out.push({ backend: tf.getBackend(), m, k, n, ms, reps, gflops: (2 * m * k * n) / ms / 1e6 });
  }
  return out;
}
