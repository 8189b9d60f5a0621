// Settings of a pre-training run, kept in the URL so a link reproduces a setup, e.g.
// `?preset=tiny&ict=20&mlm=20&realm=200&refresh=async&every=5&k=4&lr=0.001&seed=1`.
// The Model & run config panel writes these parameters; the Training panel reads them at Start.
import {
  GELU_VARIANTS,
  LAYER_NORM_PLACEMENTS,
  makeConfig,
  MLM_PAIR_MASKINGS,
  RealmConfigError,
  type PresetName,
  type RealmConfig,
} from '../model/config';
import { MASKING_STRATEGIES } from '../corpus/masking';
import { BACKEND_ORDER } from '../platform/backend';
import { REFRESH_POLICIES, type RefreshPolicy } from '../workers/async-refresher';

/** Where a run's model starts: the shipped warm start's weights and vocabulary, or random weights. */
export type RunStart = 'warm' | 'cold';
export const RUN_STARTS: readonly RunStart[] = ['warm', 'cold'];

export interface PlainRunSettings {
  preset: PresetName;
  /** warm: the warm start's architecture, weights and vocabulary (phase steps default to REALM only). */
  start: RunStart;
  config: RealmConfig;
  /** The config fields the link set itself (a warm start refuses an architecture field that differs from its own). */
  asked: Partial<RealmConfig>;
  policy: RefreshPolicy;
  checkpointEvery: number;
  evalEvery: number;
  /** Newest checkpoints kept (the best held-out one is kept besides). */
  keepCheckpoints: number;
  warnings: string[];
  /** Keys whose value the link gave but that were ignored (the form shows the default), with that value. */
  ignored: Record<string, string>;
}

export const PRESET_NAMES: readonly PresetName[] = ['tiny', 'mini', 'small', 'base'];
const DEFAULT_CHECKPOINT_EVERY = 20;
const DEFAULT_EVAL_EVERY = 0;
const DEFAULT_KEEP = 2; // DEFAULT_KEEP_CHECKPOINTS of pretraining-run.ts

type Kind =
  | { type: 'int'; min: number; max: number }
  | { type: 'float'; min: number; max: number }
  | { type: 'choice'; values: readonly string[] };

/**
 * Where the config panel shows a setting: first what a first run changes, then REALM's design choices
 * (the paper's options), then the research knobs.
 */
export type ParamGroup = 'basic' | 'paper' | 'advanced';

/** One URL parameter of the run config: its key, what it sets, and what values it takes. */
export interface RunParam {
  key: string;
  label: string;
  group: ParamGroup;
  /** One line in plain words, shown under the field. */
  hint: string;
  /** Tooltip: what the setting does, in REALM's terms. */
  help: string;
  kind: Kind;
  /** The RealmConfig field it overrides, if any. */
  field?: keyof RealmConfig;
}

