import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLS_ID, PAD_ID, SEP_ID } from '../corpus/tokenizer';
import { expectAllclose } from '../testing/allclose';
import { EVAL_CTX, padBatch, ParamStore } from './bert';
import { makeConfig } from './config';
import { readerInput } from './knowledge-encoder';
import { RealmModel } from './realm-model';
import { spanLoss } from './span-loss';
import { documentBody, MASKED_SPAN_SCORE, spanCandidates, spanMask, SpanReader, type SpanCandidates } from './span-reader';
import { lcg } from '../testing/lcg';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const QUERY = [CLS_ID, 10, 11, SEP_ID]; // [CLS] x [SEP]
const DOC = [CLS_ID, 20, 21, SEP_ID, 30, 31, 32, SEP_ID]; // [CLS] title [SEP] body [SEP]
// readerInput(QUERY, DOC): [CLS] 10 11 [SEP] 20 21 [SEP] 30 31 32 [SEP]; the body is positions 7..9.

/** The spans (s, e) with lo <= s <= e <= hi and width <= w, as "s-e" strings. */
function spansWithin(lo: number, hi: number, w: number): string[] {
  const out: string[] = [];
  for (let s = lo; s <= hi; s++) for (let e = s; e <= Math.min(hi, s + w - 1); e++) out.push(`${s}-${e}`);
  return out.sort();
}

function unmasked(mask: Float32Array, c: SpanCandidates): string[] {
  return [...mask].flatMap((m, i) => (m ? [`${c.starts[i]}-${c.ends[i]}`] : [])).sort();
}

describe('span candidates and the document-body mask', () => {
  it('lists every span of width 1..W in ORQA order', () => {
    const c = spanCandidates(4, 2);
    expect([...c.starts]).toEqual([0, 1, 2, 3, 0, 1, 2]);
    expect([...c.ends]).toEqual([0, 1, 2, 3, 1, 2, 3]);
    expect(spanCandidates(3).starts.length).toBe(6); // widths past the row are skipped
    expect(spanCandidates(20).starts.length).toBe(155); // sum_{w=1..10} (21 - w)
    expect(() => spanCandidates(0)).toThrow(/length/);
    expect(() => spanCandidates(5, 0)).toThrow(/maxSpanWidth/);
  });

  it('scores only spans inside the body: never the question, the title, a [SEP] or padding', () => {
    const ids = [...readerInput(QUERY, DOC, 64), PAD_ID, PAD_ID, PAD_ID];
    expect(ids).toEqual([CLS_ID, 10, 11, SEP_ID, 20, 21, SEP_ID, 30, 31, 32, SEP_ID, PAD_ID, PAD_ID, PAD_ID]);
    expect(documentBody(ids)).toEqual({ start: 7, end: 10 });
    const c = spanCandidates(ids.length);
    const mask = spanMask(ids, c);
    expect(unmasked(mask, c)).toEqual(spansWithin(7, 9, 10));
    const score = (s: number, e: number) => mask[[...c.starts].findIndex((x, i) => x === s && c.ends[i] === e)];
    expect(score(6, 7)).toBe(0); // crosses the [SEP] before the body
    expect(score(9, 10)).toBe(0); // crosses the closing [SEP]
    expect(score(4, 5)).toBe(0); // the title
    expect(score(5, 8)).toBe(0); // title into body
    expect(score(1, 2)).toBe(0); // the question
    expect(score(11, 12)).toBe(0); // padding
    expect(score(7, 9)).toBe(1);
  });

  it('follows a body cut by readerInput, an empty body and a missing title', () => {
    const cut = readerInput(QUERY, DOC, 9); // [CLS] 10 11 [SEP] 20 21 [SEP] 30 [SEP]
    const c = spanCandidates(cut.length);
    expect(unmasked(spanMask(cut, c), c)).toEqual(['7-7']);
    const empty = readerInput(QUERY, [CLS_ID, 20, SEP_ID, SEP_ID], 64); // a document with no body
    expect(unmasked(spanMask(empty, spanCandidates(empty.length)), spanCandidates(empty.length))).toEqual([]);
    const untitled = readerInput(QUERY, [CLS_ID, SEP_ID, 30, 31, SEP_ID], 64); // [CLS] 10 11 [SEP] [SEP] 30 31 [SEP]
    const cu = spanCandidates(untitled.length);
    expect(unmasked(spanMask(untitled, cu), cu)).toEqual(spansWithin(5, 6, 10));
    // Wide bodies: nothing wider than W.
    const long = readerInput(QUERY, [CLS_ID, 20, SEP_ID, ...Array.from({ length: 14 }, (_, i) => 30 + i), SEP_ID], 64);
    const cl = spanCandidates(long.length, 10);
    expect(unmasked(spanMask(long, cl), cl)).toEqual(spansWithin(6, 19, 10));
    expect(() => documentBody([CLS_ID, 10, SEP_ID, 20, SEP_ID])).toThrow(/has 2 \[SEP\]/);
  });
});

