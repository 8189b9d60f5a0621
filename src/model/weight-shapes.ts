// The name and shape of every weight the REALM model of a config holds, without building it: what a
// run archive's checkpoint is checked against before anything is stored or any tensor allocated.
// It mirrors the constructors of BertEncoder, Retriever, KnowledgeAugmentedEncoder and SpanReader; a unit test
// compares it with a real RealmModel's variables, so the two cannot drift apart unnoticed. No tfjs here:
// the run-archive reader worker imports it.
import type { RealmConfig } from './config';

type Dims = Pick<
  RealmConfig,
  | 'vocabSize'
  | 'hidden'
  | 'layers'
  | 'intermediate'
  | 'maxPositions'
  | 'typeVocab'
  | 'retrieverDim'
  | 'shareRetrieverWeights'
  | 'layerNormPlacement'
> &
  Partial<Pick<RealmConfig, 'spanReader'>>;

function addEncoder(out: Map<string, number[]>, prefix: string, c: Dims): void {
  const { hidden: h, intermediate: i } = c;
  const p = (n: string, shape: number[]) => out.set(`${prefix}/${n}`, shape);
  p('token_embedding', [c.vocabSize, h]);
  p('position_embedding', [c.maxPositions, h]);
  p('segment_embedding', [c.typeVocab, h]);
  // Post-LN (BERT) normalises the embeddings and has no final LayerNorm; pre-LN the reverse.
  const post = c.layerNormPlacement === 'post';
  if (post) for (const g of ['gamma', 'beta']) p(`embedding_ln/${g}`, [h]);
  for (let l = 0; l < c.layers; l++) {
    for (const ln of ['ln1', 'ln2']) for (const g of ['gamma', 'beta']) p(`layer${l}/${ln}/${g}`, [h]);
    for (const m of ['query', 'key', 'value', 'output']) {
      p(`layer${l}/attention/${m}/kernel`, [h, h]);
      p(`layer${l}/attention/${m}/bias`, [h]);
    }
    p(`layer${l}/ffn/in/kernel`, [h, i]);
    p(`layer${l}/ffn/in/bias`, [i]);
    p(`layer${l}/ffn/out/kernel`, [i, h]);
    p(`layer${l}/ffn/out/bias`, [h]);
  }
  if (!post) for (const g of ['gamma', 'beta']) p(`final_ln/${g}`, [h]);
}

function addProjection(out: Map<string, number[]>, prefix: string, c: Dims): void {
  out.set(`${prefix}/projection/kernel`, [c.hidden, c.retrieverDim]);
  out.set(`${prefix}/projection/bias`, [c.retrieverDim]);
  out.set(`${prefix}/projection_ln/gamma`, [c.retrieverDim]);
  out.set(`${prefix}/projection_ln/beta`, [c.retrieverDim]);
}

/** Every trainable weight of `new RealmModel(c)`: name -> shape. */
export function modelWeightShapes(c: Dims): Map<string, number[]> {
  const out = new Map<string, number[]>();
  addEncoder(out, 'embed_input', c);
  // Shared retriever weights: Embed_doc reads Embed_input's BERT, with a projection of its own.
  if (!c.shareRetrieverWeights) addEncoder(out, 'embed_doc', c);
  addProjection(out, 'embed_input', c);
  addProjection(out, 'embed_doc', c);
  addEncoder(out, 'reader', c);
  out.set('reader/mlm/transform/kernel', [c.hidden, c.hidden]);
  out.set('reader/mlm/transform/bias', [c.hidden]);
  out.set('reader/mlm/ln/gamma', [c.hidden]);
  out.set('reader/mlm/ln/beta', [c.hidden]);
  out.set('reader/mlm/output_bias', [c.vocabSize]);
  // ORQA's span scorer, only in a model built for Open-QA fine-tuning (SpanReader).
  if (c.spanReader) {
    for (const side of ['start', 'end']) {
      out.set(`span/${side}/kernel`, [c.hidden, c.hidden]);
      out.set(`span/${side}/bias`, [c.hidden]);
    }
    out.set('span/ln/gamma', [c.hidden]);
    out.set('span/ln/beta', [c.hidden]);
    out.set('span/output/kernel', [c.hidden, 1]);
    out.set('span/output/bias', [1]);
  }
  return out;
}

/**
 * The shape each AdamW slot of a checkpoint must have: `${name}/m` and `${name}/v` as the weight,
 * `${name}/t` [1]. Slots exist only for weights that have had a gradient, so any subset is valid.
 */
export function optimizerSlotShape(weights: Map<string, number[]>, slotName: string): number[] | undefined {
  const cut = slotName.lastIndexOf('/');
  const shape = weights.get(slotName.slice(0, cut));
  const slot = slotName.slice(cut + 1);
  if (!shape) return undefined;
  if (slot === 'm' || slot === 'v') return shape;
  return slot === 't' ? [1] : undefined;
}
