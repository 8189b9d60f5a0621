// `npx tsx research/reader-preference.ts MODEL`: does the reader prefer passages holding the answer?
// The retriever's REALM gradient, d log p(y|x)/d f(x,z) = p(z|x) (p(y|z,x)/p(y|x) - 1), raises a
// candidate only when the reader gives the answer a higher probability with it. For queries whose top
// k-1 retrieved candidates include both a passage holding the answer and one not holding it, this
// prints the mean difference of per-mask log p(y|z,x) (holding minus not) and of the gradient on the
// score, over the held-out queries and a fixed sample of 260 training queries. MODEL: a checkpoint
// written by bench:learning (LEARNING_WARM=PATH gives PATH and PATH-final). Env as bench:learning
// (LEARNING_SEED, LEARNING_K, ...: the model's settings must match the run that wrote MODEL).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/platform/wasm-kernels';
import { EVAL_CTX } from '../src/model/bert';
import { decodeCheckpoint } from '../src/model/checkpoint';
import { containsSpan } from '../src/corpus/data';
import { utilitySummary } from '../bench/retrieval-stats';
import { freshIndex } from '../src/model/index-refresh';
import { disposeBatch, prepareRealmBatch, realmForward } from '../src/model/realm-step';
import { trivialCandidate } from '../src/corpus/data';
import { RealmTrainer } from '../src/model/trainer';
import { formatSummary, learningConfig, learningData, learningSchedule, trainingSample } from '../bench/learning-setup';

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  await tf.setBackend('wasm');
  const path = process.argv[2];
  if (!path) throw new Error('usage: tsx research/reader-preference.ts MODEL (a bench:learning checkpoint, without .json)');
  const { seed } = learningSchedule();
  const data = learningData(seed);
  const config = learningConfig(data);
  const trainer = new RealmTrainer({ config, data });
  trainer.restore(decodeCheckpoint(readFileSync(`${path}.json`, 'utf8'), readFileSync(`${path}.bin`)));
  const index = await freshIndex(trainer.model, trainer.docs);
  const seen = trainingSample(data, seed);
  for (const [name, queries] of [
    ['held-out', data.heldOut],
    ['260 training', seen],
  ] as const) {
    const logpGap: number[] = [];
    const gradGap: number[] = [];
    let withHolding = 0;
    for (let s = 0; s < queries.length; s += 16) {
      const qs = queries.slice(s, s + 16);
      const batch = await prepareRealmBatch(trainer.model, index, trainer.docs, qs);
      const out = tf.tidy(() => {
        const fwd = realmForward(trainer.model, batch, EVAL_CTX);
        const logProbs = tf.logSoftmax(fwd.mlmLogits, -1); // [B, k, M, V]
        return [tf.softmax(fwd.retrievalScores, -1), logProbs]; // [B, k], [B, k, M, V]
      });
      const [pz, logProbs] = (await Promise.all(out.map((t) => t.array()))) as [number[][], number[][][][]];
      tf.dispose(out);
      qs.forEach((q, i) => {
        const { tokensOf } = trivialCandidate(config.trivialExclusion, trainer.docs, q);
        const valid: number[] = [];
        for (let j = 0; j < batch.m; j++) if (batch.targets[i * batch.m + j] >= 0) valid.push(j);
        // Per candidate: mean over valid masks of log p(y_j|z,x); the marginal per mask for the gradient.
        const perMask = (z: number) => valid.map((j) => logProbs[i][z][j][batch.targets[i * batch.m + j]]);
        const lp = Array.from({ length: batch.k }, (_, z) => perMask(z));
        const marginal = valid.map((_, v) => Math.log(lp.reduce((a, row, z) => a + pz[i][z] * Math.exp(row[v]), 0)));
        // Per-mask REALM gradient on f(x,z), averaged over the masks: p(z|x) (p(y_j|z,x)/p(y_j|x) - 1).
        const grad = (z: number) =>
          valid.reduce((a, _, v) => a + pz[i][z] * (Math.exp(lp[z][v] - marginal[v]) - 1), 0) / valid.length;
        const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
        const holding: number[] = [];
        const other: number[] = [];
        batch.retrievedRows[i].forEach((row, c) => (containsSpan(tokensOf(row), q.answer) ? holding : other).push(c + 1));
        if (holding.length > 0) withHolding++;
        if (holding.length === 0 || other.length === 0 || valid.length === 0) return;
        logpGap.push(mean(holding.map((z) => mean(lp[z]))) - mean(other.map((z) => mean(lp[z]))));
        gradGap.push(mean(holding.map(grad)) - mean(other.map(grad)));
      });
      disposeBatch(batch);
    }
    console.log(
      `${name}: ${queries.length} queries, ${withHolding} with a passage holding the answer among the top ${config.k - 1}, ${logpGap.length} with both kinds; ` +
        `log p(y|z,x) holding - not: ${formatSummary(utilitySummary(logpGap))}; score gradient holding - not: ${formatSummary(utilitySummary(gradGap), 5)}`,
    );
  }
  index.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
