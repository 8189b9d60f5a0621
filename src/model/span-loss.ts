// ORQA's Open-QA loss (`marginal_log_loss`, issue #34), per question b:
//   reader:    -log sum_{(z, s) correct} p(z, s | x)  = logsumexp_all(S) - logsumexp_correct(S)
//              over every (document, span) logit S = S_read + S_retr (span-reader.ts), a span correct
//              when its wordpieces match an answer (qa-eval.ts matchingSpans);
//   retriever: -log sum_{z contains an answer} p(z | x) = logsumexp_z(S_retr) - logsumexp_{z correct}(S_retr);
// each term zeroed when no pair (no document) is correct, and the loss is the mean over questions of
// their sum. The correct-only logsumexp adds MASKED_SPAN_SCORE to the wrong entries, as ORQA does, so
// it stays finite when none is correct; the zeroing then multiplies a finite value (and its gradient)
// by 0. The gradient is tf's autograd of these ops; span-loss.test.ts checks it against the
// hand-derived softmax_all - softmax_correct and a finite difference.
import * as tf from '@tensorflow/tfjs';
import { MASKED_SPAN_SCORE } from './span-reader';

/**
 * -log of the probability mass on the correct entries of each row, 0 for a row with none.
 * logits [B, C], isCorrect [B, C] (1 correct, 0 not) -> [B].
 */
export function marginalLogLoss(logits: tf.Tensor2D, isCorrect: tf.Tensor2D): tf.Tensor1D {
  if (logits.shape.join() !== isCorrect.shape.join())
    throw new Error(`marginalLogLoss: logits [${logits.shape.join(', ')}] and isCorrect [${isCorrect.shape.join(', ')}] differ`);
  return tf.tidy(() => {
    const correct = tf.cast(isCorrect, 'float32'); // [B, C]
    const logDenominator = tf.logSumExp(logits, 1); // [B]
    const logNumerator = tf.logSumExp(tf.add(logits, tf.mul(tf.sub(1, correct), MASKED_SPAN_SCORE)), 1); // [B]
    const anyCorrect = tf.max(correct, 1); // [B] 1 when some entry is correct
    return tf.mul(tf.sub(logDenominator, logNumerator), anyCorrect) as tf.Tensor1D; // [B]
  });
}

export interface SpanLossTerms {
  /** Mean over questions of readerLoss + retrieverLoss. */
  loss: tf.Scalar;
  /** Per question [B]: -log p(a correct (document, span) | x), 0 when no span matches. */
  readerLoss: tf.Tensor1D;
  /** Per question [B]: -log p(a document containing an answer | x), 0 when none does. */
  retrieverLoss: tf.Tensor1D;
}

/**
 * retrievalScores [B, R] S_retr over the retrieved documents; docCorrect [B, R] 1 where a document
 * contains an answer; spanLogits [B, K, S] from SpanReader.spanLogits (reshaped per question, K <= R
 * documents read); spanCorrect [B, K, S] 1 where a span inside the body matches an answer (it must be 0
 * on masked spans). Differentiable in retrievalScores and spanLogits.
 */
export function spanLoss(
  retrievalScores: tf.Tensor2D,
  docCorrect: tf.Tensor2D,
  spanLogits: tf.Tensor3D,
  spanCorrect: tf.Tensor3D,
): SpanLossTerms {
  const [b, k, s] = spanLogits.shape;
  if (spanCorrect.shape.join() !== spanLogits.shape.join())
    throw new Error(`spanLoss: spanCorrect [${spanCorrect.shape.join(', ')}] must match spanLogits [${b}, ${k}, ${s}]`);
  if (retrievalScores.shape[0] !== b || docCorrect.shape.join() !== retrievalScores.shape.join())
    throw new Error(
      `spanLoss: retrievalScores [${retrievalScores.shape.join(', ')}] and docCorrect [${docCorrect.shape.join(', ')}] must be [${b}, R]`,
    );
  if (retrievalScores.shape[1] < k)
    throw new Error(`spanLoss: ${k} documents read but only ${retrievalScores.shape[1]} retrieval scores`);
  return tf.tidy(() => {
    const readerLoss = marginalLogLoss(spanLogits.reshape([b, k * s]), spanCorrect.reshape([b, k * s])); // [B]
    const retrieverLoss = marginalLogLoss(retrievalScores, docCorrect); // [B]
    const loss = tf.mean(tf.add(readerLoss, retrieverLoss)) as tf.Scalar; // []
    return { loss, readerLoss, retrieverLoss };
  });
}
