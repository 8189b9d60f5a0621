// `npx tsx research/diagnose-learning.ts`: the two halves of REALM's learning problem, measured apart.
//  1. Retriever after ICT: recall@5 of a passage holding the answer (held-out cloze queries, own
//     passage excluded) against what random retrieval would give, and ICT recall on held-out passages.
//  2. Reader given the GOLD document: after the MLM warm-up, train only the knowledge-augmented
//     encoder on (x, a passage holding the answer) pairs, then compare held-out token accuracy when it
//     reads that passage against the null document. If the reader cannot learn to copy here, REALM
//     cannot teach it either.
// Env: DIAG_CORPUS (synthetic | a corpus dir), DIAG_ICT, DIAG_MLM, DIAG_GOLD (steps), DIAG_LR,
// DIAG_SEED, DIAG_SHARE=1 (shared retriever BERT), DIAG_ONLY=ict|reader.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/platform/wasm-kernels';
import { EVAL_CTX, padBatch, type ForwardCtx } from '../src/model/bert';
import { makeConfig, type RealmConfig } from '../src/model/config';
import { containsSpan, type ClozeQuery, type TrainingData } from '../src/corpus/data';
import { freshIndex } from '../src/model/index-refresh';
import { readerInput } from '../src/model/knowledge-encoder';
import { AdamW, learningRateAt } from '../src/model/optimizer';
import type { RealmModel } from '../src/model/realm-model';
import { cutQuery } from '../src/model/realm-step';
import { type DocumentStore } from '../src/corpus/data';
import { recallHits } from '../src/model/evaluate';
import { NULL_DOC_TOKENS } from '../src/model/retriever';
import { Rng } from '../src/corpus/rng';
import { RealmTrainer } from '../src/model/trainer';
import { loadData } from '../scripts/corpus-loader';

const env = (k: string, d: string) => process.env[k] ?? d;
const pickGold = (docs: DocumentStore, q: ClozeQuery) =>
  env('DIAG_ORACLE', '0') === '1' ? bestGold(docs, q) : goldRows(docs, q);

/** Rows (not the query's own passage) whose tokens hold the answer span. */
function goldRows(docs: DocumentStore, q: ClozeQuery): number[] {
  const out: number[] = [];
  docs.tokens.forEach((t, r) => {
    if (docs.ids[r] !== q.sourceDocId && containsSpan(t, q.answer)) out.push(r);
  });
  return out;
}

/** Of the rows holding the answer, the one sharing the most other wordpieces with the query (an oracle retriever). */
function bestGold(docs: DocumentStore, q: ClozeQuery): number[] {
  const g = goldRows(docs, q);
  if (g.length <= 1) return g;
  const words = new Set(Array.from(q.inputIds).filter((id) => id > 4));
  const overlap = (r: number) => new Set(Array.from(docs.tokens[r]).filter((id) => words.has(id))).size;
  return [g.reduce((a, b) => (overlap(b) > overlap(a) ? b : a))];
}

/** Expected recall@5 of uniformly random retrieval among the N-1 other passages. */
function chanceRecall(docs: DocumentStore, qs: ClozeQuery[], k = 5): number {
  const n = docs.ids.length - 1;
  let s = 0;
  for (const q of qs) {
    const a = goldRows(docs, q).length;
    let miss = 1;
    for (let i = 0; i < k; i++) miss *= Math.max(0, n - a - i) / (n - i);
    s += 1 - miss;
  }
  return s / qs.length;
}

function asCloze(q: {
  inputIds: ArrayLike<number>;
  maskPositions: ArrayLike<number>;
  targets: ArrayLike<number>;
  sourceDocId: string | null;
}): ClozeQuery {
  return { ...q, answer: Array.from(q.targets) };
}