export const RUN_PARAMS: readonly RunParam[] = [
  {
    key: 'start',
    label: 'Start from',
    group: 'basic',
    hint: 'warm: a model that has already learned to read and to retrieve; cold: random weights.',
    kind: { type: 'choice', values: RUN_STARTS },
    help: "warm: the shipped warm start (public/warmstart/): a reader pre-trained with MLM and a retriever trained with ICT, with BERT's vocabulary, as REALM starts from BERT and ORQA; the corpus is tokenized with that vocabulary and the model takes its size from it; ICT and MLM default to 0 steps. cold: random weights and the corpus's own vocabulary (then the ICT and MLM warm-ups matter).",
  },
  {
    key: 'ict',
    label: 'ICT steps',
    group: 'basic',
    hint: 'Warm-up: the retriever learns to find the passage a sentence came from.',
    field: 'ictSteps',
    kind: { type: 'int', min: 0, max: 100_000 },
    help: 'Steps of the Inverse Cloze Task warm start of both embedders.',
  },
  {
    key: 'mlm',
    label: 'MLM steps',
    group: 'basic',
    hint: 'Warm-up: the reader learns to fill in blanked words without retrieval.',
    field: 'mlmSteps',
    kind: { type: 'int', min: 0, max: 100_000 },
    help: 'Steps of the plain masked-LM warm-up of the knowledge-augmented encoder.',
  },
  {
    key: 'realm',
    label: 'REALM steps',
    group: 'basic',
    hint: 'The main phase: fill in blanked words with the help of retrieved passages.',
    field: 'realmSteps',
    kind: { type: 'int', min: 0, max: 100_000 },
    help: 'Steps of REALM pre-training with retrieval.',
  },
  {
    key: 'k',
    label: 'k (candidates)',
    group: 'basic',
    hint: 'How many passages the model weighs per sentence (the empty “null” one included).',
    field: 'k',
    kind: { type: 'int', min: 2, max: 64 },
    help: 'Documents the reader marginalises over, including the null document (REALM: 8).',
  },
  {
    key: 'd',
    label: 'd (retriever width)',
    group: 'paper',
    hint: 'Size of the vectors in which sentences and passages are compared.',
    field: 'retrieverDim',
    kind: { type: 'int', min: 2, max: 1024 },
    help: 'Width of Embed_input(x) and Embed_doc(z): the inner product f(x,z) is taken in this space.',
  },
  {
    key: 'mode',
    label: 'Marginalisation',
    group: 'paper',
    hint: 'Each blank picks its own passage, or one passage explains the whole sentence.',
    field: 'marginalisation',
    kind: { type: 'choice', values: ['per-mask', 'joint'] },
    help: 'per-mask: each masked token is marginalised over the documents on its own (the released code). joint: one document explains all masks of a sentence (the paper).',
  },
  {
    key: 'masking',
    label: 'Masking',
    group: 'paper',
    hint: 'Which words are blanked: names, places and dates, or random ones.',
    field: 'masking',
    kind: { type: 'choice', values: MASKING_STRATEGIES },
    help: 'How REALM queries are masked: salient spans (names, places, dates) or the random ablations.',
  },
  {
    key: 'exclude',
    label: 'Trivial candidate',
    group: 'paper',
    hint: 'Stops the model from just retrieving the passage the sentence came from.',
    field: 'trivialExclusion',
    kind: { type: 'choice', values: ['passage', 'sentence'] },
    help: 'passage: never retrieve the passage the query comes from (REALM). sentence: it may be retrieved, with the query sentence cut out.',
  },
  {
    key: 'ln',
    label: 'LayerNorm placement',
    group: 'advanced',
    hint: "pre: stable with short warm-ups (the default). post: BERT's own block, as public checkpoints need.",
    field: 'layerNormPlacement',
    kind: { type: 'choice', values: LAYER_NORM_PLACEMENTS },
    help: "pre: x + Sublayer(LN(x)) with a final LayerNorm (exports as MegatronBertModel). post: LN(x + Sublayer(x)) with an embeddings LayerNorm, BERT's block (exports as BertModel). See docs/scale-out.md.",
  },
  {
    key: 'gelu',
    label: 'GELU',
    group: 'advanced',
    hint: "tanh: BERT's released-code approximation (the default). erf: the exact GELU of BERT's checkpoints.",
    field: 'geluVariant',
    kind: { type: 'choice', values: GELU_VARIANTS },
    help: 'tanh: 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))), transformers "gelu_new". erf: x·Φ(x), transformers "gelu".',
  },
  {
    key: 'tau',
    label: 'Retrieval temperature τ',
    group: 'advanced',
    hint: 'Sharper (below 1) or flatter (above 1) choice among the retrieved passages.',
    field: 'retrievalTemperature',
    kind: { type: 'float', min: 0.01, max: 100 },
    help: 'p(z|x) = softmax(f(x,z)/τ). 1 is REALM; above 1 spreads the probability over more of the k documents, so more of them get a gradient.',
  },
  {
    key: 'rlr',
    label: 'Retriever lr scale',
    group: 'advanced',
    hint: 'How fast the retriever learns in the REALM phase.',
    field: 'retrieverLearningRateScale',
    kind: { type: 'float', min: 0, max: 10 },
    help: 'In the REALM phase the embedders learn at the learning rate times this (1: one rate for all; 0: a frozen retriever).',
  },
  {
    key: 'dlr',
    label: 'Reader lr scale',
    group: 'advanced',
    hint: 'How fast the reader learns in the REALM phase.',
    field: 'readerLearningRateScale',
    kind: { type: 'float', min: 0, max: 10 },
    help: 'In the REALM phase the reader (knowledge-augmented encoder) learns at the learning rate times this (1: REALM; 0: a frozen reader, so the retriever learns from what the warm-up taught it).',
  },
  {
    key: 'rict',
    label: 'ICT weight in REALM',
    group: 'advanced',
    hint: 'Keeps the retriever’s warm-up task going during REALM.',
    field: 'realmIctWeight',
    kind: { type: 'float', min: 0, max: 10 },
    help: "In the REALM phase each step also takes the ICT loss on a fresh batch of passages, times this, so the retriever keeps telling passages apart instead of drifting onto a few it returns for every query (0: REALM's loss alone, the paper).",
  },
  {
    key: 'docgrad',
    label: 'Embed_doc gradient in REALM',
    group: 'advanced',
    hint: 'Whether REALM also trains the passage encoder.',
    field: 'realmDocGradient',
    kind: { type: 'choice', values: ['true', 'false'] },
    help: "true: REALM's marginal likelihood trains both embedders (the paper). false: the retrieved passages' Embed_doc(z) are held fixed in p(z|x), so only Embed_input learns from it (as ORQA's frozen evidence encoder; ICT's loss in REALM still trains both).",
  },
  {
    key: 'ictmask',
    label: 'Masked ICT queries',
    group: 'advanced',
    hint: 'Share of retriever warm-up questions that look like REALM’s.',
    field: 'ictMaskedQueryProbability',
    kind: { type: 'float', min: 0, max: 1 },
    help: 'Share of ICT pseudo-queries that are masked REALM queries instead of plain sentences (0 is ORQA/REALM; at most 1).',
  },
  {
    key: 'mlmpairs',
    label: 'MLM sentence pairs',
    group: 'advanced',
    hint: 'Share of reader warm-up inputs shaped like a sentence and a passage.',
    field: 'mlmPairProbability',
    kind: { type: 'float', min: 0, max: 1 },
    help: "Share of the reader's MLM warm-up inputs that are BERT sentence pairs in the reader's layout: a sentence, then the rest of its passage (0: whole passages only; at most 1).",
  },
  {
    key: 'mlmmask',
    label: 'MLM pair masking',
    group: 'advanced',
    hint: 'What is blanked in those sentence-and-passage pairs.',
    field: 'mlmPairMasking',
    kind: { type: 'choice', values: MLM_PAIR_MASKINGS },
    help: "How the MLM warm-up's sentence pairs are masked. random: BERT's 15% of wordpieces in both segments. salient: the sentence is one of REALM's queries with its salient span masked, and the rest of its passage follows, so the reader learns to look for the answer in a document. answer: the same query followed by another passage that holds its span (found by string match), as a retrieved document would, so the reader learns to copy the answer from one.",
  },
  {
    key: 'refresh',
    label: 'Index refresh',
    group: 'paper',
    hint: 'When the passage index is rebuilt with the newer weights.',
    kind: { type: 'choice', values: REFRESH_POLICIES },
    help: 'async: a Web Worker re-embeds the corpus while training goes on (REALM). sync: training waits for each rebuild. frozen: the index after ICT is never refreshed. every-R-steps: sync, every R steps.',
  },
  {
    key: 'every',
    label: 'Refresh every',
    group: 'paper',
    hint: 'Steps between index rebuilds.',
    field: 'refreshEvery',
    kind: { type: 'int', min: 1, max: 100_000 },
    help: 'Steps between index refreshes (the paper: about 500).',
  },
  {
    key: 'lr',
    label: 'Learning rate',
    group: 'paper',
    hint: 'How big each learning step is.',
    field: 'learningRate',
    kind: { type: 'float', min: 1e-7, max: 1 },
    help: 'Peak learning rate of AdamW (linear warm-up, then linear decay, in each phase).',
  },
  {
    key: 'batch',
    label: 'Batch size',
    group: 'paper',
    hint: 'Sentences per training step.',
    field: 'batchSize',
    kind: { type: 'int', min: 1, max: 512 },
    help: 'Masked queries per REALM and MLM step.',
  },
  {
    key: 'seed',
    label: 'Seed',
    group: 'advanced',
    hint: 'Same seed, same run: change it to see run-to-run variation.',
    field: 'seed',
    kind: { type: 'int', min: 0, max: 2_147_483_647 },
    help: 'Seed of the data order, masks, dropout and initialisation.',
  },
  {
    key: 'ckpt',
    label: 'Checkpoint every',
    group: 'advanced',
    hint: 'How often the run is saved; a reload loses at most this many steps.',
    kind: { type: 'int', min: 1, max: 10_000 },
    help: 'Save a checkpoint (and the metrics) every C steps; a reload loses at most this much.',
  },
  {
    key: 'eval',
    label: 'Evaluate every',
    group: 'advanced',
    hint: 'How often the model is tested on held-out sentences (0: at the end only).',
    kind: { type: 'int', min: 0, max: 100_000 },
    help: 'Held-out cloze accuracy and recall@5 every E steps (0: at the end only).',
  },
  {
    key: 'keep',
    label: 'Checkpoints kept',
    group: 'advanced',
    hint: 'How many recent saves a run keeps (plus its best one); older ones are deleted to save space.',
    kind: { type: 'int', min: 1, max: 100 },
    help: 'The newest N checkpoints are kept, plus the one with the best held-out cloze accuracy; older ones are deleted as new ones are saved.',
  },
];

