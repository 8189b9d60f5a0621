// The app's encoders in the Hugging Face layout, and back (docs/scale-out.md). Pure: no tfjs, no DOM.
//
// Each of the three BERTs becomes one folder that transformers loads with no custom code:
//   model.safetensors   the encoder under BertModel's names (post-LN) or MegatronBertModel's (pre-LN),
//                       PyTorch Linear weights transposed to [out, in]; and its head under the names
//                       transformers' REALM classes use:
//                         embedders  cls.dense.{weight,bias}, cls.LayerNorm.{weight,bias}
//                                    (RealmScorerProjection: Linear(H, d) then LayerNorm(d))
//                         reader     cls.predictions.transform.dense, cls.predictions.transform.LayerNorm,
//                                    cls.predictions.bias (the decoder is tied to the word embeddings)
//   config.json         BertConfig / MegatronBertConfig fields, plus `realm_browser` (what the app needs back)
//   vocab.txt           the app's vocabulary, one piece a line, id = line number
//
// Which transformers class: BERT's block is post-LN, LN(x + Sublayer(x)), with a LayerNorm on the
// embeddings; that is `BertModel` (model_type "bert"). The app's default pre-LN block,
// x + Sublayer(LN(x)) with no embeddings LayerNorm and a final one, is exactly `MegatronBertModel`
// (model_type "megatron-bert": `attention.ln` before attention, `layer.ln` before the FFN, `encoder.ln`
// at the end). A pre-LN export is therefore NOT loadable as BertModel: its LayerNorms sit elsewhere,
// and BertModel would report them as unused and run other functions. config.json names the class.
import type { NamedWeights } from './bert';
import type { GeluVariant, LayerNormPlacement, RealmConfig } from './config';
import { decodeSafetensors, type NamedTensor } from './safetensors';
import { toAppOrder } from '../corpus/bert-vocab';

/** The three BERTs of a REALM model, by the app's names. */
export type EncoderRole = 'reader' | 'embed_input' | 'embed_doc';
export const ENCODER_ROLES: readonly EncoderRole[] = ['embed_input', 'embed_doc', 'reader'];

/** One exported folder's contents. */
export interface HfCheckpoint {
  tensors: NamedTensor[];
  config: Record<string, unknown>;
  vocab: string[];
}

