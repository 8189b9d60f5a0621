// `npx tsx research/oracle-reader.ts WARM`: can REALM's retriever update raise recall@5 at all, given a
// reader that always prefers the passages holding the answer? It takes the ICT + MLM warm start WARM
// (bench:learning's, LEARNING_WARM=PATH; env as that run) and runs REALM steps in which the reader is
// replaced by an oracle: log p(y_j|z,x) = log 0.2 where candidate z holds the query's answer, log 0.02
// where it does not (the null document too), a copying reader ten times surer with the answer in view
// (ORACLE_MARGIN sets that gap in nats, default ln 10 = 2.3; the real reader's is 0.1-0.5 after a
// 3,000-step answer-pair warm-up, 2.6-4.0 after 8,000).
// Everything else is the REALM step: the stale index (refreshed every refreshEvery steps), the
// passage exclusion, τ, the marginal loss (config.marginalisation) and its gradient into Embed_input
// and Embed_doc, AdamW at lr × retrieverLearningRateScale with warm-up and decay, and with
// realmIctWeight > 0 (LEARNING_REALM_ICT_WEIGHT) the trainer's added ICT loss. It prints recall@5
// of a passage holding the answer on the held-out cloze queries and the training sample before and
// after, with the queries gained / lost. Env: ORACLE_STEPS (600); ORACLE_OUT=PATH saves the trained
// model to PATH.json/.bin, for research/recall-shift.ts WARM PATH (ranks, hubs). ORACLE_GOLD=1 (not REALM:
// a ceiling) also puts a passage holding the answer, drawn from the whole corpus, in place of the last
// retrieved candidate of every query whose k - 1 hold none: the retriever then gets the oracle's signal
// on every training query that has such a passage, not only where the stale index already finds one,
// so what it learns is bounded by how its training queries carry over, not by what it retrieves.
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/platform/wasm-kernels';
import { decodeCheckpoint, encodeCheckpoint } from '../src/model/checkpoint';
import { containsSpan, maskedAnswer, sampleRows, type ClozeQuery } from '../src/corpus/data';
import { ictLoss } from '../src/model/ict';
import { freshIndex } from '../src/model/index-refresh';
import type { MipsIndex, MipsSearchResult } from '../src/model/mips';
import { AdamW, learningRateAt } from '../src/model/optimizer';
import { maskValidity, realmLossFromLogProbs } from '../src/model/realm-loss';
import { disposeBatch, prepareRealmBatch, retrievalScores } from '../src/model/realm-step';
import { trivialCandidate, type DocumentStore, type RealmQuery } from '../src/corpus/data';
import { Rng } from '../src/corpus/rng';
import { RealmTrainer } from '../src/model/trainer';
import type { RealmConfig } from '../src/model/config';
import { answerRanksOver, learningConfig, learningData, learningSchedule, trainingSample } from '../bench/learning-setup';