/** Parses one parameter's value: the parsed value, or a warning. */
function parseParam(p: RunParam, raw: string): { value: string | number } | { warning: string } {
  const k = p.kind;
  if (k.type === 'choice') {
    return k.values.includes(raw) ? { value: raw } : { warning: `Ignored ${p.key}=${raw}: use one of ${k.values.join(', ')}.` };
  }
  const n = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(n) && n >= k.min && n <= k.max && (k.type === 'float' || Number.isInteger(n)))
    return { value: n };
  return {
    warning: `Ignored ${p.key}=${raw}: it must be ${k.type === 'int' ? 'an integer' : 'a number'} from ${k.min} to ${k.max.toLocaleString('en')}.`,
  };
}

/**
 * The page's other URL keys (read by the runtime and the corpus panel), with the values they take.
 * `backend` and `bundle` report a bad value themselves (the header notice, the corpus panel).
 */
export const PAGE_KEYS: Readonly<Record<string, readonly string[]>> = {
  backend: ['auto', ...BACKEND_ORDER],
  bundle: ['micro', 'tiny', 'default'],
  worker: ['off'],
};

/** Every key a link may carry. */
export const KNOWN_KEYS: readonly string[] = ['preset', ...RUN_PARAMS.map((p) => p.key), ...Object.keys(PAGE_KEYS)];