// ---- The plain-number span scorer: the independent reference ----

interface HeadWeights {
  ws: number[][];
  bs: number[];
  we: number[][];
  be: number[];
  gamma: number[];
  beta: number[];
  wo: number[][];
  bo: number[];
}

function plainSpanLogits(
  h: number[][][],
  c: SpanCandidates,
  mask: number[][],
  r: number[],
  w: HeadWeights,
  eps: number,
): number[][] {
  const H = w.bs.length;
  const proj = (x: number[], k: number[][], b: number[]) => b.map((bj, j) => bj + x.reduce((a, xi, i) => a + xi * k[i][j], 0));
  return h.map((row, n) =>
    [...c.starts].map((s, i) => {
      const ps = proj(row[s], w.ws, w.bs);
      const pe = proj(row[c.ends[i]], w.we, w.be);
      const v = ps.map((x, j) => Math.max(0, x + pe[j]));
      const mean = v.reduce((a, x) => a + x, 0) / H;
      const variance = v.reduce((a, x) => a + (x - mean) ** 2, 0) / H;
      const ln = v.map((x, j) => ((x - mean) / Math.sqrt(variance + eps)) * w.gamma[j] + w.beta[j]);
      const out = ln.reduce((a, x, j) => a + x * w.wo[j][0], w.bo[0]);
      return out + (1 - mask[n][i]) * MASKED_SPAN_SCORE + r[n];
    }),
  );
}

function randomHead(reader: SpanReader, store: ParamStore, seed: number): HeadWeights {
  const r = lcg(seed);
  const set = (name: string) => {
    const v = store.get(`span/${name}`);
    const vals = Array.from({ length: v.size }, () => r() - 0.5);
    tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
    return v.arraySync();
  };
  expect(reader.paramNames().sort()).toEqual(
    ['end/bias', 'end/kernel', 'ln/beta', 'ln/gamma', 'output/bias', 'output/kernel', 'start/bias', 'start/kernel'].map(
      (n) => `span/${n}`,
    ),
  );
  return {
    ws: set('start/kernel') as number[][],
    bs: set('start/bias') as number[],
    we: set('end/kernel') as number[][],
    be: set('end/bias') as number[],
    gamma: set('ln/gamma') as number[],
    beta: set('ln/beta') as number[],
    wo: set('output/kernel') as number[][],
    bo: set('output/bias') as number[],
  };
}

