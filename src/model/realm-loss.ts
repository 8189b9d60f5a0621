// The REALM pre-training loss, both marginalisations (docs/realm.md), in log space with logsumexp.
// Candidate 0 is the null document (z = 0). With log p(z|x) = log_softmax_z f(x,z) and
// log p(y_j|z,x) = log_softmax_V(logits)[y_j]:
//   per-mask (released code): log p(y|x) = mean_j logsumexp_z [log p(z|x) + log p(y_j|z,x)]
//   joint (paper):            log p(y|x) = logsumexp_z [log p(z|x) + sum_j log p(y_j|z,x)]
// Retrieval utility: per-mask mean_j (that term - log p(y_j|null,x)); joint log p(y|x) - sum_j log p(y_j|null,x).
// The loss is the mean of -log p(y|x) over the examples that have at least one valid mask.
import * as tf from '@tensorflow/tfjs';
import type { Marginalisation } from './config';

/** The batch cannot give a loss (no valid mask at all, or inconsistent shapes). */
export class RealmLossError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RealmLossError';
  }
}

/** Accepts 'per_mask' (the JSON format of the realm-loss CLI) as well as 'per-mask'. */
export function parseMarginalisation(mode: string): Marginalisation {
  if (mode === 'per-mask' || mode === 'per_mask') return 'per-mask';
  if (mode === 'joint') return 'joint';
  throw new RealmLossError(`unknown mode "${mode}": use "per_mask" or "joint"`);
}

/** Which masks count: targets [B][M] with -1 as padding. */
interface MaskValidity {
  /** [B, M] 1 for a real mask, 0 for padding. */
  valid: Float32Array;
  /** Valid masks per row. */
  counts: number[];
  /** Rows with at least one valid mask. */
  validRows: number;
  b: number;
  m: number;
}

export function maskValidity(targets: Int32Array | number[], b: number, m: number): MaskValidity {
  const valid = new Float32Array(b * m);
  const counts = new Array<number>(b).fill(0);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < m; j++) {
      if (targets[i * m + j] >= 0) {
        valid[i * m + j] = 1;
        counts[i]++;
      }
    }
  }
  const validRows = counts.filter((c) => c > 0).length;
  return { valid, counts, validRows, b, m };
}

/** log p(y_j|z,x): log_softmax over V of mlmLogits [B, K, M, V] at targets [B, M] (-1 -> any index, masked later). */
export function targetLogProbs(mlmLogits: tf.Tensor4D, targets: tf.Tensor2D): tf.Tensor3D {
  return tf.tidy(() => {
    const [b, k, m, v] = mlmLogits.shape;
    const safe = tf.maximum(targets, tf.scalar(0, 'int32')); // [B, M]
    const onehot = tf.oneHot(safe.reshape([-1]), v).reshape([b, 1, m, v]); // [B, 1, M, V]
    return tf.sum(tf.mul(tf.logSoftmax(mlmLogits, -1), onehot), -1).reshape([b, k, m]) as tf.Tensor3D; // [B, K, M]
  });
}

export type RealmLossTerms = {
  /** Mean over valid rows of -log p(y|x). */
  loss: tf.Scalar;
  /** log p(y|x) per row [B] (0 for rows without a valid mask). */
  logLikelihood: tf.Tensor1D;
  /** Retrieval utility per row [B] (0 for rows without a valid mask). */
  retrievalUtility: tf.Tensor1D;
  /** log p(z|x) [B, K]. */
  logPz: tf.Tensor2D;
};

/**
 * retrievalScores [B, K] (candidate 0 = null document), logPy [B, K, M] = log p(y_j|z,x),
 * validity of the masks. Differentiable in retrievalScores and logPy.
 */
export function realmLossFromLogProbs(
  retrievalScores: tf.Tensor2D,
  logPy: tf.Tensor3D,
  validity: MaskValidity,
  mode: Marginalisation,
): RealmLossTerms {
  const [b, k] = retrievalScores.shape;
  if (logPy.shape[0] !== b || logPy.shape[1] !== k || logPy.shape[2] !== validity.m || validity.b !== b) {
    throw new RealmLossError(
      `shapes disagree: retrieval_scores [${retrievalScores.shape}], log p(y|z,x) [${logPy.shape}], targets [${validity.b}, ${validity.m}]`,
    );
  }
  if (validity.validRows === 0) {
    throw new RealmLossError('no example in the batch has a valid mask (every target is -1): give at least one target >= 0');
  }
  return tf.tidy(() => {
    const m = validity.m;
    const valid = tf.tensor2d(validity.valid, [b, m]); // [B, M]
    const counts = tf.tensor1d(validity.counts.map((c) => Math.max(c, 1))); // [B]
    const rowValid = tf.tensor1d(validity.counts.map((c) => (c > 0 ? 1 : 0))); // [B]
    const logPz = tf.logSoftmax(retrievalScores, -1) as tf.Tensor2D; // [B, K]
    const validK = valid.reshape([b, 1, m]); // [B, 1, M]
    const nullLogPy = logPy.slice([0, 0, 0], [b, 1, m]).reshape([b, m]); // [B, M]
    let logLikelihood: tf.Tensor1D;
    let retrievalUtility: tf.Tensor1D;
    if (mode === 'per-mask') {
      const perMask = tf.logSumExp(tf.add(logPz.reshape([b, k, 1]), logPy), 1); // [B, M]: log p(y_j|x)
      logLikelihood = tf.div(tf.sum(tf.mul(perMask, valid), 1), counts) as tf.Tensor1D; // [B]
      retrievalUtility = tf.div(tf.sum(tf.mul(tf.sub(perMask, nullLogPy), valid), 1), counts) as tf.Tensor1D; // [B]
    } else {
      const sumLogPy = tf.sum(tf.mul(logPy, validK), 2); // [B, K]: sum_j log p(y_j|z,x)
      logLikelihood = tf.mul(tf.logSumExp(tf.add(logPz, sumLogPy), 1), rowValid) as tf.Tensor1D; // [B]
      const nullSum = sumLogPy.slice([0, 0], [b, 1]).reshape([b]); // [B]
      retrievalUtility = tf.mul(tf.sub(logLikelihood, nullSum), rowValid) as tf.Tensor1D; // [B]
    }
    const loss = tf.div(tf.neg(tf.sum(tf.mul(logLikelihood, rowValid))), validity.validRows) as tf.Scalar;
    return { loss, logLikelihood, retrievalUtility, logPz };
  });
}