const LOG_P_HOLDING = Math.log(0.2);

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  await tf.setBackend('wasm');
  const warm = process.argv[2];
  if (!warm) throw new Error('usage: tsx research/oracle-reader.ts WARM (a bench:learning warm start, without .json)');
  const steps = Number(process.env.ORACLE_STEPS ?? 600);
  const gold = process.env.ORACLE_GOLD === '1';
  // log p(y_j|z,x) where z does not hold the answer: ORACLE_MARGIN nats below a holding passage's.
  const logPOther = LOG_P_HOLDING - Number(process.env.ORACLE_MARGIN ?? Math.log(10));
  const { seed } = learningSchedule();
  const data = learningData(seed);
  const trainer = new RealmTrainer({ config: learningConfig(data), data });
  trainer.restore(decodeCheckpoint(readFileSync(`${warm}.json`, 'utf8'), readFileSync(`${warm}.bin`)));
  const { model, docs, config } = trainer;
  const seen = trainingSample(data, seed);
  const hits = async (queries: readonly ClozeQuery[]): Promise<boolean[]> => {
    const index = await freshIndex(model, docs);
    try {
      return (await answerRanksOver(model, index, docs, queries, 5)).map((r) => r !== null);
    } finally {
      index.dispose();
    }
  };
  const before = [await hits(data.heldOut), await hits(seen)];
  const vars = new Map(
    [...model.variables()].filter(([name]) => name.startsWith('embed_input/') || name.startsWith('embed_doc/')),
  );
  const byTfName = new Map([...vars].map(([name, v]) => [v.name, name]));
  const optimizer = new AdamW({
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-6,
    weightDecay: config.weightDecay,
    clipNorm: config.clipNorm,
  });
  const rng = new Rng(seed + 31);
  const peak = config.learningRate * config.retrieverLearningRateScale;
  let index: MipsIndex | null = null;
  let holdingShare = 0;
  for (let t = 0; t < steps; t++) {
    if (t % config.refreshEvery === 0) {
      index?.dispose();
      index = await freshIndex(model, docs, t);
    }
    const queries = sampleRows(rng, data.queries.length, config.batchSize).map((i) => data.queries[i]);
    const batch = await prepareRealmBatch(model, gold ? withGold(index!, queries, config, docs, rng) : index!, docs, queries);
    // The oracle's log p(y_j|z,x) [B, k, M]: candidate 0 is the null document.
    const logPy = new Float32Array(batch.b * batch.k * batch.m);
    queries.forEach((q, i) => {
      const answer = maskedAnswer(q);
      const tokensOf = trivialCandidate(config.trivialExclusion, docs, q).tokensOf;
      for (let z = 0; z < batch.k; z++) {
        const holds = z > 0 && containsSpan(tokensOf(batch.retrievedRows[i][z - 1]), answer);
        if (holds) holdingShare += 1 / (steps * batch.b * (batch.k - 1));
        logPy.fill(holds ? LOG_P_HOLDING : logPOther, (i * batch.k + z) * batch.m, (i * batch.k + z + 1) * batch.m);
      }
    });
    const validity = maskValidity(batch.targets, batch.b, batch.m);
    const ictBatch = config.realmIctWeight > 0 ? trainer.sampleIctBatch() : null;
    const { value, grads } = tf.variableGrads(() => {
      const ctx = { training: true, seed: () => rng.nextUint32() };
      const scores = retrievalScores(model, batch, ctx);
      const loss = realmLossFromLogProbs(
        scores,
        tf.tensor3d(logPy, [batch.b, batch.k, batch.m]),
        validity,
        config.marginalisation,
      ).loss;
      return ictBatch ? tf.add(loss, tf.mul(ictLoss(model, ictBatch, ctx).loss, config.realmIctWeight)) : loss;
    }, [...vars.values()]);
    const named = new Map(Object.entries(grads).map(([tfName, g]) => [byTfName.get(tfName)!, g]));
    await optimizer.apply(vars, named, learningRateAt(t, steps, peak, config.warmupFraction));
    if (t % 25 === 0) process.stderr.write(`\roracle REALM step ${t} loss ${(await value.data())[0].toFixed(3)}   `);
    tf.dispose([value, ...Object.values(grads)]);
    disposeBatch(batch);
  }
  index?.dispose();
  const after = [await hits(data.heldOut), await hits(seen)];
  process.stderr.write('\n');
  console.log(
    `oracle reader, ${steps} REALM steps from ${warm} (margin ${(LOG_P_HOLDING - logPOther).toFixed(2)} nats, batch ${config.batchSize}, k = ${config.k}, τ ${config.retrievalTemperature}, retriever lr ${peak}, ${config.marginalisation}, ICT weight ${config.realmIctWeight}); ` +
      `${(100 * holdingShare).toFixed(1)}% of retrieved candidates held the answer${gold ? ' (with gold passages put in)' : ''}`,
  );
  ['held-out cloze', `${seen.length} training`].forEach((name, s) => {
    const n = before[s].length;
    const r = (h: boolean[]) => (h.filter(Boolean).length / n).toFixed(3);
    const gained = before[s].filter((h, i) => !h && after[s][i]).length;
    const lost = before[s].filter((h, i) => h && !after[s][i]).length;
    console.log(`${name}: recall@5 ${r(before[s])} → ${r(after[s])} (gained ${gained} / lost ${lost})`);
  });
  const out = process.env.ORACLE_OUT;
  if (out) {
    const { header, data: bin } = encodeCheckpoint(await trainer.checkpoint('bench-oracle-reader'));
    writeFileSync(`${out}.bin`, bin);
    writeFileSync(`${out}.json`, header);
  }
  trainer.dispose();
  optimizer.dispose();
}

/**
 * ORACLE_GOLD: `index` for one batch, whose search puts a passage holding query b's answer (a seeded
 * draw over the corpus, never the excluded one) in place of b's last result when none of them holds it.
 */
function withGold(
  index: MipsIndex,
  queries: readonly RealmQuery[],
  config: RealmConfig,
  docs: DocumentStore,
  rng: Rng,
): MipsIndex {
  return {
    version: index.version,
    size: index.size,
    dim: index.dim,
    ids: index.ids,
    dispose: () => undefined, // the batch borrows the index; the caller disposes it
    search(q, k, excludeIds): MipsSearchResult {
      const found = index.search(q, k, excludeIds);
      const rows = found.indices.arraySync() as number[][];
      queries.forEach((query, b) => {
        const answer = maskedAnswer(query);
        const { excludeId, tokensOf } = trivialCandidate(config.trivialExclusion, docs, query);
        if (rows[b].some((r) => containsSpan(tokensOf(r), answer))) return;
        const holding = index.ids.flatMap((id, r) => (id !== excludeId && containsSpan(tokensOf(r), answer) ? [r] : []));
        if (holding.length > 0) rows[b][k - 1] = holding[rng.int(holding.length)];
      });
      found.indices.dispose();
      return { scores: found.scores, indices: tf.tensor2d(rows, [rows.length, k], 'int32') };
    },
  };
}

main().catch((e) => {
  console.error(`oracle-reader: ${(e as Error).message}`);
  process.exit(1);
});