describe('SpanReader.spanLogits', () => {
  const cfg = makeConfig('tiny', { vocabSize: 50, hidden: 6, heads: 2, intermediate: 8 });
  const N = 2;
  const L = 7;
  const c = spanCandidates(L, 3);
  const S = c.starts.length;
  const r = lcg(3);
  const h = [...Array(N)].map(() => [...Array(L)].map(() => [...Array(cfg.hidden)].map(() => 2 * (r() - 0.5))));
  const mask = [...Array(N)].map(() => [...Array(S)].map(() => (r() < 0.3 ? 0 : 1)));
  const retr = [1.5, -0.7];

  it('matches the plain-number scorer: projections, ReLU, LayerNorm, linear, mask and retrieval score', () => {
    const store = new ParamStore(() => 5);
    const reader = new SpanReader(cfg, store);
    const w = randomHead(reader, store, 9);
    const before = tf.memory().numTensors;
    const ht = tf.tensor3d(h);
    const mt = tf.tensor2d(mask);
    const rt = tf.tensor1d(retr);
    const out = reader.spanLogits(ht, c, mt, rt);
    expect(out.shape).toEqual([N, S]);
    const got = out.arraySync();
    tf.dispose([ht, mt, rt, out]);
    expect(tf.memory().numTensors).toBe(before);
    const want = plainSpanLogits(h, c, mask, retr, w, cfg.layerNormEps);
    expectAllclose(got, want, { rtol: 1e-4, atol: 1e-3 });
    // Masked spans sit near MASKED_SPAN_SCORE; unmasked ones are ordinary numbers.
    got.forEach((row, n) => row.forEach((x, i) => expect(mask[n][i] ? Math.abs(x) < 100 : x < -9000).toBe(true)));
    store.dispose();
  });

  it('has the gradient of the plain-number scorer (finite differences) in the token states and the weights', () => {
    const store = new ParamStore(() => 5);
    const reader = new SpanReader(cfg, store);
    const w = randomHead(reader, store, 4);
    const coef = [...Array(N)].map(() => [...Array(S)].map(() => r() - 0.5));
    const objective = (hh: number[][][], ww: HeadWeights) =>
      plainSpanLogits(hh, c, mask, retr, ww, cfg.layerNormEps).reduce(
        (a, row, n) => a + row.reduce((b, x, i) => b + x * coef[n][i], 0),
        0,
      );
    const ht = tf.tensor3d(h);
    const mt = tf.tensor2d(mask);
    const rt = tf.tensor1d(retr);
    const ct = tf.tensor2d(coef);
    const names = ['start/kernel', 'end/bias', 'ln/gamma', 'ln/beta', 'output/kernel'];
    const f = () => tf.sum(tf.mul(reader.spanLogits(ht, c, mt, rt), ct)) as tf.Scalar;
    const { grads } = tf.variableGrads(
      f,
      names.map((n) => store.get(`span/${n}`)),
    );
    const gh = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(reader.spanLogits(x as tf.Tensor3D, c, mt, rt), ct)))(ht);
    const eps = 1e-6;
    const fd = (bump: (hh: number[][][], ww: HeadWeights, d: number) => void) => {
      const [h1, w1, h2, w2] = [structuredClone(h), structuredClone(w), structuredClone(h), structuredClone(w)];
      bump(h1, w1, eps);
      bump(h2, w2, -eps);
      return (objective(h1, w1) - objective(h2, w2)) / (2 * eps);
    };
    const ghv = gh.arraySync() as number[][][];
    for (const [n, l, k] of [
      [0, 0, 0],
      [0, 3, 2],
      [1, 6, 5],
      [1, 2, 1],
    ])
      expect(ghv[n][l][k]).toBeCloseTo(
        fd((hh, _w, d) => (hh[n][l][k] += d)),
        3,
      );
    const g = (name: string) => grads[store.get(`span/${name}`).name].arraySync() as number[] | number[][];
    expect((g('start/kernel') as number[][])[1][2]).toBeCloseTo(
      fd((_h, ww, d) => (ww.ws[1][2] += d)),
      3,
    );
    expect((g('end/bias') as number[])[4]).toBeCloseTo(
      fd((_h, ww, d) => (ww.be[4] += d)),
      3,
    );
    expect((g('ln/gamma') as number[])[0]).toBeCloseTo(
      fd((_h, ww, d) => (ww.gamma[0] += d)),
      3,
    );
    expect((g('ln/beta') as number[])[3]).toBeCloseTo(
      fd((_h, ww, d) => (ww.beta[3] += d)),
      3,
    );
    expect((g('output/kernel') as number[][])[5][0]).toBeCloseTo(
      fd((_h, ww, d) => (ww.wo[5][0] += d)),
      3,
    );
    tf.dispose([ht, mt, rt, ct, gh, ...Object.values(grads)]);
    store.dispose();
  });

  it('refuses a mask, scores or candidates that do not fit the token states', () => {
    const store = new ParamStore(() => 5);
    const reader = new SpanReader(cfg, store);
    const ht = tf.zeros([N, L, cfg.hidden]) as tf.Tensor3D;
    const mt = tf.ones([N, S]) as tf.Tensor2D;
    const rt = tf.zeros([N]) as tf.Tensor1D;
    const bad = tf.ones([N, S + 1]) as tf.Tensor2D;
    const r1 = tf.zeros([1]) as tf.Tensor1D;
    expect(() => reader.spanLogits(ht, c, bad, rt)).toThrow(/span mask/);
    expect(() => reader.spanLogits(ht, c, mt, r1)).toThrow(/retrieval scores/);
    const wide = spanCandidates(L + 1, 3);
    const wm = tf.ones([N, wide.starts.length]) as tf.Tensor2D;
    expect(() => reader.spanLogits(ht, wide, wm, rt)).toThrow(/ends past/);
    tf.dispose([ht, mt, rt, bad, r1, wm]);
    store.dispose();
  });
});

