// `npx tsx research/recall-pool.ts FILE.json ...`: does recall@5 of a passage holding the answer rise
// across seeds? Reads the per-query ranks that research/recall-shift.ts writes with RECALL_SHIFT_OUT, or
// research/qa-recall.ts with QA_RECALL_OUT (one file per seed, each pairing a model after ICT + MLM with
// the same model after REALM) and prints, for each query set in them (held-out and 260 training
// queries, or QA questions): each seed's recall@5 before → after (gained / lost), the
// change over seeds as mean ± s.e. with how many seeds rose / fell, and the queries gained and lost
// pooled over seeds with the two-sided exact sign test; and, where the file has it, the rise of
// recall@5 beyond the query-swap control (queryDependentRise) per seed and over seeds. Seeds, not queries, are the independent units:
// the same 65 held-out queries recur in every seed, so the pooled sign test is a summary, not a test
// over independent draws.
import { readFileSync } from 'node:fs';
import { utilitySummary } from '../bench/retrieval-stats';
import { formatSummary, rankShift } from '../bench/learning-setup';
import { queryDependentRise, signTest } from './stats';

type Ranks = { before: (number | null)[]; after: (number | null)[]; swappedBefore?: number[]; swappedAfter?: number[] };

function main() {
  const files = process.argv.slice(2);
  if (files.length === 0)
    throw new Error(
      'usage: tsx research/recall-pool.ts FILE.json ... (written by research/recall-shift.ts with RECALL_SHIFT_OUT or research/qa-recall.ts with QA_RECALL_OUT)',
    );
  const runs = files.map(
    (f) => JSON.parse(readFileSync(f, 'utf8')) as { seed: number } & Record<string, Ranks | number | string>,
  );
  // recall-shift writes 'held-out' and '260 training'; qa-recall (QA_RECALL_OUT) writes 'questions'.
  const sets = Object.keys(runs[0]).filter((key) => Array.isArray((runs[0][key] as Ranks | undefined)?.before));
  if (sets.length === 0) throw new Error(`${files[0]}: no per-query ranks`);
  for (const set of sets) {
    const changes: number[] = [];
    const shifts: number[] = [];
    const beyond: number[] = [];
    let gainedAll = 0;
    let lostAll = 0;
    const lines = runs.map((run) => {
      const r = run[set] as Ranks | undefined;
      if (!r || r.before.length !== r.after.length) throw new Error(`seed ${run.seed}: no paired "${set}" ranks`);
      const { recallAt, gained, lost, logShift } = rankShift(r.before, r.after);
      const at5 = (which: 0 | 1) => recallAt(5, which);
      changes.push(at5(1) - at5(0));
      shifts.push(logShift.mean);
      gainedAll += gained;
      lostAll += lost;
      let control = '';
      if (r.swappedBefore && r.swappedAfter) {
        const rise = queryDependentRise(r.before, r.after, r.swappedBefore, r.swappedAfter);
        beyond.push(rise.mean);
        control = `, beyond the query-swap control ${formatSummary(rise)}`;
      }
      return `  seed ${run.seed}: recall@5 ${at5(0).toFixed(3)} → ${at5(1).toFixed(3)} (gained ${gained} / lost ${lost}), log2 rank change ${formatSummary(logShift, 2)}${control}`;
    });
    // One reading per seed: mean ± s.e. over seeds, with the seeds above / below zero.
    console.log(
      `${set}, ${runs.length} seeds:\n${lines.join('\n')}\n` +
        `  recall@5 change over seeds: ${formatSummary(utilitySummary(changes))} (seeds rose / fell)\n` +
        `  log2 rank change over seeds: ${formatSummary(utilitySummary(shifts))} (seeds moving answer passages down / up)\n` +
        `  pooled: gained ${gainedAll} / lost ${lostAll}, two-sided sign test p = ${signTest(gainedAll, lostAll).toFixed(4)}` +
        (beyond.length === runs.length
          ? `\n  recall@5 change beyond the query-swap control over seeds: ${formatSummary(utilitySummary(beyond))} (seeds above / below)`
          : ''),
    );
  }
}

try {
  main();
} catch (e) {
  console.error(`recall-pool: ${(e as Error).message}`);
  process.exit(1);
}