export function runSettingsFromUrl(search: string): PlainRunSettings {
  const params = new URLSearchParams(search);
  const warnings: string[] = [];
  const ignored: Record<string, string> = {};
  const unknown = [...new Set(params.keys())].filter((key) => !KNOWN_KEYS.includes(key));
  for (const key of unknown)
    warnings.push(
      `Ignored ${key}=${params.get(key)}: "${key}" is not a setting (docs/studio.md lists the settings a link can carry).`,
    );
  const presetParam = params.get('preset');
  let preset: PresetName = 'tiny';
  if (presetParam && (PRESET_NAMES as readonly string[]).includes(presetParam)) preset = presetParam as PresetName;
  else if (presetParam) {
    warnings.push(`Unknown preset "${presetParam}"; using tiny.`);
    ignored.preset = presetParam;
  }
  for (const [key, values] of Object.entries(PAGE_KEYS)) {
    const raw = params.get(key);
    if (raw === null || values.includes(raw.toLowerCase())) continue;
    ignored[key] = raw;
    if (key === 'worker') warnings.push(`Ignored worker=${raw}: use worker=off to run the index builder on the main thread.`);
  }
  const values = new Map<string, string | number>();
  for (const p of RUN_PARAMS) {
    const raw = params.get(p.key);
    if (raw === null) continue;
    const r = parseParam(p, raw);
    if ('warning' in r) {
      warnings.push(r.warning);
      ignored[p.key] = raw;
    } else values.set(p.key, r.value);
  }
  const start = (values.get('start') as RunStart | undefined) ?? 'cold';
  // A warm start has learned ICT and MLM already: its phases default to REALM only.
  const overrides: Record<string, unknown> = start === 'warm' ? { ...WARM_PHASE_DEFAULTS } : {};
  const defaults = makeConfig(preset);
  const asked: Record<string, unknown> = {};
  for (const p of RUN_PARAMS) {
    if (!p.field || !values.has(p.key)) continue;
    const v = values.get(p.key);
    asked[p.field] = overrides[p.field] = typeof defaults[p.field] === 'boolean' ? v === 'true' : v; // a true / false choice
  }
  let config: RealmConfig;
  try {
    config = makeConfig(preset, overrides as Partial<RealmConfig>);
  } catch (e) {
    if (!(e instanceof RealmConfigError)) throw e;
    warnings.push(`These settings do not fit together (${e.message}); using the ${preset} preset's defaults.`);
    config = makeConfig(preset, start === 'warm' ? WARM_PHASE_DEFAULTS : {});
  }
  return {
    preset,
    start,
    config,
    asked: asked as Partial<RealmConfig>,
    policy: (values.get('refresh') as RefreshPolicy | undefined) ?? 'async',
    checkpointEvery: (values.get('ckpt') as number | undefined) ?? DEFAULT_CHECKPOINT_EVERY,
    evalEvery: (values.get('eval') as number | undefined) ?? DEFAULT_EVAL_EVERY,
    keepCheckpoints: (values.get('keep') as number | undefined) ?? DEFAULT_KEEP,
    warnings,
    ignored,
  };
}

/** The phase steps a warm run takes when the URL does not say: REALM only. */
export const WARM_PHASE_DEFAULTS: Partial<RealmConfig> = { ictSteps: 0, mlmSteps: 0 };

/** The value a parameter has when the URL leaves it out: the preset's (REALM only for a warm start), or the run defaults. */
export function defaultValue(p: RunParam, preset: PresetName, start: RunStart = 'cold'): string {
  if (p.field) return String(makeConfig(preset, start === 'warm' ? WARM_PHASE_DEFAULTS : {})[p.field]);
  if (p.key === 'start') return 'cold';
  if (p.key === 'refresh') return 'async';
  if (p.key === 'ckpt') return String(DEFAULT_CHECKPOINT_EVERY);
  if (p.key === 'eval') return String(DEFAULT_EVAL_EVERY);
  if (p.key === 'keep') return String(DEFAULT_KEEP);
  return '';
}

/** `search` with `key` set to `value`, or removed when value is null or empty; other parameters kept. */
export function withParam(search: string, key: string, value: string | null): string {
  const params = new URLSearchParams(search);
  if (value === null || value === '') params.delete(key);
  else params.set(key, value);
  const s = params.toString();
  return s ? `?${s}` : '';
}
