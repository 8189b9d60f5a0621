// The Runs panel end to end: a tiny run trained in the page shows in the list with its metrics and
// loss sparkline; it is exported as a .realm.zip download (a zip with our manifest), deleted (gone from
// the list and from storage), and imported back from the downloaded file (back with the same metrics);
// importing it again offers a copy; a file that is not a zip is refused with a clear message.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import type { Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

const QUERY = '?backend=webgpu&preset=tiny&ict=2&mlm=2&realm=8&refresh=async&every=2&ckpt=2&eval=4&batch=2&seed=3&bundle=micro';

interface Stored {
  run: boolean;
  logs: number;
  checkpoints: number;
  finalMetrics: Record<string, number> | null;
  step: number | null;
}

interface Hooks {
  run: {
    start(): Promise<void>;
    stop(): Promise<void>;
    events(): { type: string; step: number }[];
    state(): { runId: string; status: string; step: number; total: number } | null;
  };
  runs: { stored(id: string): Promise<Stored>; ids(): Promise<string[]> };
}

const hook = <T>(page: Page, fn: (h: Hooks) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;
const stored = (page: Page, id: string) => page.evaluate((runId) => (window.__realm as unknown as Hooks).runs.stored(runId), id);

test('a run is listed, exported as a zip, deleted, and imported back with its metrics', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, QUERY, ['run', 'runs']);
  const panel = page.getByTestId('runs-panel');
  await expect(panel.getByTestId('runs-storage-text')).toContainText(/used|does not say/);
  // Asking the browser to keep the data gets an answer either way.
  const persist = panel.getByRole('button', { name: 'Keep my data (persist)' });
  if (await persist.isVisible()) {
    await persist.click();
    await expect(panel.locator('.runs-storage-note')).toContainText(/keep this site|declined|cannot promise/);
  }

  // Train the tiny run until its first checkpoint (step 2, the end of ICT), then stop it: stopping
  // finishes the step under way and stores a last checkpoint. (Running all 12 steps takes minutes on
  // a shared CPU emulating WebGPU.)
  await hook(page, (h) => h.run.start());
  const runId = (await hook(page, (h) => h.run.state()))!.runId;
  await expect
    .poll(() => hook(page, (h) => h.run.events().some((e) => e.type === 'checkpoint')), { timeout: 300_000, intervals: [1000] })
    .toBe(true);
  // While it trains, it is listed as the page's run and cannot be deleted.
  const row = panel.locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
  await expect(row).toContainText('in this page');
  if ((await hook(page, (h) => h.run.state()))!.status === 'running') {
    await expect(row.getByRole('button', { name: `Delete run ${runId}` })).toBeDisabled();
  }
  await hook(page, (h) => h.run.stop());
  const state = (await hook(page, (h) => h.run.state()))!;
  expect(state.status).toBe('stopped');
  const before = await stored(page, runId);
  expect(before).toMatchObject({ run: true, step: state.step });
  expect(before.checkpoints).toBeGreaterThanOrEqual(1);
  expect(before.logs).toBeGreaterThanOrEqual(state.step);

  // Listed, with the status, steps, final metrics and a loss sparkline (the list refreshed by itself).
  await expect(row).toHaveAttribute('data-status', 'stopped');
  await expect(row.getByTestId('run-steps')).toHaveText(`${state.step} / 12`);
  await expect(row).toContainText('tiny · ICT 2 · MLM 2 · REALM 8');
  await expect(row).toContainText(`ckpt @${state.step}`);
  await expect(row.locator('[data-metric="loss"]')).toHaveText(/^([1-9]\.\d\d|[1-9]\d\.\d|[1-9]\d\d|0\.0{0,2}[1-9]\d\d)$/); // 3 significant digits, as the charts show it
  await expect(row.locator('[data-metric="mlmAccuracy"]')).toHaveText(/%$/);
  await expect(row.getByTestId('run-sparkline')).toHaveAttribute('data-points', String(state.step));
  await expect(row.locator('canvas')).toHaveCount(1);
  const metricsBefore = (await row.getByTestId('run-metrics').textContent())!;
  // 'Open config' links to the page with this run's settings (those equal to the preset's left out).
  const href = await row.getByRole('link', { name: 'Open config' }).getAttribute('href');
  const params = Object.fromEntries(new URLSearchParams(href!));
  expect(params).toEqual({
    backend: 'webgpu',
    bundle: 'micro',
    preset: 'tiny',
    ict: '2',
    mlm: '2',
    realm: '8',
    every: '2',
    ckpt: '2',
    eval: '4',
    batch: '2',
    seed: '3',
  });

  // Export: a download named <runId>.realm.zip that is a zip with our manifest and the latest checkpoint.
  const [download] = await Promise.all([page.waitForEvent('download'), row.getByRole('button', { name: 'Export' }).click()]);
  expect(download.suggestedFilename()).toBe(`${runId}.realm.zip`);
  // Outside test-results, which another Playwright run in this checkout may clear meanwhile.
  const zipPath = join(mkdtempSync(join(tmpdir(), 'realm-runs-')), `${runId}.realm.zip`);
  await download.saveAs(zipPath);
  await expect(panel.getByTestId('runs-export-done')).toContainText(`Exported run ${runId}`);
  const bytes = readFileSync(zipPath);
  expect([bytes[0], bytes[1]]).toEqual([0x50, 0x4b]);
  const files = unzipSync(new Uint8Array(bytes));
  const manifest = JSON.parse(strFromU8(files['manifest.json'])) as {
    format: string;
    version: number;
    runId: string;
    checkpointStep: number;
    entries: { path: string }[];
  };
  expect(manifest).toMatchObject({ format: 'realm-webgpu-run', version: 1, runId, checkpointStep: state.step });
  const paths = manifest.entries.map((e) => e.path);
  for (const p of ['run.json', 'metrics.jsonl', 'vocab.json', 'checkpoint/manifest.json']) expect(paths).toContain(p);
  expect(strFromU8(files['metrics.jsonl']).trim().split('\n')).toHaveLength(before.logs);

  // Delete, confirmed: gone from the list and from storage.
  await row.getByRole('button', { name: `Delete run ${runId}` }).click();
  const confirm = panel.getByTestId('runs-delete-confirm');
  await expect(confirm).toContainText(`${before.checkpoints} checkpoint`);
  await confirm.getByRole('button', { name: 'Delete', exact: true }).click();
  await expect(panel.getByTestId('runs-delete-done')).toContainText(runId);
  await expect(row).toHaveCount(0);
  expect(await stored(page, runId)).toMatchObject({ run: false, logs: 0, checkpoints: 0 });

  // Import the downloaded file back: the same run, metrics and log, with its latest checkpoint.
  const input = panel.getByTestId('runs-import-input');
  await input.setInputFiles(zipPath);
  await expect(panel.getByTestId('runs-import-done')).toContainText(
    `as run ${runId}: step ${state.step}, with its checkpoint at step ${state.step}`,
  );
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('run-metrics')).toHaveText(metricsBefore);
  await expect(row.getByTestId('run-sparkline')).toHaveAttribute('data-points', String(state.step));
  const after = await stored(page, runId);
  expect(after).toMatchObject({
    run: true,
    logs: before.logs,
    checkpoints: 1,
    step: state.step,
    finalMetrics: before.finalMetrics,
  });

  // The same file again: the id is taken, so the panel offers a copy and overwrites nothing.
  await input.setInputFiles(zipPath);
  const exists = panel.getByTestId('runs-import-exists');
  await expect(exists).toContainText(runId);
  await exists.getByRole('button', { name: 'Import as a copy' }).click();
  await expect(panel.getByTestId('runs-import-done')).toContainText(`as run ${runId}-copy (a copy of ${runId})`);
  await expect(panel.locator(`[data-testid="run-row"][data-run-id="${runId}-copy"]`)).toHaveCount(1);
  expect(await stored(page, runId)).toMatchObject({ run: true, checkpoints: 1 });

  // A file that is not a zip: refused with what went wrong and what to do.
  await input.setInputFiles({
    name: 'notes.realm.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from('just some text, not a zip'),
  });
  await expect(panel.getByTestId('runs-import-error')).toContainText('Not a zip file');
  await expect(panel.getByTestId('runs-import-error')).toContainText('Pick a .realm.zip file exported from the Runs panel');

  await panel.getByTestId('runs-import-error').scrollIntoViewIfNeeded();
  await panel.screenshot({ path: 'test-results/panels/runs.png' });
  // The dark theme (the sparkline redraws in its colours).
  await page.emulateMedia({ colorScheme: 'dark' });
  await panel.screenshot({ path: 'test-results/panels/runs-dark.png' });
  expect(watch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});
