// The Ablations panel end to end (issue #35): a two-row, one-seed table on the bundled micro corpus with
// a handful of steps, run from the panel on the page's backend with the index builder's every-R-steps
// refresh and real Open-QA fine-tuning: the progress bar gives the table's ETA, the result table shows
// both rows with numbers for EM and R@5, the chart draws a bar per row and metric with the paper's
// markers, a reload keeps the result (IndexedDB), and the page logs no errors. While the table runs, the
// Training panel's Start waits for it; the Runs panel lists the table as a group of runs, and deleting
// the group there removes the table from the Ablations panel too.
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

const QUERY = '?backend=webgpu&bundle=micro';
const SCALE: Record<string, string> = {
  seeds: '1',
  ictSteps: '2',
  mlmSteps: '2',
  realmSteps: '3',
  refreshEvery: '1',
  finetuneSteps: '2',
  finetuneBatch: '2',
};
const ROWS = ['realm', 'baseline'];

test('a two-row, one-seed ablation table runs in the page, draws its chart and survives a reload', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, QUERY, []);
  const panel = page.getByTestId('ablations-panel');
  await expect(panel).toBeVisible();
  for (const box of await panel.locator('input[type="checkbox"]').all()) {
    const name = (await box.getAttribute('name'))!.replace(/^row-/, '');
    await box.setChecked(ROWS.includes(name));
  }
  for (const [name, value] of Object.entries(SCALE)) await panel.locator(`input[name="${name}"]`).fill(value);
  await panel.getByTestId('ablations-run').click();
  await expect(panel.getByTestId('ablations-progress')).toContainText('ETA', { timeout: 60_000 });
  // One job holds the GPU at a time: a training run cannot start beside the table.
  const training = page.getByTestId('run-panel');
  await expect(training.getByTestId('run-waiting-job')).toContainText('The ablation table is running');
  await expect(training.getByRole('button', { name: 'Start', exact: true })).toBeDisabled();

  const result = panel.getByTestId('ablations-result');
  await expect(result).toBeVisible({ timeout: 480_000 });
  await expect(panel.getByTestId('ablations-error')).toHaveCount(0);
  const rows = result.locator('tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-row', 'realm');
  await expect(rows.nth(1)).toHaveAttribute('data-row', 'baseline');
  for (const r of await rows.all()) {
    await expect(r.locator('[data-cell="em"]')).toHaveText(/^\d+\.\d$/);
    await expect(r.locator('[data-cell="r5"]')).toHaveText(/^\d+\.\d$/);
  }
  await expect(rows.nth(0)).toContainText('38.2');
  await expect(rows.nth(1)).toContainText('31.3 (−6.9)');
  const chart = result.getByTestId('ablation-chart');
  await expect(chart.locator('g[data-row]')).toHaveCount(2);
  await expect(chart.locator('rect.bar')).toHaveCount(4);
  await expect(chart.getByTestId('paper-marker')).toHaveCount(4);
  const before = await result.locator('table').innerText();
  await panel.screenshot({ path: 'test-results/panels/ablations.png' });

  await page.reload();
  await expect(page.locator('.app[data-ready="true"]')).toBeVisible();
  const again = page.getByTestId('ablations-result');
  await expect(again).toBeVisible({ timeout: 60_000 });
  expect(await again.locator('table').innerText()).toBe(before);
  await expect(again.getByTestId('ablation-chart').locator('rect.bar')).toHaveCount(4);
  await expect(page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true })).toBeEnabled();

  // The Runs panel lists the table as a group: warm start, REALM's pre-training, 2 recall and 2 QA jobs.
  const group = page.getByTestId('ablation-group');
  await expect(group).toHaveCount(1);
  await expect(group).toHaveAttribute('data-status', 'done');
  await expect(group.getByTestId('ablation-group-summary')).toContainText('2 rows × 1 seed · done in');
  await expect(group.getByTestId('ablation-group-summary')).toContainText('6 of 6 jobs finished · 2 models kept');
  await group.getByRole('button', { name: /^Delete ablation table/ }).click();
  await group.getByTestId('ablation-group-delete-confirm').click();
  await expect(page.getByTestId('ablation-group')).toHaveCount(0);
  await expect(page.getByTestId('ablations-result')).toHaveCount(0);
  const left = await page.evaluate(async () => {
    const open = indexedDB.open('realm-webgpu');
    const db = await new Promise<IDBDatabase>((ok, fail) => {
      open.onsuccess = () => ok(open.result);
      open.onerror = () => fail(open.error);
    });
    const keys = <T extends IDBValidKey>(store: string) =>
      new Promise<T[]>((ok, fail) => {
        const r = db.transaction(store).objectStore(store).getAllKeys();
        r.onsuccess = () => ok(r.result as T[]);
        r.onerror = () => fail(r.error);
      });
    const settings = (await keys<string>('settings')).filter((k) => k.startsWith('ablation:') && k !== 'ablation:latest');
    const checkpoints = (await keys<[string, number]>('checkpoints')).filter((k) => k[0].startsWith('ablation:'));
    const embeddings = (await keys<[string, string, number]>('embeddings')).filter((k) => k[1].startsWith('ablation:'));
    db.close();
    return { settings, checkpoints: checkpoints.length, embeddings: embeddings.length };
  });
  expect(left).toEqual({ settings: [], checkpoints: 0, embeddings: 0 });
  expect(watch.errors).toEqual([]);
});
