// The resume offer after a reload: which stored run it names, and what it says.
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../storage/db';
import { lastCheckpointStep, resumeOffer, resumeOfferText } from './run-launcher';
import type { Runtime } from './runtime';

const record = (id: string, status: RunRecord['status'], step: number, updatedAt: number, corpusId = 'c'): RunRecord =>
  ({ id, status, step, updatedAt, createdAt: 0, corpusId, config: {}, finalMetrics: {} }) as RunRecord;

function runtime(runs: RunRecord[], checkpoints: Record<string, number[]>, active = 'c') {
  const store = {
    listRuns: async () => runs,
    checkpointSteps: async (id: string) => checkpoints[id] ?? [],
    activeCorpusId: async () => active,
  };
  return { store } as unknown as Runtime;
}

describe('resumeOffer', () => {
  it('offers the newest run on the active corpus that was cut off, paused or failed and has a checkpoint', async () => {
    const runs = [
      record('done', 'done', 600, 50),
      record('stopped', 'stopped', 300, 40),
      record('no-ckpt', 'running', 10, 30),
      record('failed', 'failed', 502, 20),
      record('cut', 'running', 500, 10),
      record('other-corpus', 'running', 500, 60, 'd'),
    ];
    const rt = runtime(runs, { done: [600], stopped: [300], failed: [400, 500], cut: [480], 'other-corpus': [500] });
    const offer = (await resumeOffer(rt))!;
    expect(offer.run.id).toBe('failed');
    expect(offer.checkpointStep).toBe(500);
    expect(await lastCheckpointStep(rt, 'cut')).toBe(480);
    expect(await lastCheckpointStep(rt, 'no-ckpt')).toBeNull();
    expect(await resumeOffer(runtime([record('done', 'done', 600, 50)], { done: [600] }))).toBeNull();
  });

  it('says what happened to the run without contradicting itself', () => {
    expect(resumeOfferText({ run: record('r1', 'running', 500, 0), checkpointStep: 480 })).toBe(
      'Run r1 was cut off at step 500 (the page closed while it trained). Its last checkpoint is at step 480.',
    );
    expect(resumeOfferText({ run: record('r1', 'paused', 500, 0), checkpointStep: 500 })).toBe('Run r1 is paused at step 500.');
    expect(resumeOfferText({ run: record('r1', 'failed', 502, 0), checkpointStep: 500 })).toBe(
      'Run r1 failed at step 502. Its last checkpoint is at step 500.',
    );
  });
});
