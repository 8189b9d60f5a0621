// The learning bench's set-up, shared by bench/learning.ts and the benches that read its checkpoints:
// the tiny corpus's training data, the bench's config from its LEARNING_* environment variables
// (documented in bench/learning.ts), the fixed sample of training queries it also evaluates on, how it
// prints a mean ± s.e., and the paired ranks of passages holding the answer before and after REALM.
import { makeConfig, parseMarginalisationOption, PRESETS, type MlmPairMasking, type RealmConfig } from '../src/model/config';
import { maskedAnswer, sampleDistinct, type ClozeQuery, type TrainingData } from '../src/corpus/data';
import { answerRanks } from '../src/model/evaluate';
import { utilitySummary } from './retrieval-stats';
import type { MipsIndex } from '../src/model/mips';
import type { RealmModel } from '../src/model/realm-model';
import type { DocumentStore } from '../src/corpus/data';
import { Rng } from '../src/corpus/rng';
import { loadData } from '../scripts/corpus-loader';

export const learningEnv = (k: string, d: string) => process.env[`LEARNING_${k}`] ?? d;

/** Steps per phase (ICT, MLM, REALM) and the seed the bench runs with. */
export function learningSchedule(): { ict: number; mlm: number; realm: number; seed: number; quick: boolean } {
  const quick = learningEnv('QUICK', '0') === '1';
  const [ict, mlm, realm] = learningEnv('STEPS', quick ? '20,20,20' : '400,1000,600')
    .split(',')
    .map(Number);
  return { ict, mlm, realm, seed: Number(learningEnv('SEED', '1')), quick };
}

export function learningData(seed: number): TrainingData {
  const tiny = PRESETS.tiny;
  return loadData(learningEnv('CORPUS', 'public/corpus/tiny'), seed, {
    masking: tiny.masking,
    maxQueryLength: tiny.maxQueryLength,
    maxMasks: tiny.maxMasks,
    spansPerSentence: Number(learningEnv('SPANS_PER_SENTENCE', '1')),
    heldOutPassages: Number(learningEnv('HELD_OUT_PASSAGES', '0')),
  });
}

export function learningConfig(data: TrainingData): RealmConfig {
  const { ict, mlm, realm, seed } = learningSchedule();
  const hidden = Number(learningEnv('HIDDEN', String(PRESETS.tiny.hidden)));
  return makeConfig('tiny', {
    vocabSize: data.vocabSize,
    ictSteps: ict,
    mlmSteps: mlm,
    realmSteps: realm,
    seed,
    // The bench's settings (README, "Learning bench"): one BERT for both embedders (on 488 passages,
    // separate ones reach ICT recall@5 0.45 on held-out passages and chance-level cloze recall; a
    // shared one 0.94 and above chance), batch 8, k = 8 including the null document.
    batchSize: Number(learningEnv('BATCH', '8')),
    ictBatchSize: Number(learningEnv('ICT_BATCH', String(PRESETS.tiny.ictBatchSize))),
    k: Number(learningEnv('K', '8')),
    learningRate: Number(learningEnv('LR', '1e-3')),
    shareRetrieverWeights: learningEnv('SHARE', '1') === '1',
    // τ = 4 and the retriever at a tenth of the learning rate in REALM (README, "Learning bench"):
    // with τ = 1 p(z|x) is one-hot after ICT, and at the full rate Adam's steps on the retriever's
    // near-zero gradients wipe out what ICT taught it.
    retrievalTemperature: Number(learningEnv('TAU', '4')),
    trivialExclusion: learningEnv('EXCLUDE', 'passage') === 'sentence' ? 'sentence' : 'passage',
    ictMaskedQueryProbability: Number(learningEnv('ICT_MASKED', '0')),
    mlmPairProbability: Number(learningEnv('MLM_PAIRS', '0')),
    mlmPairMasking: learningEnv('MLM_PAIR_MASKING', 'random') as MlmPairMasking, // validateConfig rejects other values
    retrieverLearningRateScale: Number(learningEnv('RETRIEVER_LR_SCALE', '0.1')),
    readerLearningRateScale: Number(learningEnv('READER_LR_SCALE', '1')),
    realmIctWeight: Number(learningEnv('REALM_ICT_WEIGHT', '0')),
    realmDocGradient: learningEnv('DOC_GRADIENT', '1') === '1',
    hidden,
    intermediate: 2 * hidden,
    ...(process.env.LEARNING_MODE ? { marginalisation: parseMarginalisationOption(learningEnv('MODE', '')) } : {}),
  });
}

/**
 * A fixed sample of 260 training queries (seen in training, so not a test of generalisation): 4x the
 * held-out set, for a less noisy reading of whether the retriever finds passages holding the answer.
 */
export function trainingSample(data: TrainingData, seed: number): ClozeQuery[] {
  return sampleDistinct(
    new Rng(seed + 99),
    data.queries.map((_, i) => i),
    260,
  ).map((i) => ({
    ...data.queries[i],
    answer: maskedAnswer(data.queries[i]),
  }));
}

/** A utilitySummary as the benches print it: `+mean ± s.e. (helped / hurt)`. */
export function formatSummary(u: ReturnType<typeof utilitySummary>, digits = 3): string {
  return `${u.mean >= 0 ? '+' : ''}${u.mean.toFixed(digits)} ± ${u.standardError.toFixed(digits)} (${u.helped} / ${u.hurt})`;
}

/**
 * Per query, the rank of the first passage holding its answer among the top `depth` of `index` (null:
 * none there), in batches of 16; `tops`, when given, collects each query's top 6 rows (the top 5 and one
 * to spare for swappedRecallAtK, which leaves out another query's own passage).
 */
export async function answerRanksOver(
  model: RealmModel,
  index: MipsIndex,
  docs: DocumentStore,
  queries: readonly ClozeQuery[],
  depth: number,
  tops?: number[][],
): Promise<(number | null)[]> {
  const ranks: (number | null)[] = [];
  for (let s = 0; s < queries.length; s += 16) {
    const r = await answerRanks(model, index, docs, queries.slice(s, s + 16), depth);
    ranks.push(...r.ranks);
    if (tops) r.rows.forEach((row) => tops.push(row.slice(0, 6)));
  }
  return ranks;
}

/**
 * The same queries ranked before and after: those ranked both times as [before, after] pairs, recall@k
 * before (0) or after (1) over all the queries, the queries gained and lost at 5, and the mean change of
 * log2(rank) (negative = answer passages moved up).
 */
export function rankShift(before: readonly (number | null)[], after: readonly (number | null)[]) {
  const pairs = before.flatMap((a, i) => (a === null || after[i] === null ? [] : [[a, after[i]!] as const]));
  return {
    pairs,
    recallAt: (k: number, which: 0 | 1) => pairs.filter((p) => p[which] <= k).length / before.length,
    gained: pairs.filter(([a, b]) => a > 5 && b <= 5).length,
    lost: pairs.filter(([a, b]) => a <= 5 && b > 5).length,
    logShift: utilitySummary(pairs.map(([a, b]) => Math.log2(b) - Math.log2(a))),
  };
}
