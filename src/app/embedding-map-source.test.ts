// The map of an index not yet in storage is a wait, not an error.
import { describe, expect, it } from 'vitest';
import { IndexNotStoredYet, mapOfIndex } from './embedding-map-source';
import type { PretrainingRun } from './pretraining-run';
import type { Runtime } from './runtime';

describe('mapOfIndex', () => {
  it('says it is waiting (IndexNotStoredYet) while the index in use is not stored, and maps it once it is', async () => {
    let stored: ({ runId: string } & Record<string, unknown>) | undefined;
    // The store keys index embeddings by corpus, run and version: it answers only for the run asked about.
    const ofRun = async (_corpusId: string, runId: string) => (stored?.runId === runId ? stored : undefined);
    const rt = { store: { getEmbeddings: ofRun, latestEmbeddings: ofRun } } as unknown as Runtime;
    const run = { settings: { corpusId: 'c', runId: 'r' } } as unknown as PretrainingRun;
    const waiting = await mapOfIndex(rt, run, 1, null).catch((e: Error) => e);
    expect(waiting).toBeInstanceOf(IndexNotStoredYet);
    expect((waiting as Error).message).toMatch(/^Waiting for index v1/);
    // Another run's vectors are not this run's index.
    stored = { runId: 'other', version: 1, vectors: new Float32Array(8), count: 4, dim: 2 };
    await expect(mapOfIndex(rt, run, 1, null)).rejects.toBeInstanceOf(IndexNotStoredYet);
    const vectors = new Float32Array([1, 0, 0, 1, -1, 0, 0, -1, 2, 1, 1, 2]);
    stored = { runId: 'r', version: 1, vectors, count: 4, dim: 3 };
    const map = await mapOfIndex(rt, run, 1, null);
    expect(map.version).toBe(1);
    expect(map.points.length).toBe(8);
  });
});
