// One retrieval-augmented step (docs/realm.md, "The model" and "Asynchronous index refresh"):
//  1. embed the queries with the current θ (inference mode, for the search only);
//  2. search the *stale* MIPS index for the top k-1 documents,
//  3. excluding the passage each query was cut from (no trivial retrieval);
//  4. the null document is candidate 0;
//  5. re-embed the chosen passages with the current Embed_doc (inside the gradient, so it is real);
//  6. p(z|x) = softmax over the k candidates of Embed_input(x) . Embed_doc(z);
//  7. the knowledge-augmented encoder reads each (x, z) pair; MLM logits at the masked positions.
// `prepareRealmBatch` does 1-4 (no gradient); `realmForward` does 5-7 and is differentiated.
import * as tf from '@tensorflow/tfjs';
import { padBatch, type ForwardCtx } from './bert';
import { SEP_ID } from '../corpus/tokenizer';
import { trivialCandidate, type DocumentStore, type RealmQuery } from '../corpus/data';
import { readerInput } from './knowledge-encoder';
import type { MipsIndex } from './mips';
import { realmLoss, type RealmLossTerms } from './realm-loss';
import type { RealmModel } from './realm-model';
import { NULL_DOC_TOKENS } from './retriever';

interface PreparedRealmBatch {
  b: number;
  k: number; // candidates including the null document
  m: number; // mask slots per query
  queryIds: tf.Tensor2D; // [B, Lq]
  querySegments: tf.Tensor2D; // [B, Lq]
  docIds: tf.Tensor2D; // [B*(k-1), Ld] retrieved passages, b-major
  docSegments: tf.Tensor2D;
  nullIds: tf.Tensor2D; // [1, Ld0] the null document
  nullSegments: tf.Tensor2D;
  readerIds: tf.Tensor2D; // [B*k, Lr] row b*k + z, z = 0 the null document
  readerSegments: tf.Tensor2D;
  positions: tf.Tensor2D; // [B*k, M] int32 mask positions (0 where padded)
  targets: Int32Array; // [B*M], -1 = padding
  /** Index rows retrieved for each query, [B][k-1] (candidate z >= 1 is retrievedRows[b][z-1]). */
  retrievedRows: number[][];
}

export function disposeBatch(batch: PreparedRealmBatch): void {
  tf.dispose([
    batch.queryIds,
    batch.querySegments,
    batch.docIds,
    batch.docSegments,
    batch.nullIds,
    batch.nullSegments,
    batch.readerIds,
    batch.readerSegments,
    batch.positions,
  ]);
}

/** `[CLS] x [SEP]` cut to maxLen tokens, keeping the final [SEP] (masks cut off become padding). */
export function cutQuery(ids: ArrayLike<number>, maxLen: number): number[] {
  const r = Array.from(ids);
  if (r.length <= maxLen) return r;
  const cut = r.slice(0, maxLen);
  cut[maxLen - 1] = SEP_ID;
  return cut;
}

/** Steps 1-4: query embedding with the current θ, stale-index search with exclusion, reader inputs. */
export async function prepareRealmBatch(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  queries: RealmQuery[],
): Promise<PreparedRealmBatch> {
  const cfg = model.config;
  const b = queries.length;
  const k = cfg.k;
  const qRows = queries.map((q) => cutQuery(q.inputIds, cfg.maxQueryLength));
  const trivial = queries.map((q) => trivialCandidate(cfg.trivialExclusion, docs, q));
  const found = tf.tidy(() => {
    const qEmb = model.embedInput.embedRows(qRows, cfg.maxQueryLength); // [B, d]
    const { indices, scores } = index.search(
      qEmb,
      k - 1,
      trivial.map((t) => t.excludeId),
    );
    scores.dispose();
    return indices; // [B, k-1]
  });
  const retrievedRows = (await found.array()) as number[][];
  found.dispose();
  const m = Math.max(1, Math.min(cfg.maxMasks, Math.max(...queries.map((q) => q.maskPositions.length))));
  const targets = new Int32Array(b * m).fill(-1);
  const pos = new Int32Array(b * k * m);
  const readerRows: Int32Array[] = [];
  const docRows: ArrayLike<number>[] = [];
  queries.forEach((q, i) => {
    const n = Math.min(m, q.maskPositions.length);
    for (let j = 0; j < n; j++) {
      if (q.maskPositions[j] < qRows[i].length - 1) targets[i * m + j] = q.targets[j];
    }
    const candidates = [NULL_DOC_TOKENS, ...retrievedRows[i].map((row) => trivial[i].tokensOf(row))];
    candidates.forEach((doc, z) => {
      if (z > 0) docRows.push(Array.from(doc).slice(0, cfg.maxDocLength));
      readerRows.push(readerInput(qRows[i], doc, cfg.maxReaderLength));
      for (let j = 0; j < n; j++) pos[(i * k + z) * m + j] = targets[i * m + j] >= 0 ? q.maskPositions[j] : 0;
    });
  });
  const qb = padBatch(qRows, cfg.maxQueryLength);
  const db = padBatch(docRows, cfg.maxDocLength);
  const nb = padBatch([NULL_DOC_TOKENS], cfg.maxDocLength);
  const rb = padBatch(readerRows, cfg.maxReaderLength);
  return {
    b,
    k,
    m,
    queryIds: qb.ids,
    querySegments: qb.segments,
    docIds: db.ids,
    docSegments: db.segments,
    nullIds: nb.ids,
    nullSegments: nb.segments,
    readerIds: rb.ids,
    readerSegments: rb.segments,
    positions: tf.tensor2d(pos, [b * k, m], 'int32'),
    targets,
    retrievedRows,
  };
}