describe('RealmModel with the span reader', () => {
  it('holds span/ weights only when config.spanReader asks, and starts from a pre-trained model', async () => {
    const plain = new RealmModel(makeConfig('tiny', { vocabSize: 50 }), () => 1);
    expect(plain.spanReader).toBeNull();
    expect([...plain.variables().keys()].some((n) => n.startsWith('span/'))).toBe(false);
    const withSpans = new RealmModel(makeConfig('tiny', { vocabSize: 50, spanReader: true }), () => 2);
    expect(withSpans.spanReader).not.toBeNull();
    expect([...withSpans.variables().keys()].filter((n) => n.startsWith('span/'))).toHaveLength(8);
    // A pre-trained model's weights load into it; the span head keeps its fresh initialisation.
    const spanBefore = withSpans.store.get('span/start/kernel').arraySync();
    withSpans.setWeights(await plain.getWeights());
    expectAllclose(
      withSpans.store.get('reader/layer0/ffn/in/kernel').arraySync(),
      plain.store.get('reader/layer0/ffn/in/kernel').arraySync(),
    );
    expect(withSpans.store.get('span/start/kernel').arraySync()).toEqual(spanBefore);
    plain.dispose();
    withSpans.dispose();
  });

  it('reads real reader inputs into span logits and the span loss trains the span scorer and the reader', () => {
    const model = new RealmModel(makeConfig('tiny', { vocabSize: 50, spanReader: true }), () => 2);
    const before = tf.memory().numTensors;
    const rows = [
      readerInput(QUERY, DOC, 64),
      readerInput(QUERY, [CLS_ID, 22, SEP_ID, 33, 34, 35, 36, SEP_ID], 64),
      readerInput(QUERY, [CLS_ID, SEP_ID, SEP_ID], 64), // the null document: nothing to read
    ];
    const { ids, segments, length } = padBatch(rows, 64);
    const c = spanCandidates(length);
    const masks = rows.map((row) => spanMask(row, c));
    const correct = new Float32Array(rows.length * c.starts.length);
    const at = [...c.starts].findIndex((s, i) => s === 8 && c.ends[i] === 9); // "31 32" in the first document
    correct[at] = 1;
    const mask = tf.tensor2d(Float32Array.from(masks.flatMap((m) => [...m])), [rows.length, c.starts.length]);
    const retr = tf.tensor1d([0.3, -0.2, 0]);
    const logits = model.spanReader!.read(model.reader, ids, segments, c, mask, retr, EVAL_CTX);
    expect(logits.shape).toEqual([3, c.starts.length]);
    const vals = logits.arraySync();
    vals.forEach((row, n) =>
      row.forEach((x, i) => expect(masks[n][i] ? Number.isFinite(x) && Math.abs(x) < 100 : x < -9000).toBe(true)),
    );
    logits.dispose();
    const S = c.starts.length;
    const docCorrect = tf.tensor2d([[1, 0, 0]]);
    const spanCorrect = tf.tensor3d(correct, [1, 3, S]);
    const vars = ['span/start/kernel', 'span/output/kernel', 'reader/layer1/ffn/out/kernel'].map((n) => model.store.get(n));
    const { value, grads } = tf.variableGrads(() => {
      const l = model.spanReader!.read(model.reader, ids, segments, c, mask, retr, EVAL_CTX).reshape([1, 3, S]) as tf.Tensor3D;
      const terms = spanLoss(retr.reshape([1, 3]), docCorrect, l, spanCorrect);
      tf.dispose([terms.readerLoss, terms.retrieverLoss]);
      return terms.loss;
    }, vars);
    expect(value.arraySync()).toBeGreaterThan(0);
    for (const g of Object.values(grads)) expect(tf.tidy(() => tf.norm(g).arraySync())).toBeGreaterThan(0);
    tf.dispose([ids, segments, mask, retr, docCorrect, spanCorrect, value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('on the wasm backend (the page)', () => {
  it('gives the span loss gradient the cpu backend gives (every kernel and gradient exists there)', async () => {
    const cfg = makeConfig('tiny', { vocabSize: 50, hidden: 6, heads: 2, intermediate: 8 });
    const r = lcg(21);
    const [N, L] = [3, 9];
    const c = spanCandidates(L, 4);
    const S = c.starts.length;
    const h = Array.from({ length: N * L * cfg.hidden }, () => r() - 0.5);
    const mask = Array.from({ length: N * S }, () => (r() < 0.3 ? 0 : 1));
    const correct = mask.map((m) => (m && r() < 0.2 ? 1 : 0));
    const run = () => {
      const store = new ParamStore(() => 8);
      const reader = new SpanReader(cfg, store);
      const out = tf.tidy(() => {
        const ht = tf.tensor3d(h, [N, L, cfg.hidden]);
        const mt = tf.tensor2d(mask, [N, S]);
        const rt = tf.tensor1d([0.2, -0.4, 0.9]);
        const sc = tf.tensor3d(correct, [1, N, S]);
        const dc = tf.tensor2d([[1, 0, 1]]);
        const f = (x: tf.Tensor) =>
          spanLoss(rt.reshape([1, N]), dc, reader.spanLogits(x as tf.Tensor3D, c, mt, rt).reshape([1, N, S]) as tf.Tensor3D, sc)
            .loss;
        const { value, grad } = tf.valueAndGrad(f)(ht);
        const { grads } = tf.variableGrads(() => f(ht), [store.get('span/start/kernel')]);
        return [value, grad, ...Object.values(grads)].map((t) => Array.from(t.dataSync()));
      });
      store.dispose();
      return out;
    };
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    expect(await tf.setBackend('wasm')).toBe(true);
    try {
      const wasm = run();
      await tf.setBackend('cpu');
      const cpu = run();
      expect(wasm[0][0]).toBeGreaterThan(0);
      for (let i = 0; i < cpu.length; i++) expectAllclose(wasm[i], cpu[i], { rtol: 1e-4, atol: 1e-5 });
    } finally {
      await tf.setBackend('cpu');
    }
  });
});
