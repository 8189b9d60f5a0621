// The seven rows of REALM's Table 2 (arXiv 2002.08909, "Ablation experiments on NQ's development set",
// exact match and zero-shot retrieval recall@5), each a config diff from the REALM row, in one table.
//
// A row says three things:
//   retriever  where Embed_input and Embed_doc come from: 'realm' (after this row's REALM pre-training)
//              or 'baseline' (the warm start: ICT, ORQA's retriever, never REALM-pre-trained);
//   reader     where the knowledge-augmented encoder comes from: 'realm' or 'baseline' (the warm start's
//              MLM reader, BERT-style masked language modelling, never REALM-pre-trained);
//   pretraining the REALM pre-training config diff from the REALM row (masking strategy, refresh interval).
// Rows with the same pretraining diff share one pre-trained model per seed (the two encoder-swap rows
// reuse the REALM row's); the baseline (ORQA) row takes both encoders from the warm start and pre-trains
// nothing. Every row is then fine-tuned on the corpus's QA training set and evaluated on its dev set.
//
// The index refresh interval (docs/ablations.md): the paper rebuilds the index about every 500 of 200k
// steps (400 rebuilds); its "30x stale MIPS" rebuilds every 15,000 (about 13). The app's table pre-trains
// for REALM_STEPS = 150 steps on the tiny corpus (what fits the 2-hour budget on 2 cores), so the paper's
// count of rebuilds is out of reach; the normal interval is REFRESH_EVERY = 10 steps (15 rebuilds, each a
// re-embedding of the tiny corpus's 488 passages) and 30x stale is 300 steps, more than the phase: the
// index built when REALM starts is used for the whole phase,
// which is what the page's 'frozen' refresh policy does. In Node the trainer's SyncRefresher applies
// refreshEvery exactly; the page should run these rows with the 'every-R-steps' policy (an exact
// schedule), not 'async', whose staleness depends on the machine.
import type { MaskingStrategy } from '../corpus/masking-strategies';
import { makeConfig, type PresetName, type RealmConfig } from './config';

/** Where an encoder comes from: the row's REALM pre-training, or the warm start (ICT retriever, MLM reader). */
export type EncoderSource = 'realm' | 'baseline';

/** The fields a row may change in REALM pre-training (the ablated switches). */
export type PretrainingDiff = Partial<Pick<RealmConfig, 'masking' | 'refreshEvery'>>;

/** Paper's Table 2 figures, in percent. */
export interface PaperFigures {
  em: number;
  recallAt5: number;
}

export interface AblationRow {
  /** Stable id (file names, URLs, CSV). */
  id: AblationRowId;
  /** The row's name in the paper's Table 2. */
  name: string;
  retriever: EncoderSource;
  reader: EncoderSource;
  /** REALM pre-training diff from the REALM row; null when neither encoder is REALM-pre-trained. */
  pretraining: PretrainingDiff | null;
  paper: PaperFigures;
  /** One line for the docs and the panel. */
  what: string;
}

export const ABLATION_ROW_IDS = [
  'realm',
  'realm-retriever-baseline-encoder',
  'baseline-retriever-realm-encoder',
  'baseline',
  'random-uniform-masks',
  'random-span-masks',
  'stale-30x',
] as const;
export type AblationRowId = (typeof ABLATION_ROW_IDS)[number];

/** REALM pre-training steps of every pre-trained row at the table's scale (the tiny corpus). */
export const REALM_STEPS = 150;
/** Open-QA fine-tuning steps of every row and seed at the table's scale (`npm run ablate`'s default). */
export const ABLATION_FINETUNE_STEPS = 80;
/** Steps between index rebuilds in REALM pre-training: the normal interval at this scale (see above). */
export const REFRESH_EVERY = 10;
/** The stale-index ablation's factor (the paper's "30x stale MIPS"). */
export const STALE_FACTOR = 30;
/** The REALM row's masking: salient spans (named entities and dates). */
export const REALM_MASKING: MaskingStrategy = 'salient';

