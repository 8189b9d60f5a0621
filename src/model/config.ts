// The one configuration type of the REALM model and its trainer (nanoGPT style: every field has a
// one-line comment), the presets `tiny` / `small` / `base`, and the parameter and FLOP counts that the
// README's presets table prints.
import { MASKING_STRATEGIES, type MaskingStrategy } from '../corpus/masking-strategies';

export type Marginalisation = 'per-mask' | 'joint';
type TrivialExclusion = 'passage' | 'sentence';
/** The values of mlmPairMasking (validateConfig and the Run settings choice read this list). */
export const MLM_PAIR_MASKINGS = ['random', 'salient', 'answer'] as const;
export type MlmPairMasking = (typeof MLM_PAIR_MASKINGS)[number];
export type PresetName = 'tiny' | 'mini' | 'small' | 'base';
/** The values of layerNormPlacement and geluVariant (validateConfig and the Run settings choices read these lists). */
export const LAYER_NORM_PLACEMENTS = ['pre', 'post'] as const;
export type LayerNormPlacement = (typeof LAYER_NORM_PLACEMENTS)[number];
export const GELU_VARIANTS = ['tanh', 'erf'] as const;
export type GeluVariant = (typeof GELU_VARIANTS)[number];

export interface RealmConfig {
  // ---- the three BERT encoders (Embed_input, Embed_doc, knowledge-augmented encoder) ----
  vocabSize: number; // wordpieces; ids PAD=0 UNK=1 CLS=2 SEP=3 MASK=4 (the corpus tokenizer sets it)
  hidden: number; // width H of every encoder
  layers: number; // transformer blocks per encoder
  heads: number; // attention heads; hidden must divide by it
  intermediate: number; // width of the GELU feed-forward layer
  maxPositions: number; // learned position embeddings; >= every max length below
  typeVocab: number; // segment embeddings: 0 = query x, 1 = document z
  dropout: number; // dropout on embeddings, attention outputs and feed-forward outputs
  attentionDropout: number; // dropout on the attention probabilities
  layerNormEps: number; // epsilon of every LayerNorm (BERT's checkpoints: 1e-12)
  layerNormPlacement: LayerNormPlacement; // 'pre': x + Sublayer(LN(x)), a final LN (the app's default, stable with short warm-ups); 'post': BERT's LN(x + Sublayer(x)) with an embeddings LN and no final one, as public checkpoints need
  geluVariant: GeluVariant; // 'tanh': BERT's released-code approximation (transformers "gelu_new", the default); 'erf': the exact x·Φ(x) (transformers "gelu", BERT's checkpoints)
  initStd: number; // std of the truncated-normal weight initialisation (BERT: 0.02)
  // ---- retriever ----
  retrieverDim: number; // d: width of Embed_input(x) and Embed_doc(z) after projection + LayerNorm
  shareRetrieverWeights: boolean; // true: Embed_input and Embed_doc share one BERT (REALM default: separate)
  k: number; // candidate documents per query INCLUDING the null document (REALM: 8), so k-1 come from the index
  retrievalTemperature?: number; // p(z|x) = softmax(f(x,z)/τ) in the REALM step and evaluation (default 1, REALM's; MIPS ranking is unchanged)
  maxQueryLength: number; // tokens of [CLS] x [SEP] for Embed_input, and of the query part of the reader input
  maxDocLength: number; // tokens of [CLS] title [SEP] body [SEP] for Embed_doc
  maxReaderLength: number; // tokens of [CLS] x [SEP] title [SEP] body [SEP]; the document is cut to fit
  maxMasks: number; // masked positions per query (longer salient spans are cut)
  // ---- loss and data ----
  marginalisation: Marginalisation; // 'per-mask' (released code, the default) or 'joint' (paper)
  trivialExclusion: TrivialExclusion; // the trivial candidate: 'passage' (REALM) never retrieves the query's own passage; 'sentence' retrieves it with the query sentence cut out
  masking: MaskingStrategy; // how REALM queries are masked: salient spans (default) or the ablations
  mlmProbability: number; // share of tokens masked in the MLM warm-up (BERT: 0.15)
  mlmPairProbability: number; // MLM warm-up: share of examples that are BERT's sentence pairs in the reader's format, [CLS] a sentence [SEP] title [SEP] the rest of its passage [SEP] (0 = whole passages only)
  mlmPairMasking: MlmPairMasking; // how those pairs are masked: 'random' BERT's 15% over both segments; 'salient' the sentence's salient span only, as REALM masks its queries (the answer may then be read from the rest of the passage); 'answer' the same query followed by another passage that holds its span (string match; its own passage's rest when none does)
  ictRemoveProbability: number; // ICT: probability that the pseudo-query sentence is removed from its passage (0.9)
  ictMaskedQueryProbability: number; // ICT: probability that the pseudo-query is one of the passage's masked REALM queries instead of a plain sentence (0 = ORQA/REALM; >0 teaches the retriever the masked queries REALM will send it)
  // ---- index refresh ----
  refreshEvery: number; // steps between refreshes of the MIPS index (paper: about 500)
  // ---- optimisation ----
  learningRate: number; // peak learning rate of AdamW
  readerLearningRateScale: number; // REALM phase only: the knowledge-augmented encoder's learning rate is learningRate x this (1 = REALM; 0 = a frozen reader, whose preferences the retriever then learns from unchanged)
  retrieverLearningRateScale: number; // REALM phase only: the embedders' learning rate is learningRate x this (1 = one rate for all; < 1 keeps the ICT-trained retriever from drifting while the reader learns)
  realmDocGradient: boolean; // REALM phase only: false holds the re-embedded Embed_doc(z) fixed in p(z|x) (no gradient reaches it, as ORQA's frozen evidence encoder), so the marginal likelihood moves only Embed_input (with shared BERTs the shared body still moves, through the query side); true = REALM
  spanReader: boolean; // Open-QA fine-tuning (issue #34): the model holds ORQA's span scorer under `span/` (false: no span weights, as every pre-training run)
  realmIctWeight: number; // REALM phase only: each step's loss adds this x the ICT loss on a fresh ICT batch, so the embedders stay query-dependent instead of drifting onto a few hub passages (0 = REALM's loss alone, the paper)
  weightDecay: number; // decoupled weight decay (not applied to biases and LayerNorm)
  warmupFraction: number; // share of each phase spent warming the learning rate up linearly
  clipNorm: number; // clip gradients by this global norm
  batchSize: number; // REALM and MLM batch size (queries per step)
  ictBatchSize: number; // ICT batch size; the in-batch negatives are the other passages
  ictSteps: number; // steps of the Inverse Cloze Task warm start
  mlmSteps: number; // steps of the plain-MLM warm start of the knowledge-augmented encoder
  realmSteps: number; // steps of REALM pre-training
  seed: number; // seed of the run's random number generator (data, masks, dropout, init)
}

