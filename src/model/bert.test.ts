// BertEncoder's forward pass, in both LayerNorm placements and both GELUs, against the block written
// out in plain tf ops (tf's own LayerNorm formula, softmax, tf.erf / tanh GELU, autograd): the hidden
// states of a padded batch, and the gradient of every weight.
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BertEncoder, EVAL_CTX, ParamStore } from './bert';
import { makeConfig, type RealmConfig } from './config';
import { allcloseReport } from '../testing/allclose';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ln = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, eps: number) => {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
};
const geluOf = (variant: 'tanh' | 'erf') => (x: tf.Tensor) =>
  variant === 'erf'
    ? tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))))
    : tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));

/** The encoder written from the definitions (BERT's paper for post-LN; GPT-2's block for pre-LN). */
function reference(cfg: RealmConfig, store: ParamStore, ids: tf.Tensor2D, segments: tf.Tensor2D): tf.Tensor {
  const w = (n: string) => store.get(`enc/${n}`);
  const [n, len] = ids.shape;
  const { hidden: h, heads, layerNormEps: eps } = cfg;
  const dh = h / heads;
  const post = cfg.layerNormPlacement === 'post';
  const gelu = geluOf(cfg.geluVariant);
  const lin = (x: tf.Tensor, k: string) =>
    tf.add(tf.matMul(x.reshape([-1, x.shape[2]!]), w(`${k}/kernel`)), w(`${k}/bias`)).reshape([n, len, -1]);
  const split = (t: tf.Tensor) => t.reshape([n, len, heads, dh]).transpose([0, 2, 1, 3]);
  const positions = tf.gather(w('position_embedding'), tf.range(0, len, 1, 'int32')); // [L, H]
  let x: tf.Tensor = tf.add(tf.add(tf.gather(w('token_embedding'), ids), positions), tf.gather(w('segment_embedding'), segments));
  if (post) x = ln(x, w('embedding_ln/gamma'), w('embedding_ln/beta'), eps);
  const mask = tf.mul(tf.cast(tf.equal(ids, 0), 'float32'), -1e9).reshape([n, 1, 1, len]);
  for (let l = 0; l < cfg.layers; l++) {
    const L = (s: string) => `layer${l}/${s}`;
    const norm = (t: tf.Tensor, which: string) => ln(t, w(L(`${which}/gamma`)), w(L(`${which}/beta`)), eps);
    const a = post ? x : norm(x, 'ln1');
    const [q, k, v] = ['query', 'key', 'value'].map((m) => split(lin(a, L(`attention/${m}`))));
    const p = tf.softmax(tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)), mask), -1);
    const ctx = tf.matMul(p, v).transpose([0, 2, 1, 3]).reshape([n, len, h]);
    x = tf.add(x, lin(ctx, L('attention/output')));
    if (post) x = norm(x, 'ln1');
    const f = post ? x : norm(x, 'ln2');
    x = tf.add(x, lin(gelu(lin(f, L('ffn/in'))), L('ffn/out')));
    if (post) x = norm(x, 'ln2');
  }
  return post ? x : ln(x, w('final_ln/gamma'), w('final_ln/beta'), eps);
}

describe('BertEncoder against the block written in plain tf ops', () => {
  for (const [placement, gelu] of [
    ['pre', 'tanh'],
    ['pre', 'erf'],
    ['post', 'tanh'],
    ['post', 'erf'],
  ] as const) {
    it(`${placement}-LN with the ${gelu} GELU: hidden states and every weight's gradient`, () => {
      const cfg = makeConfig('tiny', {
        vocabSize: 30,
        hidden: 16,
        heads: 2,
        intermediate: 24,
        layers: 2,
        layerNormPlacement: placement,
        geluVariant: gelu,
        layerNormEps: 1e-12,
      });
      let s = 5;
      const store = new ParamStore(() => s++);
      const enc = new BertEncoder('enc', { ...cfg, initStd: 0.3 }, store);
      // LayerNorm gains and biases away from 1 and 0, so a misplaced LayerNorm cannot hide.
      for (const name of store.names('enc/'))
        if (/(gamma|beta|bias)$/.test(name))
          store.get(name).assign(tf.add(store.get(name), tf.randomNormal(store.get(name).shape, 0, 0.3, 'float32', s++)));
      const ids = tf.tensor2d(
        [
          [2, 7, 9, 11, 3, 0],
          [2, 5, 3, 8, 13, 3],
        ],
        [2, 6],
        'int32',
      );
      const segments = tf.tensor2d(
        [
          [0, 0, 0, 0, 0, 0],
          [0, 0, 0, 1, 1, 1],
        ],
        [2, 6],
        'int32',
      );
      const before = tf.memory().numTensors;
      const r = tf.randomNormal([2, 6, 16], 0, 1, 'float32', 99);
      const vars = [...store.vars.values()];
      const mine = tf.variableGrads(() => tf.sum(tf.mul(enc.forward(ids, segments, EVAL_CTX), r)) as tf.Scalar, vars);
      const ref = tf.variableGrads(() => tf.sum(tf.mul(reference(cfg, store, ids, segments), r)) as tf.Scalar, vars);
      const hm = enc.forward(ids, segments, EVAL_CTX);
      const hr = tf.tidy(() => reference(cfg, store, ids, segments));
      expect(allcloseReport(hm.dataSync(), hr.dataSync(), { rtol: 1e-4, atol: 1e-5 })).toBeNull();
      const problems = Object.keys(ref.grads).flatMap((name) => {
        const p = allcloseReport(mine.grads[name].dataSync(), ref.grads[name].dataSync(), { rtol: 1e-3, atol: 1e-5 });
        return p ? [`${name}: ${p}`] : [];
      });
      expect(problems).toEqual([]);
      expect(Object.keys(mine.grads).length).toBe(vars.length);
      tf.dispose([hm, hr, r, mine.value, ref.value, ...Object.values(mine.grads), ...Object.values(ref.grads)]);
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([ids, segments]);
      store.dispose();
    });
  }

  it('pre- and post-LN are different functions of the same-named weights', () => {
    const make = (placement: 'pre' | 'post') => {
      const cfg = makeConfig('tiny', { vocabSize: 30, layerNormPlacement: placement });
      const store = new ParamStore(() => 3);
      return { store, enc: new BertEncoder('enc', cfg, store) };
    };
    const [a, b] = [make('pre'), make('post')];
    expect(a.store.names().filter((n) => !b.store.vars.has(n))).toEqual(['enc/final_ln/gamma', 'enc/final_ln/beta']);
    expect(b.store.names().filter((n) => !a.store.vars.has(n))).toEqual(['enc/embedding_ln/gamma', 'enc/embedding_ln/beta']);
    const ids = tf.tensor2d([[2, 7, 9, 3]], [1, 4], 'int32');
    const seg = tf.zerosLike(ids) as tf.Tensor2D;
    const [ha, hb] = [a.enc.forward(ids, seg, EVAL_CTX), b.enc.forward(ids, seg, EVAL_CTX)];
    expect(allcloseReport(ha.dataSync(), hb.dataSync(), { rtol: 1e-3, atol: 1e-3 })).not.toBeNull();
    tf.dispose([ha, hb, ids, seg]);
    a.store.dispose();
    b.store.dispose();
  });
});