// prettier-ignore
export const ABLATION_ROWS: readonly AblationRow[] = [
  { id: 'realm',                            name: 'REALM',                              retriever: 'realm',    reader: 'realm',    pretraining: {},                                          paper: { em: 38.2, recallAt5: 38.5 }, what: 'REALM pre-training with salient-span masks and an index rebuilt every R steps; both encoders from it.' },
  { id: 'realm-retriever-baseline-encoder', name: 'REALM retriever + baseline encoder', retriever: 'realm',    reader: 'baseline', pretraining: {},                                          paper: { em: 37.4, recallAt5: 38.5 }, what: "The REALM row's retriever with the warm start's reader (no REALM pre-training of the reader)." },
  { id: 'baseline-retriever-realm-encoder', name: 'baseline retriever + REALM encoder', retriever: 'baseline', reader: 'realm',    pretraining: {},                                          paper: { em: 35.3, recallAt5: 13.9 }, what: "The warm start's ICT retriever with the REALM row's reader." },
  { id: 'baseline',                         name: 'baseline (ORQA)',                    retriever: 'baseline', reader: 'baseline', pretraining: null,                                        paper: { em: 31.3, recallAt5: 13.9 }, what: 'ORQA: the ICT retriever and the MLM reader of the warm start, no REALM pre-training.' },
  { id: 'random-uniform-masks',             name: 'REALM with random uniform masks',    retriever: 'realm',    reader: 'realm',    pretraining: { masking: 'random-token' },                 paper: { em: 32.3, recallAt5: 24.2 }, what: "REALM pre-training on BERT's masks: 15% of the wordpieces, uniformly ('random-token')." },
  { id: 'random-span-masks',                name: 'REALM with random span masks',       retriever: 'realm',    reader: 'realm',    pretraining: { masking: 'random-span' },                  paper: { em: 35.3, recallAt5: 26.1 }, what: "REALM pre-training on SpanBERT's random spans ('random-span')." },
  { id: 'stale-30x',                        name: '30x stale MIPS',                     retriever: 'realm',    reader: 'realm',    pretraining: { refreshEvery: STALE_FACTOR * REFRESH_EVERY }, paper: { em: 28.7, recallAt5: 15.1 }, what: 'REALM pre-training with the index rebuilt 30 times less often (every 300 steps: never within the phase).' },
];

/** The row with this id (a typo is an error naming the ids). */
export function ablationRow(id: string): AblationRow {
  const row = ABLATION_ROWS.find((r) => r.id === id);
  if (!row) throw new Error(`unknown ablation row "${id}": use ${ABLATION_ROW_IDS.join(', ')}`);
  return row;
}

/** The table's scale: the model size, the warm start's steps and REALM's (overridable for short runs and tests). */
export interface AblationScale {
  preset: PresetName;
  /** Overrides of the preset shared by every run of the table (vocabSize from the corpus, step counts, ...). */
  overrides?: Partial<RealmConfig>;
}

/**
 * The REALM row's pre-training config: the preset with the table's overrides, salient masks and the
 * normal refresh interval (unless the overrides set another), and no warm-start phases (the warm start
 * is a job of its own, shared by every row).
 */
export function realmRowConfig(scale: AblationScale): RealmConfig {
  return makeConfig(scale.preset, {
    realmSteps: REALM_STEPS,
    refreshEvery: REFRESH_EVERY,
    ...scale.overrides,
    masking: REALM_MASKING,
    ictSteps: 0,
    mlmSteps: 0,
  });
}

/**
 * A row's REALM pre-training config: the REALM row's with the row's diff. A refreshEvery in the diff is
 * taken as a multiple of the normal interval, so a scale with another interval keeps "30x".
 */
export function rowPretrainingConfig(row: AblationRow, scale: AblationScale, seed: number): RealmConfig | null {
  if (row.pretraining === null) return null;
  const realm = realmRowConfig(scale);
  const diff: Partial<RealmConfig> = { ...row.pretraining };
  if (diff.refreshEvery !== undefined) diff.refreshEvery = Math.round((diff.refreshEvery / REFRESH_EVERY) * realm.refreshEvery);
  return makeConfig(scale.preset, { ...realm, ...diff, seed });
}

/**
 * The shared warm start's config (ORQA's starting point): ICT trains the retriever, MLM the reader, no
 * REALM steps. The step counts come from the scale's overrides (ictSteps, mlmSteps) or the preset.
 */
export function warmStartConfig(scale: AblationScale, seed: number): RealmConfig {
  const realm = realmRowConfig(scale);
  const preset = makeConfig(scale.preset, scale.overrides);
  return makeConfig(scale.preset, { ...realm, ictSteps: preset.ictSteps, mlmSteps: preset.mlmSteps, realmSteps: 0, seed });
}

/**
 * The pre-trained model a row uses: rows with the same pretraining diff share one ('realm' for REALM's
 * own, {}); otherwise the id of the first row with that diff. null when the row pre-trains nothing.
 */
export function pretrainingKey(row: AblationRow): string | null {
  if (row.pretraining === null) return null;
  const same = (a: PretrainingDiff, b: PretrainingDiff) =>
    JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  if (Object.keys(row.pretraining).length === 0) return 'realm';
  return ABLATION_ROWS.find((r) => r.pretraining !== null && same(r.pretraining, row.pretraining!))!.id;
}