const COMMON: Omit<
  RealmConfig,
  | 'hidden'
  | 'layers'
  | 'heads'
  | 'intermediate'
  | 'maxPositions'
  | 'retrieverDim'
  | 'k'
  | 'maxQueryLength'
  | 'maxDocLength'
  | 'maxReaderLength'
  | 'batchSize'
  | 'ictBatchSize'
  | 'learningRate'
  | 'ictSteps'
  | 'mlmSteps'
  | 'realmSteps'
> = {
  vocabSize: 8000,
  typeVocab: 2,
  dropout: 0.1,
  attentionDropout: 0.1,
  layerNormEps: 1e-6,
  layerNormPlacement: 'pre',
  geluVariant: 'tanh',
  initStd: 0.02,
  shareRetrieverWeights: false,
  maxMasks: 8,
  retrievalTemperature: 1,
  marginalisation: 'per-mask',
  trivialExclusion: 'passage',
  masking: 'salient',
  mlmProbability: 0.15,
  mlmPairProbability: 0,
  mlmPairMasking: 'random',
  ictRemoveProbability: 0.9,
  ictMaskedQueryProbability: 0,
  refreshEvery: 50,
  weightDecay: 0.01,
  retrieverLearningRateScale: 1,
  readerLearningRateScale: 1,
  realmIctWeight: 0,
  realmDocGradient: true,
  spanReader: false,
  warmupFraction: 0.1,
  clipNorm: 1.0,
  seed: 1,
};

/**
 * A config as stored by an earlier version (a run saved in IndexedDB or in an archive) may lack the
 * fields added since; they take their defaults (REALM's behaviour), not `undefined`.
 */
export function withConfigDefaults(c: RealmConfig): RealmConfig {
  return { ...COMMON, ...c };
}

