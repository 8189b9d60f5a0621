import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllclose } from '../testing/allclose';
import { EVAL_CTX } from './bert';
import { MASK_ID } from '../corpus/tokenizer';
import type { RealmConfig } from './config';
import { microConfig as sharedMicroConfig } from '../testing/micro-config';
import { documentStore, maskSpan, syntheticWorld, type TrainingData } from '../corpus/data';
import { freshIndex } from './index-refresh';
import { InspectionError, inspectQuery, queryFromTypedText } from './inspection';
import type { MipsIndex } from './mips';
import { realmLossReference } from './realm-loss-reference';
import { RealmModel } from './realm-model';
import { disposeBatch, prepareRealmBatch, realmForward } from './realm-step';
import { type DocumentStore, type RealmQuery } from '../corpus/data';
import { Rng } from '../corpus/rng';
import { WordPieceTokenizer } from '../corpus/tokenizer';

function microConfig(data: TrainingData, over: Partial<RealmConfig> = {}): RealmConfig {
  return sharedMicroConfig(data, {
    k: 4,
    ...over,
  });
}

let data: TrainingData;
let model: RealmModel;
let docs: DocumentStore;
let index: MipsIndex;
/** A query with two masked tokens ("person e0 , year [MASK] [MASK]"), from passage p0b. */
let twoMasks: RealmQuery;

beforeAll(async () => {
  await tf.setBackend('cpu');
  data = syntheticWorld(6, { seedRng: new Rng(4) });
  const cfg = microConfig(data, { retrievalTemperature: 2 });
  const rng = new Rng(21);
  model = new RealmModel(cfg, () => rng.nextUint32());
  docs = documentStore(data.passages, cfg.maxDocLength);
  index = await freshIndex(model, docs, 3);
  twoMasks = maskSpan(data.passages[1].sentences[1], 4, 6, data.passages[1].id);
});

afterAll(() => {
  index.dispose();
  model.dispose();
});

/** Scores f(x,z)/τ [k] and MLM logits [k][M][V] of the same query, straight from the training code. */
async function trainingForward(q: RealmQuery) {
  const batch = await prepareRealmBatch(model, index, docs, [q]);
  const fwd = realmForward(model, batch, EVAL_CTX);
  const scores = ((await fwd.retrievalScores.array()) as number[][])[0];
  const logits = ((await fwd.mlmLogits.array()) as number[][][][])[0];
  tf.dispose([fwd.retrievalScores, fwd.mlmLogits]);
  const rows = batch.retrievedRows[0];
  disposeBatch(batch);
  return { scores, logits, rows };
}

const logSoftmax = (xs: number[]) => {
  const mx = Math.max(...xs);
  const l = mx + Math.log(xs.reduce((s, x) => s + Math.exp(x - mx), 0));
  return xs.map((x) => x - l);
};