/** The full loss from MLM logits [B, K, M, V] and targets [B][M] (-1 = padding). */
export function realmLoss(
  retrievalScores: tf.Tensor2D,
  mlmLogits: tf.Tensor4D,
  targets: Int32Array,
  mode: Marginalisation,
): RealmLossTerms {
  const [b, , m] = mlmLogits.shape;
  if (targets.length !== b * m) throw new RealmLossError(`targets hold ${targets.length} entries, expected ${b} x ${m}`);
  const validity = maskValidity(targets, b, m);
  if (validity.validRows === 0) {
    throw new RealmLossError('no example in the batch has a valid mask (every target is -1): give at least one target >= 0');
  }
  return tf.tidy(() => {
    const t = tf.tensor2d(targets, [b, m], 'int32');
    return realmLossFromLogProbs(retrievalScores, targetLogProbs(mlmLogits, t), validity, mode);
  });
}

export interface RealmLossJsonInput {
  retrieval_scores: number[][];
  mlm_logits: number[][][][];
  targets: number[][];
  mode: string;
}

interface RealmLossJsonOutput {
  loss: number;
  grad_retrieval_scores: number[][];
  grad_mlm_logits: number[][][][];
  retrieval_utility: (number | null)[];
}

/** The realm-loss CLI's computation: loss, gradients and utilities for one JSON batch (tfjs). */
export function realmLossJson(input: RealmLossJsonInput): RealmLossJsonOutput {
  const mode = parseMarginalisation(input.mode);
  const b = input.retrieval_scores?.length ?? 0;
  if (b === 0) throw new RealmLossError('retrieval_scores is empty: give [B][K] numbers');
  const k = input.retrieval_scores[0].length;
  const m = input.targets?.[0]?.length ?? 0;
  const v = input.mlm_logits?.[0]?.[0]?.[0]?.length ?? 0;
  const shapeOk =
    input.retrieval_scores.every((r) => r.length === k) &&
    input.targets.length === b &&
    input.targets.every((r) => r.length === m) &&
    input.mlm_logits.length === b &&
    input.mlm_logits.every((r) => r.length === k && r.every((z) => z.length === m && z.every((j) => j.length === v)));
  if (!shapeOk || k === 0 || m === 0 || v === 0) {
    throw new RealmLossError(
      'shapes must be retrieval_scores [B][K], mlm_logits [B][K][M][V], targets [B][M], all non-empty and rectangular',
    );
  }
  const targets = Int32Array.from(input.targets.flat());
  for (const t of targets) {
    if (t >= v || (t < 0 && t !== -1)) throw new RealmLossError(`target ${t} is outside [0, ${v}) and is not -1 (padding)`);
  }
  const scores = tf.tensor2d(input.retrieval_scores);
  const logits = tf.tensor4d(input.mlm_logits.flat(3), [b, k, m, v]);
  const rowValid = maskValidity(targets, b, m).counts.map((c) => c > 0);
  const utilityT: tf.Tensor[] = [];
  const { value, grads } = tf.valueAndGrads((s: tf.Tensor, l: tf.Tensor) => {
    const r = realmLoss(s as tf.Tensor2D, l as tf.Tensor4D, targets, mode);
    utilityT.push(tf.keep(r.retrievalUtility));
    return r.loss;
  })([scores, logits]);
  const utility = utilityT[0].arraySync() as number[];
  const out: RealmLossJsonOutput = {
    loss: value.arraySync() as number,
    grad_retrieval_scores: grads[0].arraySync() as number[][],
    grad_mlm_logits: grads[1].arraySync() as number[][][][],
    retrieval_utility: utility.map((u, i) => (rowValid[i] ? u : null)),
  };
  tf.dispose([scores, logits, value, ...grads, ...utilityT]);
  return out;
}