export const PRESETS: Record<PresetName, RealmConfig> = {
  // Unit tests and the learning bench on the cpu backend.
  tiny: {
    ...COMMON,
    hidden: 32,
    layers: 2,
    heads: 2,
    intermediate: 64,
    maxPositions: 128,
    retrieverDim: 32,
    k: 4,
    maxQueryLength: 32,
    maxDocLength: 64,
    maxReaderLength: 96,
    batchSize: 4,
    ictBatchSize: 16,
    learningRate: 1e-3,
    dropout: 0.0,
    attentionDropout: 0.0,
    refreshEvery: 20,
    ictSteps: 200,
    mlmSteps: 200,
    realmSteps: 200,
  },
  // The shipped warm start's size (public/warmstart/mini): the shape of Google's BERT-Tiny
  // (L-2, H-128, A-2, uncased), with BERT's 30,522-piece vocabulary. Hidden 32 (tiny) has not learned
  // to read in any run; hidden 128 does in an hour of 2-core CPU, its warm start ships in under 20 MB,
  // and a REALM step of the Classroom demo takes well under a second on wasm.
  mini: {
    ...COMMON,
    vocabSize: 30522,
    hidden: 128,
    layers: 2,
    heads: 2,
    intermediate: 512,
    maxPositions: 512,
    retrieverDim: 128,
    shareRetrieverWeights: true,
    k: 8,
    maxQueryLength: 48,
    maxDocLength: 128,
    maxReaderLength: 176,
    batchSize: 8,
    ictBatchSize: 32,
    learningRate: 5e-4,
    refreshEvery: 50,
    ictSteps: 2000,
    mlmSteps: 2000,
    realmSteps: 300,
  },
  // The default demo in the browser.
  small: {
    ...COMMON,
    hidden: 256,
    layers: 4,
    heads: 4,
    intermediate: 1024,
    maxPositions: 256,
    retrieverDim: 128,
    k: 8,
    maxQueryLength: 48,
    maxDocLength: 144,
    maxReaderLength: 192,
    batchSize: 8,
    ictBatchSize: 32,
    learningRate: 5e-4,
    ictSteps: 1000,
    mlmSteps: 1000,
    realmSteps: 2000,
  },
  // BERT-base sized, for real GPUs (REALM's own size).
  base: {
    ...COMMON,
    hidden: 768,
    layers: 12,
    heads: 12,
    intermediate: 3072,
    maxPositions: 512,
    retrieverDim: 128,
    k: 8,
    maxQueryLength: 64,
    maxDocLength: 288,
    maxReaderLength: 352,
    batchSize: 16,
    ictBatchSize: 64,
    learningRate: 1e-4,
    refreshEvery: 500,
    ictSteps: 10000,
    mlmSteps: 10000,
    realmSteps: 20000,
  },
};

/** A config is wrong in a way the user must fix (the message says how). */
export class RealmConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RealmConfigError';
  }
}

/** A preset with overrides, checked. */
export function makeConfig(preset: PresetName = 'tiny', overrides: Partial<RealmConfig> = {}): RealmConfig {
  const base = PRESETS[preset];
  if (!base) throw new RealmConfigError(`unknown preset "${preset}": use tiny, mini, small or base`);
  const cfg = { ...base, ...overrides };
  validateConfig(cfg);
  return cfg;
}

type NumericField = { [K in keyof RealmConfig]-?: RealmConfig[K] extends number | undefined ? K : never }[keyof RealmConfig];

/**
 * Bounds of every numeric config field, [min, max] inclusive, and whether it must be a whole number.
 * validateConfig applies them to every config (presets with overrides, URL values, run archives):
 * wide enough for REALM's own BERT-base sizes and long runs, narrow enough that no value can ask a
 * browser tab for absurd memory (`hidden: 1e9`) or turn a setting off by overflow.
 */
