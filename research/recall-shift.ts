// `npx tsx research/recall-shift.ts BEFORE AFTER`: did REALM move passages holding the answer up the
// retriever's ranking, query by query? Recall@5 on 65 held-out queries moves in steps of 0.015, so a
// change of one or two items says little; this pairs the two models on the same queries. For each
// query it ranks every passage but the trivial candidate on a fresh index of each model and takes the
// rank of the best-placed passage holding the answer. It prints, for the held-out queries (and, with
// LEARNING_HELD_OUT_PASSAGES, the held-out passages' span queries) and the fixed
// sample of 260 training queries: recall@5 and @20 before → after with the queries gained / lost at 5,
// and the mean change of log2(rank) ± s.e. with the queries moved down / up (negative = answer passages
// moved up), and how many top-5 slots the five most-retrieved passages (hubs) fill, with the share of
// queries whose answer each hub holds next to the median passage's; and the query-swap control
// (swappedRecallAtK): recall@5 of each query on the other queries' top 5, before → after, and the rise of
// recall@5 beyond it, per query, mean ± s.e. (a rise onto hubs lifts both). BEFORE, AFTER: checkpoints written
// by bench:learning with LEARNING_WARM=PATH (PATH after ICT + MLM, PATH-final after REALM); env as
// bench:learning, matching the run that wrote them.
// RECALL_SHIFT_OUT=FILE.json also writes the per-query ranks and swapped recall, for pooling seeds with
// research/recall-pool.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/platform/wasm-kernels';
import { mean } from 'simple-statistics';
import { decodeCheckpoint } from '../src/model/checkpoint';
import type { ClozeQuery } from '../src/corpus/data';
import { answerHoldingCounts, swappedRecallAtK } from '../bench/retrieval-stats';
import { freshIndex } from '../src/model/index-refresh';
import { RealmTrainer } from '../src/model/trainer';
import {
  answerRanksOver,
  formatSummary,
  learningConfig,
  learningData,
  learningSchedule,
  rankShift,
  trainingSample,
} from '../bench/learning-setup';
import { queryDependentRise, signTest } from './stats';

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  installWasmKernels();
  await tf.setBackend('wasm');
  const [before, after] = process.argv.slice(2);
  if (!before || !after)
    throw new Error('usage: tsx research/recall-shift.ts BEFORE AFTER (bench:learning checkpoints, without .json)');
  const { seed } = learningSchedule();
  const data = learningData(seed);
  const trainer = new RealmTrainer({ config: learningConfig(data), data });
  const seen = trainingSample(data, seed);
  // With LEARNING_HELD_OUT_PASSAGES, also the held-out passages' span queries.
  const sets: (readonly [string, ClozeQuery[]])[] = [
    ['held-out', data.heldOut],
    ['260 training', seen],
  ];
  if (data.heldOutSpans) sets.push(['held-out passages', data.heldOutSpans]);
  const ranks: (number | null)[][][] = [];
  const swapped: number[][][] = []; // [model][set][query]
  // Per passage, the share of all these queries whose answer it holds: are the hubs answer-rich passages?
  const all = sets.flatMap(([, qs]) => qs);
  const holds = answerHoldingCounts(trainer.docs, all).map((n) => n / all.length);
  const typical = [...holds].sort((a, b) => a - b)[holds.length >> 1];
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  for (const path of [before, after]) {
    trainer.restore(decodeCheckpoint(readFileSync(`${path}.json`, 'utf8'), readFileSync(`${path}.bin`)));
    // One index per model, for both query sets.
    const index = await freshIndex(trainer.model, trainer.docs);
    const top5: number[] = [];
    try {
      const perSet: (number | null)[][] = [];
      const swappedPerSet: number[][] = [];
      for (const [, qs] of sets) {
        const tops: number[][] = [];
        perSet.push(await answerRanksOver(trainer.model, index, trainer.docs, qs, index.size - 1, tops));
        swappedPerSet.push(swappedRecallAtK(trainer.docs, qs, tops, 5, trainer.config.trivialExclusion));
        tops.forEach((row) => top5.push(...row.slice(0, 5)));
      }
      ranks.push(perSet);
      swapped.push(swappedPerSet);
    } finally {
      index.dispose();
    }
    // Hubs: dense retrievers tend to return a few passages for every query, which crowds the top 5.
    const counts = new Map<number, number>();
    top5.forEach((r) => counts.set(r, (counts.get(r) ?? 0) + 1));
    const hubs = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const most = hubs.map(([, c]) => c);
    console.log(
      `${path}: the 5 passages retrieved most often fill ${most.reduce((a, b) => a + b, 0)} of the ${top5.length} top-5 slots of all ${top5.length / 5} queries ` +
        `(${most.join(', ')}); ${counts.size} distinct passages appear; those 5 hold the answer of ${hubs.map(([r]) => pct(holds[r])).join(', ')} of the queries, the median passage ${pct(typical)}`,
    );
  }
  sets.forEach(([name, qs], s) => {
    const { pairs, recallAt, gained, lost, logShift } = rankShift(ranks[0][s], ranks[1][s]);
    const recall = (k: number, which: 0 | 1) => recallAt(k, which).toFixed(3);
    console.log(
      `${name}: ${qs.length} queries (${qs.length - pairs.length} with no other passage holding the answer); ` +
        `recall@5 ${recall(5, 0)} → ${recall(5, 1)} (gained ${gained} / lost ${lost}, sign test p = ${signTest(gained, lost).toFixed(3)}); recall@20 ${recall(20, 0)} → ${recall(20, 1)}; ` +
        `log2 rank of the first answer passage, after − before: ${formatSummary(logShift)} (moved down / up)`,
    );
    console.log(
      `  query-swap control: recall@5 on the other queries' top 5 ${mean(swapped[0][s]).toFixed(3)} → ${mean(swapped[1][s]).toFixed(3)}; ` +
        `rise of recall@5 beyond it, per query: ${formatSummary(queryDependentRise(ranks[0][s], ranks[1][s], swapped[0][s], swapped[1][s]))}`,
    );
  });
  const out = process.env.RECALL_SHIFT_OUT;
  if (out) {
    const shift = Object.fromEntries(
      sets.map(([name], s) => [
        name,
        { before: ranks[0][s], after: ranks[1][s], swappedBefore: swapped[0][s], swappedAfter: swapped[1][s] },
      ]),
    );
    writeFileSync(out, JSON.stringify({ before, after, seed, ...shift }));
  }
  trainer.dispose();
}

main().catch((e) => {
  console.error(`recall-shift: ${(e as Error).message}`);
  process.exit(1);
});
