import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { marginalLogLoss, spanLoss } from './span-loss';
import { MASKED_SPAN_SCORE } from './span-reader';
import { lcg } from '../testing/lcg';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// ---- The independent reference: plain float64 numbers, the gradient derived by hand ----
// For L = logsumexp_all(x) - logsumexp_correct(x), dL/dx_i = softmax_all(x)_i - [i correct] softmax_correct(x)_i.

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

function marginalRef(x: number[], correct: number[]): { loss: number; grad: number[] } {
  const idx = x.map((_, i) => i).filter((i) => correct[i] === 1);
  if (idx.length === 0) return { loss: 0, grad: x.map(() => 0) };
  const all = logSumExp(x);
  const num = logSumExp(idx.map((i) => x[i]));
  return { loss: all - num, grad: x.map((xi, i) => Math.exp(xi - all) - (correct[i] === 1 ? Math.exp(xi - num) : 0)) };
}

interface Batch {
  retr: number[][]; // [B][R]
  docCorrect: number[][]; // [B][R]
  spans: number[][][]; // [B][K][S], MASKED_SPAN_SCORE already added to masked spans
  spanCorrect: number[][][]; // [B][K][S]
  mask: number[][][]; // [B][K][S]
}

function spanLossRef(t: Batch) {
  const B = t.retr.length;
  const reader = t.spans.map((q, b) => marginalRef(q.flat(), t.spanCorrect[b].flat()));
  const retriever = t.retr.map((r, b) => marginalRef(r, t.docCorrect[b]));
  const loss = (reader.reduce((a, r) => a + r.loss, 0) + retriever.reduce((a, r) => a + r.loss, 0)) / B;
  const K = t.spans[0].length;
  const S = t.spans[0][0].length;
  const gSpans = reader.map((r) => [...Array(K)].map((_, z) => r.grad.slice(z * S, (z + 1) * S).map((g) => g / B)));
  const gRetr = retriever.map((r) => r.grad.map((g) => g / B));
  return { loss, reader: reader.map((r) => r.loss), retriever: retriever.map((r) => r.loss), gSpans, gRetr };
}

/**
 * B = 4 questions, R = 5 retrieved, K = 3 read, S = 6 spans; about a third of the spans masked out
 * (MASKED_SPAN_SCORE added, never correct). Question 1 has a correct document but no correct span;
 * question 3 has nothing correct at all.
 */
function makeBatch(seed: number, B = 4, R = 5, K = 3, S = 6): Batch {
  const r = lcg(seed);
  const retr = [...Array(B)].map(() => [...Array(R)].map(() => 4 * (r() - 0.5)));
  const mask = [...Array(B)].map(() => [...Array(K)].map(() => [...Array(S)].map(() => (r() < 0.35 ? 0 : 1))));
  const spans = mask.map((q, b) => q.map((row, z) => row.map((m) => 3 * (r() - 0.5) + retr[b][z] + (m ? 0 : MASKED_SPAN_SCORE))));
  const spanCorrect = mask.map((q) => q.map((row) => row.map((m) => (m && r() < 0.25 ? 1 : 0))));
  const docCorrect = retr.map((row) => row.map(() => (r() < 0.4 ? 1 : 0)));
  for (let b = 0; b < B; b++) {
    spanCorrect[b][0][S - 1] = mask[b][0][S - 1] = 1; // at least one correct span...
    spans[b][0][S - 1] = 3 * (r() - 0.5) + retr[b][0];
    docCorrect[b][0] = 1; // ... in a document that contains the answer
  }
  spanCorrect[1] = spanCorrect[1].map((row) => row.map(() => 0));
  spanCorrect[3] = spanCorrect[3].map((row) => row.map(() => 0));
  docCorrect[3] = docCorrect[3].map(() => 0);
  return { retr, docCorrect, spans, spanCorrect, mask };
}

function tfLoss(t: Batch) {
  const B = t.retr.length;
  const K = t.spans[0].length;
  const S = t.spans[0][0].length;
  const retr = tf.tensor2d(t.retr);
  const spans = tf.tensor3d(t.spans.flat(2), [B, K, S]);
  const docCorrect = tf.tensor2d(t.docCorrect);
  const spanCorrect = tf.tensor3d(t.spanCorrect.flat(2), [B, K, S]);
  const terms: { reader?: number[]; retriever?: number[] } = {};
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, s: tf.Tensor) => {
    const out = spanLoss(a as tf.Tensor2D, docCorrect, s as tf.Tensor3D, spanCorrect);
    terms.reader = out.readerLoss.arraySync();
    terms.retriever = out.retrieverLoss.arraySync();
    return out.loss;
  })([retr, spans]);
  const out = {
    loss: value.arraySync() as number,
    reader: terms.reader!,
    retriever: terms.retriever!,
    gRetr: grads[0].arraySync() as number[][],
    gSpans: grads[1].arraySync() as number[][][],
  };
  tf.dispose([retr, spans, docCorrect, spanCorrect, value, ...grads]);
  return out;
}