export const CONFIG_LIMITS: Record<NumericField, { min: number; max: number; int?: true }> = {
  vocabSize: { min: 6, max: 250_000, int: true },
  hidden: { min: 1, max: 4096, int: true },
  layers: { min: 1, max: 48, int: true },
  heads: { min: 1, max: 64, int: true },
  intermediate: { min: 1, max: 16_384, int: true },
  maxPositions: { min: 4, max: 4096, int: true },
  typeVocab: { min: 2, max: 16, int: true },
  dropout: { min: 0, max: 0.9 },
  attentionDropout: { min: 0, max: 0.9 },
  layerNormEps: { min: 1e-12, max: 1 },
  initStd: { min: 1e-6, max: 1 },
  retrieverDim: { min: 1, max: 4096, int: true },
  k: { min: 2, max: 1024, int: true },
  retrievalTemperature: { min: 1e-3, max: 1000 },
  maxQueryLength: { min: 3, max: 4096, int: true },
  maxDocLength: { min: 3, max: 4096, int: true },
  maxReaderLength: { min: 6, max: 4096, int: true },
  maxMasks: { min: 1, max: 512, int: true },
  mlmProbability: { min: 0, max: 1 },
  mlmPairProbability: { min: 0, max: 1 },
  ictRemoveProbability: { min: 0, max: 1 },
  ictMaskedQueryProbability: { min: 0, max: 1 },
  refreshEvery: { min: 1, max: 1_000_000, int: true },
  learningRate: { min: 1e-9, max: 1 },
  readerLearningRateScale: { min: 0, max: 100 },
  retrieverLearningRateScale: { min: 0, max: 100 },
  realmIctWeight: { min: 0, max: 100 },
  weightDecay: { min: 0, max: 1 },
  warmupFraction: { min: 0, max: 1 },
  clipNorm: { min: 0, max: 1e6 },
  batchSize: { min: 1, max: 4096, int: true },
  ictBatchSize: { min: 2, max: 4096, int: true },
  ictSteps: { min: 0, max: 10_000_000, int: true },
  mlmSteps: { min: 0, max: 10_000_000, int: true },
  realmSteps: { min: 0, max: 10_000_000, int: true },
  seed: { min: 0, max: 2 ** 32 - 1, int: true },
};

/** Throws RealmConfigError naming the first field that is missing, out of bounds or inconsistent. */
export function validateConfig(c: RealmConfig): void {
  const need = (ok: boolean, msg: string) => {
    if (!ok) throw new RealmConfigError(msg);
  };
  for (const [field, { min, max, int }] of Object.entries(CONFIG_LIMITS) as [
    NumericField,
    (typeof CONFIG_LIMITS)[NumericField],
  ][]) {
    const v = c[field] as unknown;
    if (v === undefined && field === 'retrievalTemperature') continue;
    need(typeof v === 'number' && Number.isFinite(v), `${field} (${String(v)}) must be a number`);
    const n = v as number;
    need(!int || Number.isInteger(n), `${field} (${n}) must be a whole number`);
    need(n >= min && n <= max, `${field} (${n}) must be between ${min} and ${max}`);
  }
  for (const f of ['shareRetrieverWeights', 'realmDocGradient'] as const)
    need(typeof c[f] === 'boolean', `${f} (${String(c[f])}) must be true or false`);
  // Configs stored before the span reader existed lack the flag; it means false.
  need(
    c.spanReader === undefined || typeof c.spanReader === 'boolean',
    `spanReader (${String(c.spanReader)}) must be true or false`,
  );
  need(c.hidden % c.heads === 0, `hidden (${c.hidden}) must be a multiple of heads (${c.heads})`);
  need((c.retrievalTemperature ?? 1) > 0, `retrievalTemperature (${c.retrievalTemperature}) must be above 0`);
  need(c.k >= 2, `k (${c.k}) counts the null document, so it must be at least 2`);
  need(
    c.maxPositions >= Math.max(c.maxQueryLength, c.maxDocLength, c.maxReaderLength),
    `maxPositions (${c.maxPositions}) must be at least the longest input (${Math.max(c.maxQueryLength, c.maxDocLength, c.maxReaderLength)})`,
  );
  need(c.maxReaderLength > c.maxQueryLength + 2, 'maxReaderLength must leave room for a document after the query');
  need(c.vocabSize > 5, 'vocabSize must include the 5 special tokens and some wordpieces');
  need(c.marginalisation === 'per-mask' || c.marginalisation === 'joint', 'marginalisation is per-mask or joint');
  need(c.trivialExclusion === 'passage' || c.trivialExclusion === 'sentence', 'trivialExclusion is passage or sentence');
  need(c.readerLearningRateScale >= 0, `readerLearningRateScale (${c.readerLearningRateScale}) must be at least 0`);
  need(c.realmIctWeight >= 0, `realmIctWeight (${c.realmIctWeight}) must be at least 0`);
  need(c.retrieverLearningRateScale >= 0, `retrieverLearningRateScale (${c.retrieverLearningRateScale}) must be at least 0`);
  need(
    c.mlmPairProbability >= 0 && c.mlmPairProbability <= 1,
    `mlmPairProbability (${c.mlmPairProbability}) must be between 0 and 1`,
  );
  need(
    (MLM_PAIR_MASKINGS as readonly string[]).includes(c.mlmPairMasking),
    `unknown mlmPairMasking "${c.mlmPairMasking}": use ${MLM_PAIR_MASKINGS.join(', ')}`,
  );
  need(
    c.ictMaskedQueryProbability >= 0 && c.ictMaskedQueryProbability <= 1,
    `ictMaskedQueryProbability (${c.ictMaskedQueryProbability}) must be between 0 and 1`,
  );
  // Configs stored before these fields existed lack them; they mean the defaults (pre, tanh).
  need(
    c.layerNormPlacement === undefined || (LAYER_NORM_PLACEMENTS as readonly string[]).includes(c.layerNormPlacement),
    `unknown layerNormPlacement "${String(c.layerNormPlacement)}": use ${LAYER_NORM_PLACEMENTS.join(' or ')}`,
  );
  need(
    c.geluVariant === undefined || (GELU_VARIANTS as readonly string[]).includes(c.geluVariant),
    `unknown geluVariant "${String(c.geluVariant)}": use ${GELU_VARIANTS.join(' or ')}`,
  );
  need(
    (MASKING_STRATEGIES as readonly string[]).includes(c.masking),
    `unknown masking "${c.masking}": use ${MASKING_STRATEGIES.join(', ')}`,
  );
}