describe('inspectQuery', () => {
  it('returns the null document and the k-1 retrieved rows (source excluded) with p(z|x) summing to 1', async () => {
    const q = data.queries[0];
    const r = await inspectQuery(model, index, docs, q);
    expect(r.k).toBe(4);
    expect(r.indexVersion).toBe(3);
    expect(r.candidates).toHaveLength(4);
    expect(r.candidates[0]).toMatchObject({
      z: 0,
      row: null,
      docId: null,
      staleRank: null,
      currentRank: null,
      agrees: null,
      utility: 0,
    });
    const { rows, scores } = await trainingForward(q);
    expect(r.candidates.slice(1).map((c) => c.row)).toEqual(rows);
    expect(r.candidates.map((c) => c.docId)).not.toContain(q.sourceDocId);
    expectAllclose(
      r.candidates.reduce((s, c) => s + c.pz, 0),
      1,
      { rtol: 1e-5 },
    );
    // p(z|x) = softmax(f/τ) with τ = 2, and `score` is f itself.
    expect(r.temperature).toBe(2);
    expectAllclose(
      r.candidates.map((c) => c.score),
      scores.map((s) => s * 2),
      { rtol: 1e-5, atol: 1e-6 },
    );
    expectAllclose(
      r.candidates.map((c) => c.pz),
      logSoftmax(scores).map(Math.exp),
      { rtol: 1e-4, atol: 1e-6 },
    );
  });

  it('the marginal p(y_j|x) of each target is exp of the per-mask term of the reference loss, from the same logits', async () => {
    const r = await inspectQuery(model, index, docs, twoMasks);
    const { scores, logits } = await trainingForward(twoMasks);
    expect(r.masks).toHaveLength(2);
    const targets = Array.from(twoMasks.targets);
    targets.forEach((t, j) => {
      // Only mask j valid: the reference's per-mask loss is -log p(y_j|x).
      const only = targets.map((u, i) => (i === j ? u : -1));
      const ref = realmLossReference([scores], [logits], [only], 'per-mask');
      expectAllclose(r.masks[j].pMarginal!, Math.exp(-ref.loss), { rtol: 1e-4, atol: 1e-7 });
      expect(r.masks[j].target).toBe(t);
      // p(y_j|z,x) per candidate, and the null-only probability
      const perZ = logits.map((zl) => Math.exp(logSoftmax(zl[j])[t]));
      expectAllclose(
        r.candidates.map((c) => c.pTarget[j]!),
        perZ,
        { rtol: 1e-4, atol: 1e-7 },
      );
      expectAllclose(r.masks[j].pNullOnly!, perZ[0], { rtol: 1e-4, atol: 1e-7 });
    });
    // The query's utility is the training statistic; each candidate's is mean_j log p(y_j|z) - log p(y_j|null).
    const ref = realmLossReference([scores], [logits], [targets], 'per-mask');
    expect(r.marginalisation).toBe('per-mask');
    expectAllclose(r.retrievalUtility!, ref.retrievalUtility[0]!, { rtol: 1e-4, atol: 1e-6 });
    expectAllclose(r.logLikelihood!, -ref.loss, { rtol: 1e-4, atol: 1e-6 });
    const lp = logits.map((zl) => targets.map((t, j) => logSoftmax(zl[j])[t]));
    expectAllclose(
      r.candidates.map((c) => c.utility!),
      lp.map((row) => (row[0] - lp[0][0] + row[1] - lp[0][1]) / 2),
      { rtol: 1e-4, atol: 1e-5 },
    );
  });

  it('lists the top-5 tokens of the marginal and of the null document, sorted and consistent with the probabilities', async () => {
    const r = await inspectQuery(model, index, docs, twoMasks, { topN: 5 });
    const { scores, logits } = await trainingForward(twoMasks);
    const pz = logSoftmax(scores).map(Math.exp);
    r.masks.forEach((mask, j) => {
      const probs = logits.map((zl) => logSoftmax(zl[j]).map(Math.exp)); // [k][V]
      const marginal = probs[0].map((_, v) => probs.reduce((s, pzv, z) => s + pz[z] * pzv[v], 0));
      for (const [list, dist] of [
        [mask.top, marginal],
        [mask.topNullOnly, probs[0]],
      ] as const) {
        expect(list).toHaveLength(5);
        const ps = list.map((t) => t.p);
        expect(ps).toEqual([...ps].sort((a, b) => b - a));
        expectAllclose(
          ps,
          list.map((t) => dist[t.id]),
          { rtol: 1e-4, atol: 1e-7 },
        );
        // nothing outside the list beats its last entry
        const ids = new Set(list.map((t) => t.id));
        const best = Math.max(...dist.filter((_, v) => !ids.has(v)));
        expect(best).toBeLessThanOrEqual(ps[4] + 1e-6);
      }
      // the target's marginal probability is where it belongs in the list
      const inList = mask.top.find((t) => t.id === mask.target);
      if (inList) expectAllclose(inList.p, mask.pMarginal!, { rtol: 1e-4 });
      else expect(mask.pMarginal!).toBeLessThanOrEqual(mask.top[4].p + 1e-6);
    });
  });

  it('compares the stale ranking with the current one after Embed_doc moved', async () => {
    const cfg = microConfig(data, { k: 6 });
    const rng = new Rng(5);
    const m2 = new RealmModel(cfg, () => rng.nextUint32());
    const stale = await freshIndex(m2, docs, 1);
    // Move Embed_doc's projection: the index is now stale.
    const kernel = m2.store.get('embed_doc/projection/kernel');
    const noise = tf.randomNormal(kernel.shape, 0, 0.5, 'float32', 7);
    kernel.assign(tf.add(kernel, noise));
    noise.dispose();
    const q = data.queries[2];
    const r = await inspectQuery(m2, stale, docs, q);
    const retrieved = r.candidates.slice(1);
    expect(retrieved.map((c) => c.staleRank)).toEqual([1, 2, 3, 4, 5]);
    expect([...retrieved.map((c) => c.currentRank)].sort()).toEqual([1, 2, 3, 4, 5]);
    const byCurrent = [...retrieved].sort((a, b) => a.currentRank! - b.currentRank!);
    const s = byCurrent.map((c) => c.score);
    expect(s).toEqual([...s].sort((a, b) => b - a));
    retrieved.forEach((c) => expect(c.agrees).toBe(c.staleRank === c.currentRank));
    // With the unmoved model (a fresh index) the stale and current orders agree up to float noise.
    stale.dispose();
    m2.dispose();
    const fresh = await inspectQuery(model, index, docs, q);
    const fs = fresh.candidates.slice(1).map((c) => c.score);
    expect(fs.every((x, i) => i === 0 || fs[i - 1] >= x - 1e-5)).toBe(true);
  });

  it('reports the top-5 but no target probability for a mask of unknown target, and leaks no tensor', async () => {
    const q: RealmQuery = { inputIds: [2, 7, 8, MASK_ID, 9, 3], maskPositions: [3], targets: [-1], sourceDocId: null };
    await inspectQuery(model, index, docs, q); // warm-up (kernels, caches)
    const before = tf.memory().numTensors;
    const r = await inspectQuery(model, index, docs, q);
    await inspectQuery(model, index, docs, twoMasks);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.masks[0]).toMatchObject({ target: -1, pMarginal: null, pNullOnly: null, inWindow: true });
    expect(r.masks[0].top).toHaveLength(5);
    expect(r.retrievalUtility).toBeNull();
    expect(r.candidates.every((c) => c.utility === null && c.pTarget[0] === null)).toBe(true);
    expectAllclose(
      r.candidates.reduce((s, c) => s + c.pz, 0),
      1,
      { rtol: 1e-5 },
    );
  });

  it('refuses a query without a mask, with a message saying what to do', async () => {
    const q: RealmQuery = { inputIds: [2, 7, 3], maskPositions: [], targets: [], sourceDocId: null };
    await expect(inspectQuery(model, index, docs, q)).rejects.toThrow(InspectionError);
    await expect(inspectQuery(model, index, docs, q)).rejects.toThrow(/\[MASK\]/);
  });
});

