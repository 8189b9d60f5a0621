// The small preset (the browser's default demo) trains every phase on wasm in the page: before the wasm
// kernels of src/platform/wasm-kernels.ts and the custom gradients of src/model/bert-ops.ts it aborted
// at the end of its first phase ("Aborted()", then "memory access out of bounds"). Node has the same
// check with more steps (scripts/train-small-wasm.test.ts); this one runs the page's own loop, worker
// and storage.
import type { Page } from '@playwright/test';
import { expect, openAppWithCorpus, test, watchPage } from './helpers';

const QUERY = '?backend=wasm&preset=small&ict=1&mlm=1&realm=2&refresh=async&every=1&ckpt=1&eval=0&seed=2&bundle=micro';

interface RunHook {
  start(): Promise<void>;
  state(): { status: string; step: number; total: number; phase: string } | null;
  events(): { type: string; step: number; detail?: string }[];
}
const run = <T>(page: Page, fn: (h: RunHook) => T) => page.evaluate(`(${fn.toString()})(window.__realm.run)`) as Promise<T>;

test('the small preset trains ICT, MLM and REALM steps on wasm in the page', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, QUERY, ['run']);
  expect(await page.evaluate(() => window.__realm.backend())).toBe('wasm');
  await run(page, (h) => h.start());
  // It ends done, or failed (as it did before the fix, after its first ICT step with the default batch).
  await expect
    .poll(() => run(page, (h) => h.state()?.status), { timeout: 540_000, intervals: [1000] })
    .toMatch(/^(done|failed)$/);
  const errors = (await run(page, (h) => h.events())).filter((e) => e.type === 'error');
  expect(errors).toEqual([]);
  const state = (await run(page, (h) => h.state()))!;
  expect(state.step).toBe(4);
  const events = await run(page, (h) => h.events());
  const steps = events.filter((e) => e.type === 'step');
  expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4]);
  expect(events.some((e) => e.type === 'swap')).toBe(true);
  expect(watch.errors).toEqual([]);
});