/** Parameters of one BERT encoder (embeddings, blocks, and the final LayerNorm, or post-LN's embeddings LayerNorm: the same count). */
function encoderParams(c: RealmConfig): number {
  const h = c.hidden;
  const emb = (c.vocabSize + c.maxPositions + c.typeVocab) * h;
  const block = 4 * (h * h + h) + 2 * h * c.intermediate + c.intermediate + h + 2 * 2 * h;
  return emb + c.layers * block + 2 * h;
}

/** Parameter counts of the whole model, by part. */
export function countParams(c: RealmConfig) {
  const enc = encoderParams(c);
  const projection = c.hidden * c.retrieverDim + c.retrieverDim + 2 * c.retrieverDim;
  const embedInput = enc + projection;
  const embedDoc = (c.shareRetrieverWeights ? 0 : enc) + projection;
  const mlmHead = c.hidden * c.hidden + c.hidden + 2 * c.hidden + c.vocabSize; // transform + LN + output bias (tied)
  const reader = enc + mlmHead;
  // ORQA's span scorer (span-reader.ts): start and end projections H -> H, a LayerNorm, a linear H -> 1.
  const span = c.spanReader ? 2 * (c.hidden * c.hidden + c.hidden) + 2 * c.hidden + c.hidden + 1 : 0;
  return { embedInput, embedDoc, reader, span, total: embedInput + embedDoc + reader + span };
}

/** Forward FLOPs of one encoder over n sequences of length L (matmuls only; 2 FLOPs per multiply-add). */
function encoderForwardFlops(c: RealmConfig, n: number, L: number): number {
  const h = c.hidden;
  const perToken = c.layers * (2 * 4 * h * h + 2 * 2 * h * c.intermediate);
  const attention = c.layers * 2 * 2 * L * L * h; // QK^T and PV
  return n * (L * perToken + attention);
}

/**
 * Training FLOPs of one REALM step (forward + backward ≈ 3x forward), at full lengths: Embed_input
 * over B queries, Embed_doc over B(k-1) retrieved passages + the null document, the reader over Bk
 * pairs, and the tied MLM head over Bk·maxMasks positions. The query embedding for the search is one
 * more forward of Embed_input. Index refreshes are not counted.
 */
export function realmStepFlops(c: RealmConfig): number {
  const B = c.batchSize;
  const fwd =
    encoderForwardFlops(c, B, c.maxQueryLength) +
    encoderForwardFlops(c, B * (c.k - 1) + 1, c.maxDocLength) +
    encoderForwardFlops(c, B * c.k, c.maxReaderLength) +
    B * c.k * c.maxMasks * 2 * (c.hidden * c.hidden + c.hidden * c.vocabSize);
  return 3 * fwd + encoderForwardFlops(c, B, c.maxQueryLength);
}

/** 'per-mask' | 'per_mask' | 'joint' from a command line or URL. */
export function parseMarginalisationOption(v: string): Marginalisation {
  if (v === 'per-mask' || v === 'per_mask') return 'per-mask';
  if (v === 'joint') return 'joint';
  throw new RealmConfigError(`unknown marginalisation "${v}": use per-mask or joint`);
}
