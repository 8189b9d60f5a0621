// A new user's first hour, as user stories: the first visit (a guide, Start and the loss chart in the
// first screen at 1280x800, the first chart point timed from opening the URL), Start waiting for the
// bundled corpus rather than failing, and a link with bad
// values (each shown as ignored, an unknown key warned about, no reload offered on a backend that
// does not exist).
import { expect, test, openApp, watchPage } from './helpers';

const FIRST_RUN = '?preset=tiny&ict=2&mlm=2&realm=4&refresh=async&every=2&ckpt=2&eval=0&batch=2&k=2&seed=3&bundle=micro';

/** Whether the element lies wholly inside the 1280x800 first screen (no scrolling). */
async function inFirstScreen(box: { x: number; y: number; width: number; height: number } | null) {
  expect(box).not.toBeNull();
  const b = box!;
  return b.x >= 0 && b.y >= 0 && b.x + b.width <= 1280 && b.y + b.height <= 800;
}

test('first visit: a guide, Start and the loss chart on one screen, and the first chart point', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await page.setViewportSize({ width: 1280, height: 800 });
  // Normal waits are not errors: record every alert the map, index and inspector panels ever show.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __alerts: string[] }).__alerts = seen;
    const panels = ['map', 'index', 'inspector'].map((p) => `[data-testid="${p}-panel"] [role="alert"]`).join(', ');
    new MutationObserver(() => {
      for (const el of document.querySelectorAll(panels))
        if (!seen.includes(el.textContent ?? '')) seen.push(el.textContent ?? '');
    }).observe(document, { childList: true, subtree: true, characterData: true });
  });
  const opened = Date.now();
  await page.goto(`/${FIRST_RUN}`);
  // The shell paints before the backend is up, and says what is loading.
  await expect(page.getByRole('heading', { name: 'REALM in the browser' })).toBeVisible();
  const shellAt = Date.now() - opened;
  await expect(page.getByTestId('first-run-guide')).toBeVisible();
  await expect(page.locator('.app[data-ready="true"]')).toBeVisible({ timeout: 120_000 });
  const readyAt = Date.now() - opened;

  const start = page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true });
  const loss = page.getByTestId('chart-loss');
  expect(await inFirstScreen(await start.boundingBox()), 'Start in the first screen').toBe(true);
  expect(await inFirstScreen(await loss.boundingBox()), 'the loss chart in the first screen').toBe(true);
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
  await page.screenshot({ path: 'test-results/panels/first-run.png' });

  // Start waits for the bundled corpus (disabled, with a note, while it is stored), so the first
  // click cannot meet "No corpus is active yet"; then the user presses it and watches the loss chart.
  await expect(start).toBeEnabled({ timeout: 180_000 });
  expect(await page.evaluate(() => window.__realm.activeCorpus()), 'a corpus is active once Start is enabled').not.toBeNull();
  await expect(page.getByTestId('run-waiting-corpus')).toHaveCount(0);
  await start.click();
  await expect
    .poll(async () => Number(await loss.getAttribute('data-points')), { timeout: 300_000, intervals: [100] })
    .toBeGreaterThan(0);
  const firstPointAt = Date.now() - opened;
  console.log(
    `first visit on ${await page.evaluate(() => window.__realm.backend())}: shell painted ${shellAt} ms, app ready ${readyAt} ms, first loss point drawn ${firstPointAt} ms after opening the URL`,
  );
  await expect(page.getByTestId('run-status')).toHaveText('done', { timeout: 300_000 });
  await page.screenshot({ path: 'test-results/panels/first-run-trained.png' });
  // The first index was built and the map drawn from it without a red message on the way.
  await expect(page.getByTestId('index-version')).toHaveText(/^v\d+$/);
  expect(await page.evaluate(() => (window as unknown as { __alerts: string[] }).__alerts)).toEqual([]);
  // A stopped or finished run shows no speed and no ETA.
  await expect(page.getByTestId('run-rate')).toHaveText('–');
  await expect(page.getByTestId('run-progress')).not.toContainText('ETA');

  // The guide goes when dismissed, and stays gone on the next visit.
  await page.getByTestId('first-run-guide').getByRole('button', { name: 'Got it' }).click();
  await expect(page.getByTestId('first-run-guide')).toHaveCount(0);
  await openApp(page, FIRST_RUN);
  await expect(page.getByTestId('first-run-guide')).toHaveCount(0);
  expect(watch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});

test('a link with bad values: each is shown as ignored, an unknown key is warned about', async ({ page, baseURL }) => {
  const watch = watchPage(page, baseURL!);
  await openApp(page, '?backend=nope&k=-5&steps=abc&batch=1e8&realm=1e15&ckpt=1e9&mode=sideways');
  const config = page.getByTestId('config-panel');
  const warnings = config.getByTestId('config-warnings');
  for (const w of [
    'Ignored steps=abc',
    'Ignored k=-5',
    'Ignored batch=1e8',
    'Ignored realm=1e15',
    'Ignored ckpt=1e9',
    'Ignored mode=sideways',
  ])
    await expect(warnings).toContainText(w);
  // Each ignored field shows the default it uses, with a note; its group is opened to show it.
  await expect(config.getByLabel('k (candidates)')).toHaveValue('4');
  await expect(config.getByLabel('REALM steps')).toHaveValue('200');
  await expect(config.getByLabel('Batch size')).toHaveValue('4');
  await expect(config.getByLabel('Checkpoint every')).toHaveValue('20');
  await expect(config.getByLabel('Marginalisation')).toHaveValue('per-mask');
  await expect(config.getByTestId('config-ignored')).toHaveCount(6);
  await expect(config.getByTestId('config-ignored').first()).toContainText('ignored');
  // An unknown backend: the header says so, the form shows auto, and no reload is offered on it.
  await expect(page.getByTestId('backend-notes')).toContainText('Unknown backend "nope"');
  await expect(config.getByLabel('Backend')).toHaveValue('auto');
  await expect(config.getByRole('button', { name: /Reload on/ })).toHaveCount(0);
  expect(watch.errors).toEqual([]);
});

test('Start waits while the bundled corpus is being stored, then starts a run', async ({ page, baseURL }) => {
  const watch = watchPage(page, baseURL!);
  // Hold the corpus's passages until the test lets them through, so the wait is seen for sure.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route('**/corpus/micro/passages.jsonl', async (route) => {
    await held;
    await route.continue();
  });
  await openApp(page, FIRST_RUN);
  const start = page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true });
  await expect(page.getByTestId('run-waiting-corpus')).toBeVisible();
  await expect(start).toBeDisabled();
  expect(await page.evaluate(() => window.__realm.activeCorpus())).toBeNull();
  release();
  await expect(start).toBeEnabled({ timeout: 120_000 });
  await expect(page.getByTestId('run-waiting-corpus')).toHaveCount(0);
  await start.click();
  await expect(page.getByTestId('run-status')).toHaveText(/running|done/, { timeout: 120_000 });
  await expect(page.getByTestId('run-panel').getByRole('alert')).toHaveCount(0);
  expect(watch.errors).toEqual([]);
});