/** A checkpoint that does not fit: every mismatch is listed, one a line. */
export class HfLayoutError extends Error {
  constructor(
    readonly problems: string[],
    what: string,
  ) {
    super(`${what}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'HfLayoutError';
  }
}

/** transformers' hidden_act for each GELU (ACT2FN: "gelu" is exact erf, "gelu_new" the tanh form). */
const HIDDEN_ACT: Record<GeluVariant, string> = { erf: 'gelu', tanh: 'gelu_new' };
const MODEL_TYPE: Record<LayerNormPlacement, { model_type: string; architecture: string }> = {
  post: { model_type: 'bert', architecture: 'BertModel' },
  pre: { model_type: 'megatron-bert', architecture: 'MegatronBertModel' },
};

/** The store prefix of a role's BERT (Embed_doc reads Embed_input's when the retriever weights are shared). */
export function encoderPrefix(role: EncoderRole, cfg: Pick<RealmConfig, 'shareRetrieverWeights'>): string {
  return role === 'embed_doc' && cfg.shareRetrieverWeights ? 'embed_input' : role;
}

interface Mapping {
  app: string;
  hf: string;
  /** A Linear kernel: the app keeps [in, out], PyTorch [out, in]. */
  transpose: boolean;
}

/**
 * app name <-> Hugging Face name of every weight a role's folder holds (the app's variables for this
 * config; the optional head is the role's projection or MLM head).
 */
export function hfMapping(role: EncoderRole, cfg: RealmConfig): Mapping[] {
  const p = encoderPrefix(role, cfg);
  const post = cfg.layerNormPlacement === 'post';
  const out: Mapping[] = [];
  const add = (app: string, hf: string, transpose = false) => out.push({ app, hf, transpose });
  const linear = (app: string, hf: string) => {
    add(`${app}/kernel`, `${hf}.weight`, true);
    add(`${app}/bias`, `${hf}.bias`);
  };
  const norm = (app: string, hf: string) => {
    add(`${app}/gamma`, `${hf}.weight`);
    add(`${app}/beta`, `${hf}.bias`);
  };
  add(`${p}/token_embedding`, 'embeddings.word_embeddings.weight');
  add(`${p}/position_embedding`, 'embeddings.position_embeddings.weight');
  add(`${p}/segment_embedding`, 'embeddings.token_type_embeddings.weight');
  if (post) norm(`${p}/embedding_ln`, 'embeddings.LayerNorm');
  for (let l = 0; l < cfg.layers; l++) {
    const a = (n: string) => `${p}/layer${l}/${n}`;
    const h = (n: string) => `encoder.layer.${l}.${n}`;
    for (const m of ['query', 'key', 'value']) linear(a(`attention/${m}`), h(`attention.self.${m}`));
    linear(a('attention/output'), h('attention.output.dense'));
    norm(a('ln1'), post ? h('attention.output.LayerNorm') : h('attention.ln'));
    linear(a('ffn/in'), h('intermediate.dense'));
    linear(a('ffn/out'), h('output.dense'));
    norm(a('ln2'), post ? h('output.LayerNorm') : h('ln'));
  }
  if (!post) norm(`${p}/final_ln`, 'encoder.ln');
  if (role === 'reader') {
    linear('reader/mlm/transform', 'cls.predictions.transform.dense');
    norm('reader/mlm/ln', 'cls.predictions.transform.LayerNorm');
    add('reader/mlm/output_bias', 'cls.predictions.bias');
  } else {
    linear(`${role}/projection`, 'cls.dense');
    norm(`${role}/projection_ln`, 'cls.LayerNorm');
  }
  return out;
}

/** [rows, cols] row-major -> [cols, rows]. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** config.json of a role's folder: the fields transformers' BertConfig / MegatronBertConfig read, and ours. */
export function hfConfig(role: EncoderRole, cfg: RealmConfig): Record<string, unknown> {
  const placement: LayerNormPlacement = cfg.layerNormPlacement ?? 'pre';
  const { model_type, architecture } = MODEL_TYPE[placement];
  return {
    architectures: [architecture],
    model_type,
    vocab_size: cfg.vocabSize,
    hidden_size: cfg.hidden,
    num_hidden_layers: cfg.layers,
    num_attention_heads: cfg.heads,
    intermediate_size: cfg.intermediate,
    hidden_act: HIDDEN_ACT[cfg.geluVariant ?? 'tanh'],
    hidden_dropout_prob: cfg.dropout,
    attention_probs_dropout_prob: cfg.attentionDropout,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: cfg.typeVocab,
    initializer_range: cfg.initStd,
    layer_norm_eps: cfg.layerNormEps,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    // RealmConfig's names for the retriever and the candidates (transformers' REALM classes read them).
    retriever_proj_size: cfg.retrieverDim,
    num_candidates: cfg.k,
    realm_browser: {
      role,
      layer_norm_placement: placement,
      gelu: cfg.geluVariant ?? 'tanh',
      transformers_class: architecture,
      note:
        placement === 'pre'
          ? 'pre-LayerNorm encoder: load it as MegatronBertModel (the same block); BertModel is post-LN and would compute something else'
          : "post-LayerNorm encoder: BERT's own block, load it as BertModel",
      head:
        role === 'reader'
          ? 'cls.predictions.* (BertLMPredictionHead, decoder tied to the word embeddings)'
          : 'cls.dense, cls.LayerNorm (RealmScorerProjection)',
      config: cfg,
    },
  };
}

/** A weight by name, with its values as float32. */
function byName(weights: NamedWeights): Map<string, { shape: number[]; data: Float32Array }> {
  return new Map(weights.map((w) => [w.name, { shape: w.shape, data: new Float32Array(w.data) }]));
}

/** One role's folder from the app's weights (all of the model's, or at least this role's). */
export function exportEncoder(
  weights: NamedWeights,
  cfg: RealmConfig,
  role: EncoderRole,
  vocab: readonly string[],
): HfCheckpoint {
  if (vocab.length !== cfg.vocabSize)
    throw new HfLayoutError(
      [`the vocabulary has ${vocab.length} pieces, the model ${cfg.vocabSize}`],
      'Cannot export this model',
    );
  const have = byName(weights);
  const problems: string[] = [];
  const tensors: NamedTensor[] = [];
  for (const m of hfMapping(role, cfg)) {
    const w = have.get(m.app);
    if (!w) {
      problems.push(`the model has no weight ${m.app} (for ${m.hf})`);
      continue;
    }
    const [rows, cols] = w.shape;
    tensors.push(
      m.transpose
        ? { name: m.hf, shape: [cols, rows], data: transpose2d(w.data, rows, cols) }
        : { name: m.hf, shape: [...w.shape], data: w.data },
    );
  }
  if (problems.length > 0) throw new HfLayoutError(problems, `Cannot export the ${role} encoder`);
  return { tensors, config: hfConfig(role, cfg), vocab: [...vocab] };
}

/** Which of the app's encoders an import starts: the reader, the two embedders, or all three (as REALM does from BERT). */
export type ImportTarget = 'reader' | 'embedders' | 'all';
export function importRoles(target: ImportTarget): EncoderRole[] {
  if (target === 'reader') return ['reader'];
  return target === 'embedders' ? ['embed_input', 'embed_doc'] : ['embed_input', 'embed_doc', 'reader'];
}

/** The LayerNorm placement and GELU a config.json describes, or the reasons it cannot be read. */
export function architectureOf(config: Record<string, unknown>): {
  placement?: LayerNormPlacement;
  gelu?: GeluVariant;
  problems: string[];
} {
  const problems: string[] = [];
  const type = config.model_type;
  const placement = type === 'bert' || type === 'realm' ? 'post' : type === 'megatron-bert' ? 'pre' : undefined;
  if (!placement) problems.push(`config.json: model_type "${String(type)}" is not bert, realm or megatron-bert`);
  const act = config.hidden_act;
  const gelu = act === 'gelu' ? 'erf' : act === 'gelu_new' || act === 'gelu_pytorch_tanh' ? 'tanh' : undefined;
  if (!gelu) problems.push(`config.json: hidden_act "${String(act)}" is not gelu (erf) or gelu_new (tanh)`);
  return { placement, gelu, problems };
}

const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);

/**
 * The app config that runs a checkpoint exactly: `base` with the architecture fields of its
 * config.json (sizes, LayerNorm placement and epsilon, GELU). Throws HfLayoutError listing every
 * field it cannot read.
 */
export function configFromHf(hf: Record<string, unknown>, base: RealmConfig): RealmConfig {
  const { placement, gelu, problems } = architectureOf(hf);
  const need = (key: string) => {
    const v = int(hf[key]);
    if (v === undefined || v <= 0)
      problems.push(`config.json: ${key} is ${JSON.stringify(hf[key])}, not a positive whole number`);
    return v ?? 1;
  };
  const out: RealmConfig = {
    ...base,
    vocabSize: need('vocab_size'),
    hidden: need('hidden_size'),
    layers: need('num_hidden_layers'),
    heads: need('num_attention_heads'),
    intermediate: need('intermediate_size'),
    maxPositions: need('max_position_embeddings'),
    typeVocab: need('type_vocab_size'),
    layerNormEps: typeof hf.layer_norm_eps === 'number' ? hf.layer_norm_eps : 1e-12,
    layerNormPlacement: placement ?? 'post',
    geluVariant: gelu ?? 'erf',
  };
  const proj = int(hf.retriever_proj_size);
  if (proj) out.retrieverDim = proj;
  // The app's inputs must fit the checkpoint's positions.
  for (const k of ['maxQueryLength', 'maxDocLength', 'maxReaderLength'] as const) out[k] = Math.min(out[k], out.maxPositions);
  if (problems.length > 0) throw new HfLayoutError(problems, 'This config.json does not describe a BERT the app can run');
  return out;
}

/** Strips the prefix of a checkpoint saved from a model with heads (BertForPreTraining: `bert.`, REALM: `realm.`). */
function bareName(name: string): string {
  for (const prefix of ['bert.', 'realm.', 'embedder.realm.', 'embedder.'])
    if (name.startsWith(prefix)) return name.slice(prefix.length);
  return name;
}

/**
 * The app's weights for `roles` from one checkpoint folder, under the app's names and in the app's
 * vocabulary order (`vocab` is the folder's vocab.txt; toAppOrder's `fromSource` permutation carries
 * the word-embedding rows and the MLM output bias). The encoder is required; a head (cls.dense /
 * cls.LayerNorm of an embedder, cls.predictions.* of the reader) is loaded when the folder has it and
 * keeps the model's own initialisation when not (a plain BERT has no retriever projection).
 * Throws HfLayoutError listing every missing weight, shape mismatch and config mismatch.
 */
export function importEncoders(
  ckpt: HfCheckpoint,
  cfg: RealmConfig,
  roles: readonly EncoderRole[],
  fromSource: readonly number[],
): { weights: NamedWeights; skippedHeads: string[] } {
  const problems: string[] = [];
  const { placement, gelu, problems: archProblems } = architectureOf(ckpt.config);
  problems.push(...archProblems);
  if (placement && placement !== (cfg.layerNormPlacement ?? 'pre'))
    problems.push(
      `the checkpoint is ${placement}-LayerNorm, the model ${cfg.layerNormPlacement ?? 'pre'}-LayerNorm (set layerNormPlacement)`,
    );
  if (gelu && gelu !== (cfg.geluVariant ?? 'tanh'))
    problems.push(`the checkpoint's GELU is ${gelu}, the model's ${cfg.geluVariant ?? 'tanh'} (set geluVariant)`);
  const eps = ckpt.config.layer_norm_eps;
  if (typeof eps === 'number' && Math.abs(eps - cfg.layerNormEps) > 1e-3 * eps)
    problems.push(`the checkpoint's layer_norm_eps is ${eps}, the model's ${cfg.layerNormEps}`);
  const heads = int(ckpt.config.num_attention_heads);
  if (heads !== undefined && heads !== cfg.heads)
    problems.push(`num_attention_heads is ${heads}, the model has ${cfg.heads} heads`);
  if (ckpt.vocab.length !== fromSource.length)
    problems.push(`vocab.txt has ${ckpt.vocab.length} pieces, the permutation ${fromSource.length}`);

  const have = new Map<string, NamedTensor>();
  for (const t of ckpt.tensors) have.set(bareName(t.name), t);
  const vocabRows = (t: NamedTensor): Float32Array => {
    // word_embeddings [V, H] rows, or cls.predictions.bias [V]: app row i = source row fromSource[i]
    const width = t.shape.length === 2 ? t.shape[1] : 1;
    const out = new Float32Array(t.data.length);
    fromSource.forEach((src, i) => out.set(t.data.subarray(src * width, (src + 1) * width), i * width));
    return out;
  };
  const weights: NamedWeights = [];
  const skippedHeads: string[] = [];
  const done = new Set<string>();
  for (const role of roles) {
    const appPrefix = encoderPrefix(role, cfg);
    for (const m of hfMapping(role, cfg)) {
      if (done.has(m.app)) continue; // Embed_doc's BERT is Embed_input's when shared
      done.add(m.app);
      const isHead = m.hf.startsWith('cls.');
      const t = have.get(m.hf);
      if (!t) {
        if (isHead) skippedHeads.push(`${m.hf} (${m.app})`);
        else problems.push(`missing ${m.hf} (for ${m.app})`);
        continue;
      }
      const expected = expectedShape(m, cfg, appPrefix);
      if (t.shape.join(',') !== expected.join(','))
        problems.push(`${m.hf} has shape [${t.shape.join(', ')}], the model needs [${expected.join(', ')}] (for ${m.app})`);
      else {
        const isVocab = m.hf === 'embeddings.word_embeddings.weight' || m.hf === 'cls.predictions.bias';
        const data = isVocab ? vocabRows(t) : m.transpose ? transpose2d(t.data, t.shape[0], t.shape[1]) : t.data.slice();
        const shape = m.transpose ? [t.shape[1], t.shape[0]] : [...t.shape];
        weights.push({ name: m.app, shape, data: data.buffer as ArrayBuffer });
      }
    }
  }
  if (problems.length > 0) throw new HfLayoutError(problems, `The checkpoint does not fit the model (${roles.join(', ')})`);
  return { weights, skippedHeads };
}

/** The PyTorch shape a mapped weight must have in the checkpoint, from the app config. */
function expectedShape(m: Mapping, c: RealmConfig, prefix: string): number[] {
  const { hidden: h, intermediate: i } = c;
  const rel = m.app.slice(m.app.indexOf('/') + 1);
  if (m.app === `${prefix}/token_embedding`) return [c.vocabSize, h];
  if (m.app === `${prefix}/position_embedding`) return [c.maxPositions, h];
  if (m.app === `${prefix}/segment_embedding`) return [c.typeVocab, h];
  if (m.app.endsWith('/mlm/output_bias')) return [c.vocabSize];
  if (/\/projection\/kernel$/.test(m.app)) return [c.retrieverDim, h];
  if (/\/projection(_ln)?\/(bias|gamma|beta)$/.test(m.app)) return [c.retrieverDim];
  if (rel.endsWith('ffn/in/kernel')) return [i, h];
  if (rel.endsWith('ffn/in/bias')) return [i];
  if (rel.endsWith('ffn/out/kernel')) return [h, i];
  if (m.transpose) return [h, h];
  return [h];
}

/** One checkpoint folder read: model.safetensors, config.json and vocab.txt (one piece per line). */
export function parseHfFolder(files: { safetensors: Uint8Array; config: string; vocab: string }): HfCheckpoint {
  return {
    tensors: decodeSafetensors(files.safetensors).tensors,
    config: JSON.parse(files.config) as Record<string, unknown>,
    vocab: files.vocab.replace(/\r/g, '').replace(/\n$/, '').split('\n'),
  };
}

/**
 * The config a run needs to run a checkpoint exactly: `base` with the architecture of its config.json.
 * The corpus must be tokenized with the checkpoint's vocabulary, so the sizes must agree.
 */
export function hfRunConfig(hf: Record<string, unknown>, base: RealmConfig): RealmConfig {
  const config = configFromHf(hf, base);
  if (config.vocabSize !== base.vocabSize)
    throw new HfLayoutError(
      [`the checkpoint has ${config.vocabSize} wordpieces, the corpus ${base.vocabSize}`],
      "The corpus must be tokenized with the checkpoint's vocab.txt",
    );
  return config;
}

/**
 * The weights of encoder `role` from a checkpoint folder, its vocabulary put in the app's order. With
 * `corpusVocab` (the pieces the corpus was tokenized with), that order must be the corpus's.
 */
export function hfEncoderWeights(
  ckpt: HfCheckpoint,
  cfg: RealmConfig,
  role: EncoderRole,
  corpusVocab?: readonly string[],
): { weights: NamedWeights; skippedHeads: string[] } {
  const { vocab, fromSource } = toAppOrder(ckpt.vocab);
  if (corpusVocab) {
    const differ = vocab.findIndex((p, i) => p !== corpusVocab[i]);
    if (differ >= 0 || vocab.length !== corpusVocab.length)
      throw new HfLayoutError(
        [
          differ >= 0
            ? `wordpiece ${differ} is "${vocab[differ]}" in the checkpoint and "${corpusVocab[differ]}" in the corpus`
            : `the checkpoint has ${vocab.length} wordpieces, the corpus ${corpusVocab.length}`,
        ],
        "The corpus must be tokenized with the checkpoint's vocab.txt",
      );
  }
  return importEncoders(ckpt, cfg, [role], fromSource);
}
