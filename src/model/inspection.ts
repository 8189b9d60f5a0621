// The per-masked-token retrieval inspector: for one masked query x, what the REALM step
// retrieves and how each candidate z changes the prediction of each masked token. It runs the same
// code as a training step (prepareRealmBatch + realmForward, in inference mode: no dropout) on a
// batch of one, so every number is the one training would see:
//
//   candidates   z = 0 the null document, then the k-1 rows the STALE index returns for
//                Embed_input(x) under the current θ (the query's own passage excluded);
//   score        f(x, z) = Embed_input(x) . Embed_doc(z), both under the current θ (Embed_doc(z) is
//                recomputed, not read from the stale index);
//   p(z|x)       softmax over the k candidates of f(x, z) / τ (τ = config.retrievalTemperature);
//   p(y_j|z,x)   the reader's probability of the true token y_j at mask j when it reads (x, z);
//   utility(z)   mean over the masks of log p(y_j|z,x) - log p(y_j|null,x): how much reading z
//                instead of nothing raises the log-probability of the answer (> 0: z helps; the null
//                document's utility is 0 by definition);
//   query utility  the training statistic (realm-loss.ts) for the config's marginalisation:
//                per-mask: mean_j [log p(y_j|x) - log p(y_j|null,x)], joint: log p(y|x) - Σ_j log p(y_j|null,x),
//                with the marginal p(y_j|x) = Σ_z p(z|x) p(y_j|z,x);
//   stale rank   1 + the position in which the stale index returned the row (1 = its best);
//   current rank 1 + the position of the row when the k-1 retrieved rows are re-ranked by their
//                current-θ score f(x, z); `agrees` when the two ranks are equal. Staleness can only
//                re-order what was retrieved here: a row the current θ would rank higher but the stale
//                index did not return is not seen (that would need re-embedding the whole corpus).
//
// A mask whose true token is unknown (a sentence typed with [MASK] and no answer) has target -1: its
// top-5 predictions are reported, its target probabilities and the utilities are null.
import * as tf from '@tensorflow/tfjs';
import { EVAL_CTX } from './bert';
import { CLS_ID, MASK_ID, SEP_ID } from '../corpus/tokenizer';
import type { RealmConfig } from './config';
import type { MipsIndex } from './mips';
import { realmLoss, targetLogProbs } from './realm-loss';
import type { RealmModel } from './realm-model';
import { disposeBatch, prepareRealmBatch, realmForward } from './realm-step';
import { type DocumentStore, type RealmQuery } from '../corpus/data';
import type { WordPieceTokenizer } from '../corpus/tokenizer';

/** The query cannot be inspected (no mask, too long, an index of another width); the message says what to do. */
export class InspectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InspectionError';
  }
}

interface InspectOptions {
  /** Tokens listed per mask for the marginal and the null-only prediction (default 5). */
  topN?: number;
}

export interface TokenProb {
  id: number;
  p: number;
}

export interface CandidateInspection {
  /** Candidate number: 0 = the null document, 1..k-1 the retrieved rows in stale-index order. */
  z: number;
  /** Index row (= chunk seq) of the passage, or null for the null document (z = 0) */
  row: number | null;
  docId: string | null;
  /** f(x, z) under the current θ (before the temperature). */
  score: number;
  /** p(z|x) = softmax_z f(x, z)/τ over the k candidates. */
  pz: number;
  /** p(y_j|z, x) of the true token at each mask (null where the mask's target is unknown or cut off). */
  pTarget: (number | null)[];
  /** mean_j log p(y_j|z,x) - log p(y_j|null,x) over the masks with a known target (null if none). */
  utility: number | null;
  /** 1-based rank in the stale index's answer (null for the null document). */
  staleRank: number | null;
  /** 1-based rank of the row among the retrieved rows by its current-θ score (null for the null document). */
  currentRank: number | null;
  /** staleRank === currentRank (null for the null document). */
  agrees: boolean | null;
}

export interface MaskInspection {
  /** Position in `[CLS] x [SEP]`. */
  position: number;
  /** The true token id, or -1 when unknown. */
  target: number;
  /** False when the mask lies beyond maxQueryLength (the model never sees it). */
  inWindow: boolean;
  /** Marginal p(y_j = target|x) = Σ_z p(z|x) p(y_j|z,x) (null when the target is unknown). */
  pMarginal: number | null;
  /** p(y_j = target|null, x) (null when the target is unknown). */
  pNullOnly: number | null;
  /** Top tokens of the marginal Σ_z p(z|x) p(·|z,x), most probable first. */
  top: TokenProb[];
  /** Top tokens reading the null document alone, p(·|null, x). */
  topNullOnly: TokenProb[];
}

