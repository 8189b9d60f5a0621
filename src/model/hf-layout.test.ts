// Export to the Hugging Face layout and import back: the same model computes the same outputs; a
// checkpoint in BERT's vocabulary order comes in permuted; every mismatch is listed.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVAL_CTX, padBatch } from './bert';
import { makeConfig, type RealmConfig } from './config';
import {
  configFromHf,
  ENCODER_ROLES,
  exportEncoder,
  HfLayoutError,
  importEncoders,
  importRoles,
  type HfCheckpoint,
} from './hf-layout';
import { RealmModel } from './realm-model';
import { decodeSafetensors, safetensorsBytes } from './safetensors';
import { toAppOrder } from '../corpus/bert-vocab';
import { SPECIAL_TOKENS } from '../corpus/tokenizer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const VOCAB = [...SPECIAL_TOKENS, ...Array.from({ length: 45 }, (_, i) => `w${i}`)];
const config = (over: Partial<RealmConfig> = {}) =>
  makeConfig('tiny', { vocabSize: VOCAB.length, hidden: 16, heads: 2, intermediate: 24, retrieverDim: 8, ...over });

/** A model whose every weight is random (LayerNorm gains and biases too), so no mapping error can hide. */
function randomModel(cfg: RealmConfig, seed: number): RealmModel {
  let s = seed;
  const m = new RealmModel(cfg, () => s++);
  for (const v of m.variables().values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.2, 'float32', s++))));
  return m;
}

const QUERIES = [
  [2, 7, 9, 4, 11, 3],
  [2, 5, 3],
];
/** Embed_input and Embed_doc of fixed rows, and the reader's MLM logits at fixed positions. */
function outputs(m: RealmModel): number[][] {
  return tf.tidy(() => {
    const { ids, segments } = padBatch(QUERIES, 16);
    const positions = tf.tensor2d(
      [
        [3, 1],
        [1, 0],
      ],
      [2, 2],
      'int32',
    );
    return [
      m.embedInput.embed(ids, segments, EVAL_CTX),
      m.embedDoc.embed(ids, segments, EVAL_CTX),
      m.reader.mlmLogits(ids, segments, positions, EVAL_CTX),
    ].map((t) => Array.from(t.dataSync()));
  });
}

/** Export every role to bytes (safetensors + JSON + lines) and read them back, as a folder would be. */
async function exportAll(m: RealmModel): Promise<Map<string, HfCheckpoint>> {
  const weights = await m.getWeights();
  const out = new Map<string, HfCheckpoint>();
  for (const role of ENCODER_ROLES) {
    const e = exportEncoder(weights, m.config, role, VOCAB);
    const bytes = safetensorsBytes(e.tensors);
    out.set(role, {
      tensors: decodeSafetensors(bytes).tensors,
      config: JSON.parse(JSON.stringify(e.config)) as Record<string, unknown>,
      vocab: (e.vocab.join('\n') + '\n').split('\n').slice(0, -1),
    });
  }
  return out;
}

