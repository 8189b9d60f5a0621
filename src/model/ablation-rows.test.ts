import { describe, expect, it } from 'vitest';
import { createMasker, type SentenceToMask } from '../corpus/masking';
import { Rng } from '../corpus/rng';
import {
  ABLATION_ROW_IDS,
  ABLATION_ROWS,
  ablationRow,
  pretrainingKey,
  realmRowConfig,
  REFRESH_EVERY,
  REALM_STEPS,
  rowPretrainingConfig,
  STALE_FACTOR,
  warmStartConfig,
  type AblationRow,
  type AblationScale,
} from './ablation-rows';
import { validateConfig, type RealmConfig } from './config';

const SCALE: AblationScale = { preset: 'tiny', overrides: { vocabSize: 500, ictSteps: 40, mlmSteps: 30 } };
const SEED = 7;

/** The config fields in which a row's pre-training differs from the REALM row's (same seed). */
function diffFromRealm(row: AblationRow): Partial<RealmConfig> {
  const realm = rowPretrainingConfig(ablationRow('realm'), SCALE, SEED)!;
  const mine = rowPretrainingConfig(row, SCALE, SEED)!;
  validateConfig(mine);
  return Object.fromEntries(
    (Object.keys(mine) as (keyof RealmConfig)[]).filter((k) => mine[k] !== realm[k]).map((k) => [k, mine[k]]),
  ) as Partial<RealmConfig>;
}

/** 100 wordpieces with one salient span over pieces 40..42. */
function sentenceWithSpan(): SentenceToMask {
  const ids = Array.from({ length: 100 }, (_, i) => 100 + i);
  const offsets = ids.map((_, i) => [2 * i, 2 * i + 1] as [number, number]);
  return { ids, offsets, spans: [{ start: 80, end: 85, type: 'place' }], sourceDocId: 'p' };
}

/** Masked positions of `n` queries cut from the sentence with the row's masking, and their runs' lengths. */
function masks(row: AblationRow, n = 200) {
  const cfg = rowPretrainingConfig(row, SCALE, SEED)!;
  const masker = createMasker(cfg.masking, { vocabSize: 1000 });
  const rng = new Rng(3);
  const positions: number[][] = [];
  const runs: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = [...masker.mask(sentenceWithSpan(), rng)!.maskPositions];
    positions.push(p);
    let run = 1;
    for (let k = 1; k <= p.length; k++)
      if (k < p.length && p[k] === p[k - 1] + 1) run++;
      else {
        runs.push(run);
        run = 1;
      }
  }
  return { positions, meanRun: runs.reduce((a, b) => a + b, 0) / runs.length };
}

