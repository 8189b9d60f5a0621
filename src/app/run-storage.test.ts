// The storage plan of a run: a checkpoint's size from the config's parameter count (weights, m, v),
// the warning when the run will not fit the quota, and persistent storage asked once per page.
import { afterEach, describe, expect, it } from 'vitest';
import { countParams, makeConfig } from '../model/config';
import type { StorageStatus } from '../storage/db';
import { checkpointBytes, planRunStorage, resetPersistenceRequest, storagePlanNotice, type StorageApi } from './run-storage';

afterEach(() => resetPersistenceRequest());

/** A browser with `free` bytes left; `persisted` until asked, and the answer it gives. */
function browser(free: number, answer: 'granted' | 'denied' | 'unsupported' = 'granted', persisted = false) {
  const calls = { persist: 0 };
  const api: StorageApi = {
    status: async (): Promise<StorageStatus> => ({ known: true, usage: 1000, quota: 1000 + free, persisted }),
    persist: async () => {
      calls.persist++;
      if (answer === 'granted') persisted = true;
      return answer;
    },
  };
  return { api, calls };
}

describe('run storage plan', () => {
  it("sizes a checkpoint as weights + AdamW's m and v in float32 (the small preset: about 183 MiB as issue 33 says)", () => {
    const small = makeConfig('small');
    expect(checkpointBytes(small)).toBe(countParams(small).total * 12);
    expect(checkpointBytes(small) / 1024 ** 2).toBeGreaterThan(150);
    expect(checkpointBytes(small) / 1024 ** 2).toBeLessThan(220);
  });

  it('warns when keep + 2 checkpoints will not fit the quota, and says what to do', async () => {
    const cfg = makeConfig('small');
    const one = checkpointBytes(cfg);
    const { api } = browser(3 * one, 'denied');
    const plan = await planRunStorage(cfg, 2, api);
    expect(plan.fits).toBe(false);
    const n = storagePlanNotice(plan, 2);
    expect(n.warning).toBe(true);
    expect(n.message).toMatch(/Storage warning: this run needs about .* but only .* is free.*Delete old runs/);
    expect(n.message).toMatch(/Persistent storage was requested and refused/);
    const roomy = await planRunStorage(cfg, 2, browser(4 * one).api);
    expect(roomy.fits).toBe(true);
    expect(storagePlanNotice(roomy, 2).message).toMatch(/keeps at most 3/);
  });

  it('asks for persistent storage at the first run of the page only, and not when already granted', async () => {
    const cfg = makeConfig('tiny');
    const b = browser(1e12, 'granted');
    expect((await planRunStorage(cfg, 2, b.api)).persistence).toBe('granted');
    expect(storagePlanNotice(await planRunStorage(cfg, 2, b.api), 2).message).not.toMatch(/Persistent/);
    expect(b.calls.persist).toBe(1);
    resetPersistenceRequest();
    const already = browser(1e12, 'granted', true);
    expect((await planRunStorage(cfg, 2, already.api)).persistence).toBe('already');
    expect(already.calls.persist).toBe(0);
  });
});