/** Reader logits at the masks for (query, doc) rows; loss = mean CE over valid masks. */
function readerLoss(model: RealmModel, rows: { q: ClozeQuery; doc: ArrayLike<number> }[], ctx: ForwardCtx) {
  const cfg = model.config;
  const m = Math.max(1, ...rows.map((r) => Math.min(cfg.maxMasks, r.q.maskPositions.length)));
  const pos = new Int32Array(rows.length * m);
  const tgt = new Int32Array(rows.length * m).fill(-1);
  const inputs = rows.map(({ q, doc }, i) => {
    const qr = cutQuery(q.inputIds, cfg.maxQueryLength);
    for (let j = 0; j < Math.min(m, q.maskPositions.length); j++) {
      if (q.maskPositions[j] < qr.length - 1) {
        pos[i * m + j] = q.maskPositions[j];
        tgt[i * m + j] = q.targets[j];
      }
    }
    return readerInput(qr, doc, cfg.maxReaderLength);
  });
  return tf.tidy(() => {
    const { ids, segments } = padBatch(inputs, cfg.maxReaderLength);
    const logits = model.reader.mlmLogits(ids, segments, tf.tensor2d(pos, [rows.length, m], 'int32'), ctx); // [B, M, V]
    const t = tf.tensor2d(tgt, [rows.length, m], 'int32');
    const valid = tf.cast(tf.greaterEqual(t, 0), 'float32');
    const safe = tf.maximum(t, tf.scalar(0, 'int32'));
    const logp = tf.sum(tf.mul(tf.logSoftmax(logits, -1), tf.oneHot(safe, cfg.vocabSize)), -1); // [B, M]
    const loss = tf.div(tf.neg(tf.sum(tf.mul(logp, valid))), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
    const right = tf.sum(tf.mul(tf.cast(tf.equal(tf.argMax(logits, -1), safe), 'float32'), valid));
    return { loss, right, n: tf.sum(valid) };
  });
}

function readerAccuracy(model: RealmModel, docs: DocumentStore, qs: ClozeQuery[], gold: boolean, rng: Rng): number {
  let right = 0;
  let n = 0;
  for (let s = 0; s < qs.length; s += 16) {
    const rows = qs.slice(s, s + 16).map((q) => {
      const g = pickGold(docs, q);
      return { q, doc: gold && g.length ? docs.tokens[g[rng.int(g.length)]] : NULL_DOC_TOKENS };
    });
    const r = readerLoss(model, rows, EVAL_CTX);
    right += r.right.dataSync()[0];
    n += r.n.dataSync()[0];
    tf.dispose([r.loss, r.right, r.n]);
  }
  return right / Math.max(1, n);
}

async function retrievalReport(t: RealmTrainer, data: TrainingData, label: string) {
  const index = await freshIndex(t.model, t.docs);
  const hits = await recallHits(t.model, index, t.docs, data.heldOut, 5);
  // The same queries with the answer written back in place of the masks: does [MASK] confuse Embed_input?
  const unmasked = data.heldOut.map((q) => {
    const ids = Array.from(q.inputIds);
    Array.from(q.maskPositions).forEach((p, j) => (ids[p] = q.targets[j]));
    return { ...q, inputIds: ids };
  });
  const hitsUnmasked = await recallHits(t.model, index, t.docs, unmasked, 5);
  const trainQs = data.queries.slice(0, 200).map(asCloze);
  const trainHits = await recallHits(t.model, index, t.docs, trainQs, 5);
  index.dispose();
  const ict = await t.ictRecall();
  console.log(
    `[${label}] held-out recall@5 ${(hits / data.heldOut.length).toFixed(3)} (chance ${chanceRecall(t.docs, data.heldOut).toFixed(3)}, unmasked ${(hitsUnmasked / data.heldOut.length).toFixed(3)}), ` +
      `train-query recall@5 ${(trainHits / trainQs.length).toFixed(3)} (chance ${chanceRecall(t.docs, trainQs).toFixed(3)}), ` +
      `ICT recall@1/5 ${ict.recallAt1.toFixed(3)}/${ict.recallAt5.toFixed(3)}`,
  );
}

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  await tf.setBackend('wasm');
  await tf.ready();
  const seed = Number(env('DIAG_SEED', '1'));
  const data = loadData(env('DIAG_CORPUS', 'synthetic'), seed);
  const base: Partial<RealmConfig> = {
    vocabSize: data.vocabSize,
    seed,
    batchSize: 8,
    k: 8,
    learningRate: Number(env('DIAG_LR', '1e-3')),
    shareRetrieverWeights: env('DIAG_SHARE', '0') === '1',
    ...(process.env.DIAG_HIDDEN
      ? {
          hidden: Number(env('DIAG_HIDDEN', '')),
          intermediate: 2 * Number(env('DIAG_HIDDEN', '')),
          heads: Number(env('DIAG_HEADS', '2')),
        }
      : {}),
    ...(process.env.DIAG_LAYERS ? { layers: Number(env('DIAG_LAYERS', '')) } : {}),
  };
  const only = env('DIAG_ONLY', '');
  console.log(`${data.passages.length} passages, ${data.queries.length} queries, ${data.heldOut.length} held-out`);
  if (only !== 'reader') {
    const ictSteps = Number(env('DIAG_ICT', '300'));
    const t = new RealmTrainer({ config: makeConfig('tiny', { ...base, ictSteps, mlmSteps: 0, realmSteps: 0 }), data });
    await retrievalReport(t, data, 'init');
    const t0 = performance.now();
    while (!t.done) {
      const m = (await t.step())!;
      if (m.step % 100 === 0) {
        process.stderr.write(
          `ict ${m.step} loss ${m.loss.toFixed(3)} acc ${t.lastDetail.ictAccuracy?.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
      }
    }
    await retrievalReport(t, data, `after ICT ${ictSteps}`);
    t.dispose();
  }
  if (only !== 'ict') {
    const mlmSteps = Number(env('DIAG_MLM', '300'));
    const goldSteps = Number(env('DIAG_GOLD', '400'));
    const t = new RealmTrainer({ config: makeConfig('tiny', { ...base, ictSteps: 0, mlmSteps, realmSteps: 0 }), data });
    const t0 = performance.now();
    while (!t.done) {
      const m = (await t.step())!;
      if (m.step % 100 === 0)
        process.stderr.write(
          `mlm ${m.step} loss ${m.loss.toFixed(3)} acc ${m.mlmAccuracy.toFixed(2)} (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`,
        );
    }
    const rng = new Rng(seed + 99);
    const model = t.model;
    const held = data.heldOut;
    const report = (label: string) =>
      console.log(
        `[${label}] held-out token acc: gold doc ${readerAccuracy(model, t.docs, held, true, new Rng(5)).toFixed(3)}, null doc ${readerAccuracy(model, t.docs, held, false, new Rng(5)).toFixed(3)}`,
      );
    report(`after MLM ${mlmSteps}`);
    const train = data.queries.map(asCloze).filter((q) => goldRows(t.docs, q).length > 0);
    const vars = new Map([...model.variables()].filter(([n]) => n.startsWith('reader/')));
    const byTf = new Map([...vars].map(([n, v]) => [v.name, n]));
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-6, weightDecay: 0.01, clipNorm: 1 });
    const cfg = model.config;
    for (let step = 0; step < goldSteps; step++) {
      const rows = Array.from({ length: cfg.batchSize }, () => {
        const q = train[rng.int(train.length)];
        const g = pickGold(t.docs, q);
        return { q, doc: t.docs.tokens[g[rng.int(g.length)]] };
      });
      const ctx: ForwardCtx = { training: true, seed: () => rng.nextUint32() };
      let extra: tf.Tensor[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const r = readerLoss(model, rows, ctx);
        extra = [tf.keep(r.right), tf.keep(r.n)];
        return r.loss;
      }, [...vars.values()]);
      await opt.apply(
        vars,
        new Map(Object.entries(grads).map(([k, g]) => [byTf.get(k)!, g])),
        learningRateAt(step, goldSteps, cfg.learningRate, 0.1),
      );
      if ((step + 1) % 100 === 0) process.stderr.write(`gold ${step + 1} loss ${value.dataSync()[0].toFixed(3)}\n`);
      tf.dispose([value, ...Object.values(grads), ...extra]);
    }
    report(`after gold-doc reader training ${goldSteps}`);
    opt.dispose();
    t.dispose();
  }
}

void main();
