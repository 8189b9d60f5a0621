// Stored runs, as user stories: a run cut off by a reload carries on training in one click, with its
// charts, refresh timeline and index back; a finished run opens again from the Runs panel (charts,
// timeline, index, the inspector over its last checkpoint), and a second run is overlaid to compare.
// The default backend (auto), tiny preset, micro corpus, a few steps.
import type { Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

interface Hooks {
  run: {
    state(): { runId: string; status: string; step: number; total: number } | null;
    events(): { type: string; step: number; version?: number }[];
  };
  index: {
    timeline(): { bars: { version: number; state: string }[]; spans: number; stalenessPoints: number };
    drawnBars(): number;
  };
}

const hook = <T>(page: Page, fn: (h: Hooks) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;

const state = (page: Page) => hook(page, (h) => h.run.state());

test('a run cut off by a reload carries on training in one click, with its charts, timeline and index', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  const query = '?preset=tiny&ict=2&mlm=2&realm=60&refresh=async&every=2&ckpt=4&eval=0&batch=2&k=2&seed=3&bundle=micro';
  await openAppWithCorpus(page, query, ['run', 'index']);
  await page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true }).click();
  // Train until an index was swapped in and a checkpoint stored after it, then reload mid-run.
  await expect
    .poll(
      async () => {
        const ev = await hook(page, (h) => h.run.events());
        const swap = ev.find((e) => e.type === 'swap');
        return !!swap && ev.some((e) => e.type === 'checkpoint' && e.step > swap.step);
      },
      { timeout: 300_000, intervals: [500] },
    )
    .toBe(true);
  const before = (await state(page))!;
  expect(before.status).toBe('running');
  await page.reload();
  await openAppWithCorpus(page, query, ['run', 'index']);

  // The offer says what happened without contradicting itself, and one click carries on training.
  const offer = page.getByTestId('resume-offer');
  await expect(offer).toContainText(`Run ${before.runId} was cut off at step`);
  await expect(offer).not.toContainText('(running)');
  const button = offer.getByRole('button', { name: /^Resume training from step \d+$/ });
  const from = Number((await button.textContent())!.match(/\d+$/)![0]);
  await button.click();
  await expect(page.getByTestId('run-status')).toHaveText('running');
  const after = (await state(page))!;
  expect(after.runId).toBe(before.runId);
  expect(after.step).toBeGreaterThanOrEqual(from);
  // Restored at once, before any new build: the charts, the timeline's lanes and the index panel.
  const charts = page.getByTestId('charts-panel');
  expect(Number(await charts.getByTestId('chart-loss').getAttribute('data-points'))).toBeGreaterThanOrEqual(from);
  const t = await hook(page, (h) => h.index.timeline());
  expect(t.spans).toBeGreaterThanOrEqual(2);
  expect(t.bars.some((b) => b.state === 'swapped')).toBe(true);
  expect(t.stalenessPoints).toBeGreaterThan(0);
  const index = page.getByTestId('index-panel');
  await expect(index.getByTestId('index-version')).toHaveText(/^v\d+$/);
  await expect(index).not.toContainText('The first index is built when the REALM phase starts');
  await expect(index.getByTestId('timeline-build').first()).toBeVisible();
  // It trains on (steps past the checkpoint), and the steps/s line is measured again.
  await expect.poll(async () => (await state(page))!.step, { timeout: 120_000 }).toBeGreaterThan(from + 2);
  await expect(page.getByTestId('run-rate')).toHaveText(/^\d+\.\d\d$/);
  await page.getByTestId('run-panel').getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('run-status')).toHaveText('stopped');
  await expect(page.getByTestId('run-rate')).toHaveText('–');
  expect(watch.errors).toEqual([]);
});

test('a finished run opens again from the Runs panel, and a second run is overlaid to compare', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  const query = '?preset=tiny&ict=2&mlm=2&realm=4&refresh=async&every=2&ckpt=4&eval=4&batch=2&k=2&seed=3&bundle=micro';
  await openAppWithCorpus(page, query, ['run', 'index', 'inspector']);
  const start = page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true });
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    if (i === 1) {
      // The second run with another seed, so the comparison has something to show.
      const config = page.getByTestId('config-panel');
      await config.locator('summary', { hasText: 'Advanced' }).click();
      await config.getByLabel('Seed').fill('4');
    }
    await start.click();
    await expect.poll(async () => (await state(page))?.runId ?? '').not.toBe(ids.at(-1) ?? '');
    await expect(page.getByTestId('run-status')).toHaveText('done', { timeout: 300_000 });
    ids.push((await state(page))!.runId);
  }
  const total = (await state(page))!.total;

  // After a reload nothing is open; the first run opens from the Runs panel.
  await page.reload();
  await openAppWithCorpus(page, query, ['run', 'index', 'inspector']);
  const charts = page.getByTestId('charts-panel');
  await expect(charts.getByTestId('chart-loss')).toHaveAttribute('data-points', '0');
  const runs = page.getByTestId('runs-panel');
  await runs.getByRole('button', { name: `Open run ${ids[0]}` }).click();
  await expect(page.getByTestId('run-status')).toHaveText('done');
  expect((await state(page))!.runId).toBe(ids[0]);
  await expect(charts.getByTestId('chart-loss')).toHaveAttribute('data-points', String(total));
  await expect(charts).toContainText('held-out evaluation every 4 steps (2 so far)');
  const index = page.getByTestId('index-panel');
  await expect(index.getByTestId('index-version')).toHaveText(/^v\d+$/);
  await expect.poll(() => hook(page, (h) => h.index.drawnBars())).toBeGreaterThan(0);
  // The inspector works over its last checkpoint.
  const inspector = page.getByTestId('inspector-panel');
  await inspector.getByTestId('inspector-inspect').click();
  await expect(inspector.getByTestId('inspector-result')).toBeVisible({ timeout: 120_000 });
  await expect(inspector.getByTestId('inspector-row')).toHaveCount(2);
  // The passage text opens the passage too, as its title does.
  await inspector.getByTestId('passage-excerpt').first().click();
  await expect(page.getByRole('dialog').getByTestId('passage')).toBeVisible();
  await page.keyboard.press('Escape');

  // The second run overlaid on the charts, dashed.
  await runs.getByRole('button', { name: `Compare with run ${ids[1]}` }).click();
  await expect(charts.getByTestId('charts-compare')).toContainText(`run ${ids[1]} (${total} steps)`);
  await expect(charts.getByTestId('chart-loss')).toHaveAttribute('data-compare-points', String(total));
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: 'test-results/panels/reopened-run.png' });
  await runs.screenshot({ path: 'test-results/panels/runs-open-compare.png' });
  await charts.getByRole('button', { name: 'Stop comparing' }).click();
  await expect(charts.getByTestId('charts-compare')).toHaveCount(0);
  expect(watch.errors).toEqual([]);
});