describe('the seven rows of Table 2', () => {
  it("are the paper's rows, in its order, with its figures", () => {
    expect(ABLATION_ROWS.map((r) => r.id)).toEqual([...ABLATION_ROW_IDS]);
    expect(ABLATION_ROWS.map((r) => [r.name, r.paper.em, r.paper.recallAt5])).toEqual([
      ['REALM', 38.2, 38.5],
      ['REALM retriever + baseline encoder', 37.4, 38.5],
      ['baseline retriever + REALM encoder', 35.3, 13.9],
      ['baseline (ORQA)', 31.3, 13.9],
      ['REALM with random uniform masks', 32.3, 24.2],
      ['REALM with random span masks', 35.3, 26.1],
      ['30x stale MIPS', 28.7, 15.1],
    ]);
    expect(() => ablationRow('realm-2')).toThrow(/unknown ablation row "realm-2": use realm, /);
  });

  it('REALM: salient-span masks, the normal refresh interval, REALM steps and no warm-start phases; both encoders REALM-pre-trained', () => {
    const row = ablationRow('realm');
    expect([row.retriever, row.reader]).toEqual(['realm', 'realm']);
    const c = rowPretrainingConfig(row, SCALE, SEED)!;
    validateConfig(c);
    expect(c).toMatchObject({
      masking: 'salient',
      refreshEvery: REFRESH_EVERY,
      realmSteps: REALM_STEPS,
      ictSteps: 0,
      mlmSteps: 0,
      seed: SEED,
    });
    expect(c).toEqual({ ...realmRowConfig(SCALE), seed: SEED });
    expect(diffFromRealm(row)).toEqual({});
    expect(pretrainingKey(row)).toBe('realm');
  });

  it("REALM retriever + baseline encoder: REALM's own pre-training (shared), the reader from the warm start", () => {
    const row = ablationRow('realm-retriever-baseline-encoder');
    expect([row.retriever, row.reader]).toEqual(['realm', 'baseline']);
    expect(diffFromRealm(row)).toEqual({});
    expect(pretrainingKey(row)).toBe('realm');
  });

  it("baseline retriever + REALM encoder: the warm start's ICT retriever, REALM's reader (shared pre-training)", () => {
    const row = ablationRow('baseline-retriever-realm-encoder');
    expect([row.retriever, row.reader]).toEqual(['baseline', 'realm']);
    expect(diffFromRealm(row)).toEqual({});
    expect(pretrainingKey(row)).toBe('realm');
  });

  it('baseline (ORQA): no REALM pre-training; both encoders from the warm start (ICT retriever, MLM reader)', () => {
    const row = ablationRow('baseline');
    expect([row.retriever, row.reader]).toEqual(['baseline', 'baseline']);
    expect(row.pretraining).toBeNull();
    expect(rowPretrainingConfig(row, SCALE, SEED)).toBeNull();
    expect(pretrainingKey(row)).toBeNull();
    const warm = warmStartConfig(SCALE, SEED);
    validateConfig(warm);
    expect(warm).toMatchObject({ ictSteps: 40, mlmSteps: 30, realmSteps: 0, ictMaskedQueryProbability: 0 });
  });

  it("random uniform masks: only the masking differs, BERT's uniform 15% of the wordpieces, not the salient span", () => {
    const row = ablationRow('random-uniform-masks');
    expect([row.retriever, row.reader]).toEqual(['realm', 'realm']);
    expect(diffFromRealm(row)).toEqual({ masking: 'random-token' });
    const { positions, meanRun } = masks(row);
    for (const p of positions) expect(p).toHaveLength(15);
    expect(meanRun).toBeLessThan(1.5); // isolated wordpieces (runs only by chance)
    const salient = masks(ablationRow('realm')).positions;
    for (const p of salient) expect(p).toEqual([41, 42, 43]); // pieces 40..42 after [CLS]
  });

  it("random span masks: only the masking differs, SpanBERT's contiguous random spans", () => {
    const row = ablationRow('random-span-masks');
    expect(diffFromRealm(row)).toEqual({ masking: 'random-span' });
    const { positions, meanRun } = masks(row);
    expect(meanRun).toBeGreaterThan(3); // geometric spans of mean 3.8
    expect(positions.some((p) => p.join() !== '41,42,43')).toBe(true);
  });

  it('30x stale MIPS: only the refresh interval differs, 30 times the normal one (every REALM step of the phase on one index)', () => {
    const row = ablationRow('stale-30x');
    expect(diffFromRealm(row)).toEqual({ refreshEvery: STALE_FACTOR * REFRESH_EVERY });
    expect(STALE_FACTOR * REFRESH_EVERY).toBe(300);
    expect(STALE_FACTOR * REFRESH_EVERY).toBeGreaterThanOrEqual(REALM_STEPS);
    // A scale with another interval keeps the factor.
    const short: AblationScale = { preset: 'tiny', overrides: { refreshEvery: 4, realmSteps: 12 } };
    expect(rowPretrainingConfig(row, short, 1)!.refreshEvery).toBe(120);
    expect(rowPretrainingConfig(ablationRow('realm'), short, 1)!.refreshEvery).toBe(4);
  });

  it('pre-trainings: four distinct ones per seed (REALM shared by the two swap rows), none for the baseline', () => {
    const keys = new Set(ABLATION_ROWS.map(pretrainingKey).filter((k) => k !== null));
    expect([...keys]).toEqual(['realm', 'random-uniform-masks', 'random-span-masks', 'stale-30x']);
  });
});
