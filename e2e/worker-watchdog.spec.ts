// Workers that die without a word (the browser kills them; no error event): the watchdog notices
// within its silence timeout, the importer's job fails with a clear message and the next import
// works; the builder restarts and the run finishes. An error nobody caught reaches the header.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { RunEvent } from '../src/app/studio-store';
import { expect, test, openApp, openAppWithCorpus } from './helpers';

/** The Training panel's part of the test hook that this spec uses. */
interface RunHook {
  start(): Promise<void>;
  state(): { status: string; step: number } | null;
  events(): RunEvent[];
}
const runHook = <T>(page: Page, fn: (r: RunHook) => T) => page.evaluate(`(${fn.toString()})(window.__realm.run)`) as Promise<T>;

const line = (o: unknown) => JSON.stringify(o);
const jsonl = (n: number) =>
  Buffer.from(
    Array.from({ length: n }, (_, i) =>
      line({ title: `Report ${i}`, text: `In ${1900 + (i % 100)} the committee met in Berlin to discuss item ${i}.` }),
    ).join('\n') + '\n',
  );

test('importer worker terminated mid-import: clear message, nothing stored lost, next import works', async ({ page }) => {
  test.setTimeout(120_000);
  await openApp(page, '?backend=webgpu');
  await page.waitForFunction(() => window.__realm.corpusStarted() && window.__realm.corpusJob() === null, null, {
    timeout: 60_000,
  });
  const before = await page.evaluate(() => window.__realm.listCorpora());
  const tiny = JSON.parse(readFileSync('public/corpus/tiny/manifest.json', 'utf8')) as { counts: { passages: number } };
  await page.evaluate(() => window.__realm.setWatchdogTimes(2000, 250));
  const input = page.getByTestId('corpus-file-input');
  await input.setInputFiles({ name: 'big.jsonl', mimeType: 'application/jsonl', buffer: jsonl(4000) });
  await expect(page.getByTestId('corpus-progress')).toBeVisible();
  expect(await page.evaluate(() => window.__realm.killImporterSilently())).toBe(true);
  const report = page.getByTestId('import-report');
  await expect(report).toHaveAttribute('data-status', 'failed', { timeout: 15_000 });
  await expect(report).toContainText(/corpus importer worker stopped \(it gave no sign of life for \d+(\.\d)? s during a job\)/);
  await expect(report).toContainText('Import the file again');
  expect(await page.evaluate(() => window.__realm.corpusJob())).toBeNull();
  const after = await page.evaluate(() => window.__realm.listCorpora());
  expect(after).toEqual(before); // no staging leftover, nothing lost
  expect(await page.evaluate(() => window.__realm.countChunks('bundled:tiny'))).toBe(tiny.counts.passages);

  // The next import is accepted, runs on a new worker and succeeds.
  await input.setInputFiles({ name: 'small.jsonl', mimeType: 'application/jsonl', buffer: jsonl(20) });
  await expect(report).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  expect(await page.evaluate(() => window.__realm.corpusImporterMode())).toBe('worker');
  expect((await page.evaluate(() => window.__realm.listCorpora())).length).toBe(before.length + 1);
});

test('builder worker terminated mid-build: the builder restarts, no hang, the run finishes', async ({ page }) => {
  test.setTimeout(180_000);
  // wasm: a worker starts in a second here (a new WebGPU device in a worker takes ~20 s on SwiftShader).
  const query = '?backend=wasm&preset=tiny&ict=2&mlm=0&realm=4&refresh=sync&every=2&ckpt=2&batch=2&seed=3';
  await openAppWithCorpus(page, query);
  await page.evaluate(() => window.__realm.setWatchdogTimes(4000, 250));
  await runHook(page, (r) => void r.start());
  // As soon as the first index build starts, its worker dies without a word.
  await expect
    .poll(() => runHook(page, (r) => r.events().some((e) => e.type === 'build-start')), { timeout: 60_000, intervals: [50] })
    .toBe(true);
  await page.evaluate(() => window.__realm.killBuilderSilently());
  await expect.poll(() => page.evaluate(() => window.__realm.builderRestarts()), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
  expect(await page.evaluate(() => window.__realm.workerMode())).toBe('worker');
  await expect.poll(() => runHook(page, (r) => r.state()?.status), { timeout: 120_000 }).toBe('done');
  const events = await runHook(page, (r) => r.events());
  const failed = events.filter((e) => e.type === 'build-end' && e.detail !== 'ok');
  expect(failed.length).toBeGreaterThanOrEqual(1);
  expect(failed[0].detail).toMatch(/index-builder worker stopped \(it gave no sign of life/);
  expect(events.some((e) => e.type === 'build-end' && e.detail === 'ok')).toBe(true);
  expect(await runHook(page, (r) => r.state()?.step)).toBe(6);
});

test('an error nobody handled is shown in the header notice', async ({ page }) => {
  await openApp(page, '?backend=webgpu');
  await page.evaluate(() => {
    setTimeout(() => void Promise.reject(new Error('injected: a rejection nobody handled')), 0);
  });
  const notice = page.getByTestId('uncaught-notice');
  await expect(notice).toContainText(
    'Unexpected error (a task failed and nothing handled it): Error: injected: a rejection nobody handled',
  );
  await notice.getByRole('button', { name: 'Dismiss' }).click();
  await expect(notice).toBeHidden();
});