describe('the Hugging Face layout', () => {
  for (const over of [
    {},
    { layerNormPlacement: 'post', geluVariant: 'erf', layerNormEps: 1e-12 },
    { shareRetrieverWeights: true },
  ] as const) {
    it(`export then import gives identical outputs (${JSON.stringify(over)})`, async () => {
      const cfg = config(over);
      const a = randomModel(cfg, 1);
      const b = randomModel(cfg, 500);
      const before = outputs(a);
      expect(outputs(b)[0]).not.toEqual(before[0]);
      const folders = await exportAll(a);
      for (const role of ENCODER_ROLES) {
        const ckpt = folders.get(role)!;
        const { weights, skippedHeads } = importEncoders(ckpt, cfg, [role], toAppOrder(ckpt.vocab).fromSource);
        expect(skippedHeads).toEqual([]);
        b.setWeights(weights);
      }
      const after = outputs(b);
      for (let i = 0; i < 3; i++) expect(after[i]).toEqual(before[i]); // bit for bit
      // every weight crossed over: the two models are now the same
      const [wa, wb] = [await a.getWeights(), await b.getWeights()];
      wa.forEach((w, i) => expect(new Float32Array(wb[i].data), w.name).toEqual(new Float32Array(w.data)));
      a.dispose();
      b.dispose();
    });
  }

  it('names BertModel (post-LN) and MegatronBertModel (pre-LN) weights, Linear kernels as [out, in]', async () => {
    const post = config({ layerNormPlacement: 'post', geluVariant: 'erf' });
    const m = randomModel(post, 3);
    const e = exportEncoder(await m.getWeights(), post, 'embed_doc', VOCAB);
    const names = new Map(e.tensors.map((t) => [t.name, t.shape]));
    expect(names.get('embeddings.LayerNorm.weight')).toEqual([16]);
    expect(names.get('encoder.layer.1.intermediate.dense.weight')).toEqual([24, 16]);
    expect(names.get('encoder.layer.1.output.dense.weight')).toEqual([16, 24]);
    expect(names.get('encoder.layer.0.attention.output.LayerNorm.bias')).toEqual([16]);
    expect(names.get('cls.dense.weight')).toEqual([8, 16]);
    expect(names.get('cls.LayerNorm.weight')).toEqual([8]);
    expect(e.config).toMatchObject({
      model_type: 'bert',
      architectures: ['BertModel'],
      hidden_act: 'gelu',
      layer_norm_eps: 1e-6,
    });
    // kernel [in, out] -> weight [out, in]: W[o][i] = kernel[i][o]
    const k = new Float32Array((await m.getWeights()).find((w) => w.name === 'embed_doc/layer0/ffn/in/kernel')!.data);
    const w = e.tensors.find((t) => t.name === 'encoder.layer.0.intermediate.dense.weight')!.data;
    expect(w[5 * 16 + 3]).toBe(k[3 * 24 + 5]);
    const pre = config();
    const r = exportEncoder(await randomModel(pre, 4).getWeights(), pre, 'reader', VOCAB);
    const rn = r.tensors.map((t) => t.name);
    expect(rn).toContain('encoder.layer.0.attention.ln.weight');
    expect(rn).toContain('encoder.layer.1.ln.bias');
    expect(rn).toContain('encoder.ln.weight');
    expect(rn).toContain('cls.predictions.transform.dense.weight');
    expect(rn).toContain('cls.predictions.bias');
    expect(rn.some((n) => n.includes('LayerNorm') && !n.startsWith('cls.'))).toBe(false);
    expect(r.config).toMatchObject({ model_type: 'megatron-bert', architectures: ['MegatronBertModel'], hidden_act: 'gelu_new' });
    m.dispose();
  });

  it("permutes a checkpoint in BERT's vocabulary order (specials at 0, 100-103) into the app's", async () => {
    const cfg = config({ layerNormPlacement: 'post', geluVariant: 'erf' });
    const m = randomModel(cfg, 7);
    const app = (await exportAll(m)).get('reader')!;
    // the same model spelled in another order: [PAD] w0..w2 [UNK] [CLS] [SEP] [MASK] w3...
    const order = [0, 5, 6, 7, 1, 2, 3, 4, ...VOCAB.map((_, i) => i).slice(8)]; // source line -> app id
    const permuted: HfCheckpoint = {
      config: app.config,
      vocab: order.map((i) => VOCAB[i]),
      tensors: app.tensors.map((t) => {
        if (t.name !== 'embeddings.word_embeddings.weight' && t.name !== 'cls.predictions.bias') return t;
        const width = t.shape.length === 2 ? t.shape[1] : 1;
        const data = new Float32Array(t.data.length);
        order.forEach((appId, line) => data.set(t.data.subarray(appId * width, (appId + 1) * width), line * width));
        return { ...t, data };
      }),
    };
    const { vocab, fromSource } = toAppOrder(permuted.vocab);
    expect(vocab.slice(0, 8)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'w0', 'w1', 'w2']);
    expect(vocab).toEqual(VOCAB);
    const b = randomModel(cfg, 900);
    b.setWeights(importEncoders(permuted, cfg, ['reader'], fromSource).weights);
    expect(outputs(b)[2]).toEqual(outputs(m)[2]);
    m.dispose();
    b.dispose();
  });

  it('lists every mismatch, and configFromHf gives the config that fits', async () => {
    const cfg = config({ layerNormPlacement: 'post', geluVariant: 'erf' });
    const ckpt = (await exportAll(randomModel(cfg, 2))).get('embed_input')!;
    const wrong = config({ hidden: 24, heads: 3, intermediate: 24 });
    let error: unknown;
    try {
      importEncoders(
        { ...ckpt, tensors: ckpt.tensors.filter((t) => t.name !== 'encoder.layer.1.output.dense.bias') },
        wrong,
        importRoles('embedders'),
        toAppOrder(ckpt.vocab).fromSource,
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HfLayoutError);
    const problems = (error as HfLayoutError).problems;
    expect(problems).toContain('the checkpoint is post-LayerNorm, the model pre-LayerNorm (set layerNormPlacement)');
    expect(problems).toContain("the checkpoint's GELU is erf, the model's tanh (set geluVariant)");
    expect(problems).toContain('num_attention_heads is 2, the model has 3 heads');
    expect(problems).toContain('missing encoder.layer.1.output.dense.bias (for embed_input/layer1/ffn/out/bias)');
    expect(problems).toContain(
      'embeddings.word_embeddings.weight has shape [50, 16], the model needs [50, 24] (for embed_input/token_embedding)',
    );
    expect(problems.length).toBeGreaterThan(30); // every weight of both embedders, not the first only
    expect((error as Error).message).toMatch(/^The checkpoint does not fit the model \(embed_input, embed_doc\):\n {2}- /);
    const fitted = configFromHf(ckpt.config, wrong);
    expect({ ...fitted, seed: 0 }).toEqual({ ...cfg, seed: 0 });
    expect(() => importEncoders(ckpt, fitted, ['embed_input'], toAppOrder(ckpt.vocab).fromSource)).not.toThrow();
    expect(() => configFromHf({ model_type: 'gpt2', hidden_act: 'relu' }, cfg)).toThrow(
      /model_type "gpt2"[\s\S]*hidden_act "relu"[\s\S]*vocab_size/,
    );
  });
});