export interface QueryInspection {
  k: number;
  /** Version of the (stale) index that chose the candidates. */
  indexVersion: number;
  temperature: number;
  marginalisation: RealmConfig['marginalisation'];
  candidates: CandidateInspection[];
  masks: MaskInspection[];
  /** The query's retrieval utility as the trainer reports it (null when no target is known). */
  retrievalUtility: number | null;
  /** log p(y|x) under the config's marginalisation (null when no target is known). */
  logLikelihood: number | null;
}

/**
 * Inspects one masked query against the index in use. Reads every tensor asynchronously (a
 * synchronous read on webgpu can lose the device) and disposes everything it made.
 */
export async function inspectQuery(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  query: RealmQuery,
  opts: InspectOptions = {},
): Promise<QueryInspection> {
  const cfg = model.config;
  const topN = opts.topN ?? 5;
  const nMasks = query.maskPositions.length;
  if (nMasks === 0)
    throw new InspectionError('the sentence has no masked token: put [MASK] where the model should fill in a word');
  if (nMasks > cfg.maxMasks)
    throw new InspectionError(
      `the sentence has ${nMasks} masked tokens, the model reads at most ${cfg.maxMasks}: mask fewer words`,
    );
  if (index.dim !== cfg.retrieverDim)
    throw new InspectionError(
      `the index has width ${index.dim}, the model ${cfg.retrieverDim}: inspect with the index of this run`,
    );
  const known = Array.from(query.targets, (t) => t >= 0);
  // Unknown targets get a stand-in id so prepareRealmBatch keeps their positions; results for them are dropped.
  const forwardQuery: RealmQuery = { ...query, targets: Array.from(query.targets, (t) => (t >= 0 ? t : MASK_ID)) };
  const batch = await prepareRealmBatch(model, index, docs, [forwardQuery]);
  const { k, m } = batch;
  const inWindow = Array.from({ length: m }, (_, j) => batch.targets[j] >= 0);
  const anyKnown = known.some((ok, j) => ok && inWindow[j]);
  const realTargets = Int32Array.from(batch.targets, (t, j) => (j < nMasks && known[j] ? t : -1)); // [M]
  const tau = cfg.retrievalTemperature ?? 1;
  const out = tf.tidy(() => {
    const fwd = realmForward(model, batch, EVAL_CTX); // scores [1, k] (f/τ), logits [1, k, M, V]
    const logPz = tf.logSoftmax(fwd.retrievalScores, -1); // [1, k]
    const probs = tf.softmax(fwd.mlmLogits, -1); // [1, k, M, V]
    const pz = tf.exp(logPz); // [1, k]
    const marginal = tf.sum(tf.mul(pz.reshape([1, k, 1, 1]), probs), 1).reshape([m, -1]); // [M, V]
    const nullProbs = probs.slice([0, 0, 0, 0], [1, 1, m, -1]).reshape([m, -1]); // [M, V]
    const nTop = Math.min(topN, cfg.vocabSize);
    const top = tf.topk(marginal, nTop, true); // [M, n]
    const topNull = tf.topk(nullProbs, nTop, true); // [M, n]
    const safe = tf.tensor2d(batch.targets, [1, m], 'int32'); // [1, M]
    const logPy = targetLogProbs(fwd.mlmLogits, safe).reshape([k, m]); // [k, M] log p(y_j|z,x)
    const onehot = tf.oneHot(tf.maximum(safe.reshape([m]), tf.scalar(0, 'int32')) as tf.Tensor1D, fwd.mlmLogits.shape[3]); // [M, V]
    const pMarg = tf.sum(tf.mul(marginal, onehot), -1); // [M]
    const kept: Record<string, tf.Tensor> = {
      scores: tf.mul(fwd.retrievalScores, tau).reshape([k]), // [k] f(x, z)
      pz: pz.reshape([k]),
      logPy,
      pMarg,
      topV: top.values,
      topI: top.indices,
      nullV: topNull.values,
      nullI: topNull.indices,
    };
    if (anyKnown) {
      const terms = realmLoss(fwd.retrievalScores, fwd.mlmLogits, realTargets, cfg.marginalisation);
      kept.utility = terms.retrievalUtility; // [1]
      kept.logLik = terms.logLikelihood; // [1]
    }
    return kept;
  });
  const rows = batch.retrievedRows[0];
  disposeBatch(batch);
  const names = Object.keys(out);
  let values: ArrayLike<number>[];
  try {
    values = await Promise.all(names.map((n) => out[n].data()));
  } finally {
    tf.dispose(Object.values(out));
  }
  const v = Object.fromEntries(names.map((n, i) => [n, values[i]])) as Record<string, ArrayLike<number>>;
  const usable = Array.from({ length: nMasks }, (_, j) => j < m && known[j] && inWindow[j]);
  const logPyAt = (z: number, j: number) => v.logPy[z * m + j];
  // Current-θ re-ranking of the retrieved rows (candidates 1..k-1).
  const order = rows.map((_, i) => i + 1).sort((a, b) => v.scores[b] - v.scores[a] || a - b);
  const currentRankOf = new Map(order.map((z, r) => [z, r + 1]));
  const candidates: CandidateInspection[] = Array.from({ length: k }, (_, z) => {
    const js = usable.map((ok, j) => (ok ? j : -1)).filter((j) => j >= 0);
    const utility = js.length === 0 ? null : js.reduce((s, j) => s + logPyAt(z, j) - logPyAt(0, j), 0) / js.length;
    const staleRank = z === 0 ? null : z;
    const currentRank = z === 0 ? null : currentRankOf.get(z)!;
    return {
      z,
      row: z === 0 ? null : rows[z - 1],
      docId: z === 0 ? null : docs.ids[rows[z - 1]],
      score: v.scores[z],
      pz: v.pz[z],
      pTarget: Array.from({ length: nMasks }, (_, j) => (usable[j] ? Math.exp(logPyAt(z, j)) : null)),
      utility,
      staleRank,
      currentRank,
      agrees: z === 0 ? null : staleRank === currentRank,
    };
  });
  const n = v.topV.length / m;
  const masks: MaskInspection[] = Array.from({ length: nMasks }, (_, j) => {
    const slice = (vals: ArrayLike<number>, ids: ArrayLike<number>): TokenProb[] =>
      Array.from({ length: n }, (_, i) => ({ id: ids[j * n + i], p: vals[j * n + i] }));
    const ok = j < m && inWindow[j];
    return {
      position: query.maskPositions[j],
      target: known[j] ? query.targets[j] : -1,
      inWindow: ok,
      pMarginal: usable[j] ? v.pMarg[j] : null,
      pNullOnly: usable[j] ? Math.exp(logPyAt(0, j)) : null,
      top: ok ? slice(v.topV, v.topI) : [],
      topNullOnly: ok ? slice(v.nullV, v.nullI) : [],
    };
  });
  return {
    k,
    indexVersion: index.version,
    temperature: tau,
    marginalisation: cfg.marginalisation,
    candidates,
    masks,
    retrievalUtility: anyKnown ? v.utility[0] : null,
    logLikelihood: anyKnown ? v.logLik[0] : null,
  };
}