describe('spanLoss (ORQA marginal_log_loss)', () => {
  it('matches the plain-number reference: loss, both terms per question, both gradients', () => {
    for (const seed of [1, 2, 3]) {
      const batch = makeBatch(seed);
      const ref = spanLossRef(batch);
      const before = tf.memory().numTensors;
      const got = tfLoss(batch);
      expect(tf.memory().numTensors).toBe(before);
      expect(ref.loss).toBeGreaterThan(0.1);
      expectAllclose(got.loss, ref.loss, { rtol: 1e-5, atol: 1e-5 });
      expectAllclose(got.reader, ref.reader, { rtol: 1e-5, atol: 1e-5 });
      expectAllclose(got.retriever, ref.retriever, { rtol: 1e-5, atol: 1e-5 });
      expectAllclose(got.gSpans, ref.gSpans, { rtol: 1e-4, atol: 1e-6 });
      expectAllclose(got.gRetr, ref.gRetr, { rtol: 1e-4, atol: 1e-6 });
      // The zeroed terms: question 1 has no correct span, question 3 nothing correct.
      expect(got.reader[1]).toBe(0);
      expect(got.reader[3]).toBe(0);
      expect(got.retriever[3]).toBe(0);
      expect(got.reader[0]).toBeGreaterThan(0);
    }
  });

  it('the hand-derived reference gradient agrees with a finite difference of the reference loss', () => {
    const batch = makeBatch(7);
    const ref = spanLossRef(batch);
    const h = 1e-6;
    const fd = (bump: (t: Batch, d: number) => void) => {
      const plus = structuredClone(batch);
      const minus = structuredClone(batch);
      bump(plus, h);
      bump(minus, -h);
      return (spanLossRef(plus).loss - spanLossRef(minus).loss) / (2 * h);
    };
    let checked = 0;
    batch.spans.forEach((q, b) =>
      q.forEach((row, z) =>
        row.forEach((_, i) => {
          if (!batch.mask[b][z][i]) return;
          expect(fd((t, d) => (t.spans[b][z][i] += d))).toBeCloseTo(ref.gSpans[b][z][i], 6);
          checked++;
        }),
      ),
    );
    batch.retr.forEach((row, b) =>
      row.forEach((_, z) => {
        expect(fd((t, d) => (t.retr[b][z] += d))).toBeCloseTo(ref.gRetr[b][z], 6);
        checked++;
      }),
    );
    expect(checked).toBeGreaterThan(40);
  });

  it('the tf gradient agrees with a finite difference of the tf loss itself', () => {
    const batch = makeBatch(11, 4, 3, 2, 4);
    const got = tfLoss(batch);
    const h = 1e-2;
    const loss = (t: Batch) => tfLoss(t).loss;
    for (const [b, z, i] of [
      [0, 0, 3],
      [0, 1, 0],
      [1, 0, 3],
    ] as const) {
      if (!batch.mask[b][z][i]) continue;
      const plus = structuredClone(batch);
      const minus = structuredClone(batch);
      plus.spans[b][z][i] += h;
      minus.spans[b][z][i] -= h;
      expect((loss(plus) - loss(minus)) / (2 * h)).toBeCloseTo(got.gSpans[b][z][i], 3);
    }
    for (const [b, z] of [
      [0, 0],
      [1, 2],
    ] as const) {
      const plus = structuredClone(batch);
      const minus = structuredClone(batch);
      plus.retr[b][z] += h;
      minus.retr[b][z] -= h;
      expect((loss(plus) - loss(minus)) / (2 * h)).toBeCloseTo(got.gRetr[b][z], 3);
    }
  });

  it('all wrong: zero loss and an exactly zero gradient, with no NaN', () => {
    const batch = makeBatch(5);
    batch.spanCorrect = batch.spanCorrect.map((q) => q.map((row) => row.map(() => 0)));
    batch.docCorrect = batch.docCorrect.map((row) => row.map(() => 0));
    const got = tfLoss(batch);
    expect(got.loss).toBe(0);
    expect(got.reader.every((x) => x === 0)).toBe(true);
    expect(got.retriever.every((x) => x === 0)).toBe(true);
    for (const g of [...got.gSpans.flat(2), ...got.gRetr.flat()]) expect(Object.is(g, 0) || Object.is(g, -0)).toBe(true);
  });

  it('masked-out spans change nothing and get no gradient', () => {
    const batch = makeBatch(3);
    const got = tfLoss(batch);
    // Moving a masked span's raw score by +-5 leaves the loss as it was ...
    const moved = structuredClone(batch);
    moved.spans.forEach((q, b) =>
      q.forEach((row, z) => row.forEach((_, i) => !batch.mask[b][z][i] && (row[i] += 10 * (lcg(i)() - 0.5)))),
    );
    expectAllclose(tfLoss(moved).loss, got.loss, { rtol: 1e-6, atol: 1e-6 });
    // ... and equals the reference over the unmasked spans alone.
    const kept = spanLossRef({
      ...batch,
      spans: batch.spans.map((q, b) => [q.flatMap((row, z) => row.filter((_, i) => batch.mask[b][z][i]))]),
      spanCorrect: batch.spanCorrect.map((q, b) => [q.flatMap((row, z) => row.filter((_, i) => batch.mask[b][z][i]))]),
    });
    expectAllclose(got.reader, kept.reader, { rtol: 1e-5, atol: 1e-5 });
    let masked = 0;
    batch.mask.forEach((q, b) =>
      q.forEach((row, z) =>
        row.forEach((m, i) => {
          if (m) return;
          expect(got.gSpans[b][z][i]).toBe(0);
          masked++;
        }),
      ),
    );
    expect(masked).toBeGreaterThan(5);
  });

  it('refuses inconsistent shapes with a message', () => {
    const a = tf.zeros([2, 3]) as tf.Tensor2D;
    const c = tf.zeros([2, 4]) as tf.Tensor2D;
    const s = tf.zeros([2, 3, 5]) as tf.Tensor3D;
    const sc = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    expect(() => marginalLogLoss(a, c)).toThrow(/differ/);
    expect(() => spanLoss(a, a, s, sc)).toThrow(/spanCorrect/);
    expect(() => spanLoss(a, c, s, s)).toThrow(/docCorrect/);
    const few = tf.zeros([2, 2]) as tf.Tensor2D;
    expect(() => spanLoss(few, few, s, s)).toThrow(/only 2 retrieval scores/);
    tf.dispose([a, c, s, sc, few]);
  });
});
