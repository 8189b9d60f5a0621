// Records the trainer emits and the UI charts. One StepMetrics per training step; one RefreshRecord
// per index refresh; one EvalMetrics per evaluation.

export type Phase = 'ict' | 'mlm' | 'realm';

export interface StepMetrics {
  phase: Phase;
  /** Global step, counted across phases. */
  step: number;
  /** Step within the phase. */
  phaseStep: number;
  /** Training loss of the step: -log p(y|x) for REALM, the MLM or ICT loss in warm-ups. */
  loss: number;
  /** Share of masked tokens whose argmax prediction (the marginal, for REALM) is right. */
  mlmAccuracy: number;
  /** Mean p(null document | x) over the batch (REALM phase; NaN elsewhere). */
  meanPNull: number;
  /** Mean retrieval utility log p(y|x) - log p(y|null, x) over the batch (REALM phase). */
  meanRetrievalUtility: number;
  /** Mean entropy of p(z|x) over the k+1 candidates, in nats (REALM phase). */
  retrievalEntropy: number;
  /** Index version used to choose the top-k, and its staleness in steps. */
  indexVersion: number;
  staleness: number;
  learningRate: number;
  gradNorm: number;
  /** Wall time of the step in milliseconds. */
  stepMs: number;
  /** Date.now() when the step ended. */
  time: number;
}

export interface RefreshRecord {
  version: number;
  /** Trainer step whose parameters θ′ were sent to the builder. */
  snapshotStep: number;
  /** Date.now() at snapshot and at swap. */
  start: number;
  end: number;
  /** Trainer step at which the new index was swapped in. */
  swapStep: number;
  chunks: number;
  durationMs: number;
}

export interface EvalMetrics {
  step: number;
  /** Held-out cloze accuracy with retrieval, and with the null document only. */
  clozeAccuracy: number;
  clozeAccuracyNullOnly: number;
  /** Share of held-out queries with a passage holding the answer in the top 5. */
  recallAt5: number;
  /** Share whose gold passage (the one the sentence was cut from, without the sentence) is in the top 5 (absent in runs stored before #31). */
  goldRecallAt5?: number;
  time: number;
}