interface RealmForward {
  retrievalScores: tf.Tensor2D; // [B, k] f(x, z), z = 0 the null document
  mlmLogits: tf.Tensor4D; // [B, k, M, V]
}

/** x in the forward pass; in the backward pass no gradient flows through it (zeros). */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: x.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * Steps 5-6: f(x,z)/τ for the k candidates, the chosen passages re-embedded with the current Embed_doc
 * (held fixed, with no gradient, when realmDocGradient is false).
 */
export function retrievalScores(model: RealmModel, batch: PreparedRealmBatch, ctx: ForwardCtx): tf.Tensor2D {
  const { b, k } = batch;
  const d = model.config.retrieverDim;
  return tf.tidy(() => {
    const docSide = model.config.realmDocGradient === false ? stopGradient : (t: tf.Tensor) => t;
    const qEmb = model.embedInput.embed(batch.queryIds, batch.querySegments, ctx); // [B, d]
    const docEmb = docSide(model.embedDoc.embed(batch.docIds, batch.docSegments, ctx)).reshape([b, k - 1, d]); // [B, k-1, d]
    const nullEmb = docSide(model.embedDoc.embed(batch.nullIds, batch.nullSegments, ctx)) as tf.Tensor2D; // [1, d]
    const nullScore = tf.matMul(qEmb, nullEmb, false, true); // [B, 1]
    const docScores = tf.sum(tf.mul(qEmb.reshape([b, 1, d]), docEmb), -1); // [B, k-1]
    const tau = model.config.retrievalTemperature ?? 1;
    const raw = tf.concat([nullScore, docScores], 1) as tf.Tensor2D; // [B, k]
    return (tau === 1 ? raw : tf.div(raw, tau)) as tf.Tensor2D; // [B, k] f(x,z)/τ
  });
}

/** Steps 5-7 with the current θ: differentiable in every parameter. */
export function realmForward(model: RealmModel, batch: PreparedRealmBatch, ctx: ForwardCtx): RealmForward {
  const { b, k, m } = batch;
  return tf.tidy(() => {
    const scores = retrievalScores(model, batch, ctx); // [B, k]
    const logits = model.reader.mlmLogits(batch.readerIds, batch.readerSegments, batch.positions, ctx); // [B*k, M, V]
    const mlmLogits = logits.reshape([b, k, m, model.config.vocabSize]) as tf.Tensor4D; // [B, k, M, V]
    return { retrievalScores: scores, mlmLogits };
  });
}

/** Per-batch statistics of a REALM forward pass (numbers, not tensors). */
export interface RealmBatchStats {
  /** Masked tokens whose marginal argmax_v sum_z p(z|x) p(v|z,x) is right, and how many there were. */
  correct: number;
  masks: number;
  meanPNull: number;
  meanRetrievalUtility: number;
  retrievalEntropy: number;
  /** p(z|x) per query, [B][k]. */
  pz: number[][];
  /** Retrieval utility per query (null for a query without a valid mask). */
  retrievalUtility: (number | null)[];
}

/** Loss terms plus the statistics the trainer reports (tensors in `terms` are the caller's to dispose). */
export function realmLossAndStats(
  fwd: RealmForward,
  batch: PreparedRealmBatch,
  mode: RealmModel['config']['marginalisation'],
): { terms: RealmLossTerms; stats: () => Promise<RealmBatchStats> } {
  const terms = realmLoss(fwd.retrievalScores, fwd.mlmLogits, batch.targets, mode);
  const { b, m } = batch;
  // Computed now (inside any enclosing gradient scope) and kept, read later.
  const kept = tf.tidy(() => {
    const pz = tf.exp(terms.logPz); // [B, k]
    const entropy = tf.neg(tf.sum(tf.mul(pz, terms.logPz), 1)); // [B]
    const marginal = tf.sum(tf.mul(pz.reshape([b, -1, 1, 1]), tf.softmax(fwd.mlmLogits, -1)), 1); // [B, M, V]
    const argmax = tf.argMax(marginal, -1); // [B, M]
    return { pz, entropy, argmax, ru: terms.retrievalUtility.clone() };
  });
  Object.values(kept).forEach((t) => tf.keep(t));
  const stats = async (): Promise<RealmBatchStats> => {
    await Promise.all(Object.values(kept).map((t) => t.data()));
    const pz = kept.pz.arraySync() as number[][];
    const entropy = kept.entropy.dataSync();
    const argmax = kept.argmax.dataSync();
    const ru = kept.ru.dataSync();
    tf.dispose(Object.values(kept));
    let correct = 0;
    let masks = 0;
    const utility: (number | null)[] = [];
    let ruSum = 0;
    let rows = 0;
    for (let i = 0; i < b; i++) {
      let valid = 0;
      for (let j = 0; j < m; j++) {
        const t = batch.targets[i * m + j];
        if (t < 0) continue;
        valid++;
        masks++;
        if (argmax[i * m + j] === t) correct++;
      }
      utility.push(valid > 0 ? ru[i] : null);
      if (valid > 0) {
        ruSum += ru[i];
        rows++;
      }
    }
    return {
      correct,
      masks,
      meanPNull: pz.reduce((a, r) => a + r[0], 0) / b,
      meanRetrievalUtility: rows > 0 ? ruSum / rows : NaN,
      retrievalEntropy: Array.from(entropy).reduce((a, x) => a + x, 0) / b,
      pz,
      retrievalUtility: utility,
    };
  };
  return { terms, stats };
}