/**
 * A sentence typed with `[MASK]` as a query: `[CLS] x [SEP]`. With an `answer`, the sentence must hold
 * exactly one [MASK]; it stands for the answer's wordpieces, each masked, with the answer as targets.
 * Without one, each [MASK] is one masked wordpiece of unknown target (-1).
 */
export function queryFromTypedText(
  tokenizer: WordPieceTokenizer,
  text: string,
  answer = '',
  maxQueryLength = Infinity,
): RealmQuery & { answer: number[] } {
  const parts = text.split(/\[mask\]/i);
  if (parts.length < 2)
    throw new InspectionError(
      'type a sentence with [MASK] where the model should fill in a word, e.g. "Paris is the capital of [MASK]."',
    );
  const answerIds = answer.trim() ? tokenizer.encode(answer) : [];
  if (answer.trim() && answerIds.length === 0)
    throw new InspectionError(`the answer "${answer}" has no wordpiece in this corpus's vocabulary: try another spelling`);
  if (answerIds.length > 0 && parts.length !== 2)
    throw new InspectionError("with an answer, use exactly one [MASK] (it stands for all of the answer's wordpieces)");
  const inputIds = [CLS_ID];
  const maskPositions: number[] = [];
  const targets: number[] = [];
  parts.forEach((part, i) => {
    inputIds.push(...tokenizer.encode(part));
    if (i === parts.length - 1) return;
    const fill = answerIds.length > 0 ? answerIds : [-1];
    for (const t of fill) {
      maskPositions.push(inputIds.length);
      targets.push(t);
      inputIds.push(MASK_ID);
    }
  });
  inputIds.push(SEP_ID);
  if (maskPositions.at(-1)! >= maxQueryLength - 1)
    throw new InspectionError(
      `the [MASK] falls beyond the first ${maxQueryLength - 2} wordpieces the model reads: shorten the sentence before it`,
    );
  return { inputIds, maskPositions, targets, sourceDocId: null, answer: answerIds };
}
