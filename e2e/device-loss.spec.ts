// The page's WebGPU device is lost mid-run (destroyed through the test hook, as a driver reset or a
// GPU process crash would lose it): the run starts a new device, restores its last checkpoint,
// says so, and trains on to the end, losing no more than one checkpoint interval of steps.
import type { Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

const CKPT = 2;
const QUERY = `?backend=webgpu&preset=tiny&ict=4&mlm=0&realm=0&ckpt=${CKPT}&eval=0&batch=2&seed=3&bundle=micro`;

interface Hooks {
  backend(): string;
  loseDevice(): boolean;
  run: {
    start(): Promise<void>;
    events(): { type: string; step: number; detail?: string }[];
    state(): { runId: string; status: string; step: number; total: number } | null;
    deviceLosses(): number;
  };
}

const hook = <T>(page: Page, fn: (h: Hooks) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;

test('a lost WebGPU device is replaced and the run carries on from its last checkpoint', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, QUERY, ['run']);
  expect(await hook(page, (h) => h.backend())).toBe('webgpu');

  await hook(page, (h) => h.run.start());
  // Wait for the first checkpoint (step 2), then for the step after it, so that work is at stake.
  await expect
    .poll(() => hook(page, (h) => h.run.state()?.step ?? 0), { timeout: 300_000, intervals: [500] })
    .toBeGreaterThanOrEqual(CKPT + 1);
  const checkpoints = (await hook(page, (h) => h.run.events())).filter((e) => e.type === 'checkpoint').map((e) => e.step);
  expect(checkpoints.length).toBeGreaterThanOrEqual(1);
  expect(await hook(page, (h) => h.loseDevice())).toBe(true);

  // The notice names the step the device was lost at and the checkpoint the run went back to.
  const notice = page.getByTestId('run-notice');
  await expect(notice).toContainText('device was lost', { timeout: 120_000 });
  const text = (await notice.textContent())!;
  const [, lostAt, restoredAt] = text.match(/at step (\d+)\..*checkpoint at step (\d+)/)!.map(Number);
  expect(lostAt - restoredAt).toBeLessThanOrEqual(CKPT);
  expect(restoredAt).toBeGreaterThanOrEqual(Math.max(...checkpoints));

  // It trains on to the end on a new WebGPU device, and a checkpoint since then clears the count.
  await expect.poll(() => hook(page, (h) => h.run.state()?.status), { timeout: 300_000, intervals: [1000] }).toBe('done');
  const state = (await hook(page, (h) => h.run.state()))!;
  expect(state.step).toBe(state.total);
  expect(await hook(page, (h) => h.backend())).toBe('webgpu');
  expect(await hook(page, (h) => h.run.deviceLosses())).toBe(0);
  const events = await hook(page, (h) => h.run.events());
  // One device-loss notice (the run's start also gives one: its storage plan).
  expect(events.filter((e) => e.type === 'notice' && /device was lost/.test(e.detail ?? ''))).toHaveLength(1);
  expect(events.filter((e) => e.type === 'error')).toEqual([]);
  // Every step from 1 to the end was recorded, those after the checkpoint twice at most.
  const steps = events.filter((e) => e.type === 'step').map((e) => e.step);
  for (let s = 1; s <= state.total; s++) expect(steps).toContain(s);
  expect(steps.length - state.total).toBeLessThanOrEqual(CKPT);
  await expect(page.getByTestId('run-panel').getByRole('alert')).toHaveCount(0);
  expect(watch.errors).toEqual([]);
});