describe('queryFromTypedText', () => {
  const tok = new WordPieceTokenizer([
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    'paris',
    'is',
    'the',
    'capital',
    'of',
    'fr',
    '##ance',
    '.',
  ]);
  it('masks one unknown wordpiece per [MASK] without an answer', () => {
    const q = queryFromTypedText(tok, 'Paris is the [MASK] of [mask].');
    expect(q.inputIds).toEqual([2, 5, 6, 7, MASK_ID, 9, MASK_ID, 12, 3]);
    expect(q.maskPositions).toEqual([4, 6]);
    expect(q.targets).toEqual([-1, -1]);
    expect(q.sourceDocId).toBeNull();
  });
  it('expands a single [MASK] to the answer wordpieces, with them as targets', () => {
    const q = queryFromTypedText(tok, 'Paris is the capital of [MASK].', 'France');
    expect(q.inputIds).toEqual([2, 5, 6, 7, 8, 9, MASK_ID, MASK_ID, 12, 3]);
    expect(q.maskPositions).toEqual([6, 7]);
    expect(q.targets).toEqual([10, 11]);
    expect(q.answer).toEqual([10, 11]);
  });
  it('says what to do when the sentence cannot be a query', () => {
    expect(() => queryFromTypedText(tok, 'Paris is the capital of France.')).toThrow(/\[MASK\]/);
    expect(() => queryFromTypedText(tok, '[MASK] is the capital of [MASK].', 'France')).toThrow(/exactly one/);
    expect(() => queryFromTypedText(tok, 'Paris is the capital of [MASK].', '', 5)).toThrow(/shorten/);
  });
});
