// The studio as a whole: a setup shared as a link comes back on reload, and the run started from it
// uses it; each panel is saved as a screenshot under test-results/panels/.
import { expect, test, openApp, openAppWithCorpus, watchPage } from './helpers';

test('a setup shared as a link is restored on reload, and the next run uses it', async ({ page, baseURL }) => {
  const watch = watchPage(page, baseURL!);
  await openApp(page, '?backend=webgpu&bundle=micro');
  const config = page.getByTestId('config-panel');
  await config.getByRole('button', { name: 'Smoke test' }).click();
  // REALM's options and the research knobs fold away until asked for.
  await expect(config.getByLabel('Trivial candidate')).toBeHidden();
  await config.locator('summary', { hasText: 'Paper options' }).click();
  await config.locator('summary', { hasText: 'Advanced' }).click();
  await config.getByLabel('k (candidates)').fill('3');
  await config.getByLabel('Trivial candidate').selectOption('sentence');
  await config.getByLabel('Marginalisation').selectOption('joint');
  await config.getByLabel('Seed').fill('11');
  const shared = page.url();
  const params = new URL(shared).searchParams;
  expect(params.get('k')).toBe('3');
  expect(params.get('exclude')).toBe('sentence');
  expect(params.get('mode')).toBe('joint');
  expect(params.get('realm')).toBe('8');
  expect(params.get('backend')).toBe('webgpu');
  await config.screenshot({ path: 'test-results/panels/config.png' });

  // Someone opens the shared link in a fresh page.
  const other = await page.context().newPage();
  const otherWatch = watchPage(other, baseURL!);
  await openAppWithCorpus(other, new URL(shared).search);
  const restored = other.getByTestId('config-panel');
  await expect(restored.getByLabel('k (candidates)')).toHaveValue('3');
  await expect(restored.getByLabel('Trivial candidate')).toHaveValue('sentence');
  await expect(restored.getByLabel('Marginalisation')).toHaveValue('joint');
  await expect(restored.getByLabel('Seed')).toHaveValue('11');
  await expect(restored.getByLabel('REALM steps')).toHaveValue('8');
  await expect(restored.getByTestId('config-warnings')).toHaveCount(0);

  // The run started there is configured by the link.
  await other.evaluate('window.__realm.run.start()');
  const cfg = await other.evaluate('window.__realm.run.config()');
  expect(cfg).toMatchObject({
    k: 3,
    trivialExclusion: 'sentence',
    marginalisation: 'joint',
    seed: 11,
    ictSteps: 2,
    mlmSteps: 2,
    realmSteps: 8,
    batchSize: 2,
  });
  await other.evaluate('window.__realm.run.stop()');

  // A bad value in a link is ignored with a warning, never a broken page.
  await openApp(page, '?backend=webgpu&k=banana&mode=sideways');
  await expect(page.getByTestId('config-warnings')).toContainText('Ignored k=banana');
  await expect(page.getByTestId('config-warnings')).toContainText('Ignored mode=sideways');

  expect(watch.errors).toEqual([]);
  expect(otherWatch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});

test('the whole studio at 1280x800 after a smoke run, in light and dark themes', async ({ page, baseURL }) => {
  test.setTimeout(1_080_000); // a wait bound, not a speed check: SwiftShader on 2 shared cores varies 2x from day to day
  const watch = watchPage(page, baseURL!);
  await page.setViewportSize({ width: 1280, height: 800 });
  await openAppWithCorpus(
    page,
    '?backend=webgpu&preset=tiny&ict=2&mlm=2&realm=4&refresh=async&every=2&ckpt=4&eval=4&batch=1&k=2&seed=3&bundle=micro',
  );
  await page.evaluate('window.__realm.run.start()');
  await expect
    .poll(() => page.evaluate('window.__realm.run.state()?.status'), { timeout: 900_000, intervals: [2_000] })
    .toBe('done');
  // Every panel is on the page, none shows its error boundary, and nothing scrolls sideways at 1280 px.
  for (const id of ['corpus', 'config', 'charts', 'index', 'inspector', 'map', 'runs', 'ask', 'ablations'])
    await expect(page.getByTestId(`${id}-panel`)).toBeVisible();
  await expect(page.getByTestId('panel-error')).toHaveCount(0);
  // Held-out evaluations at steps 4 and 8; the end of the run does not evaluate step 8 twice.
  await expect(page.getByTestId('charts-panel')).toContainText('held-out evaluation every 4 steps (2 so far)');
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);
  // Inspect the first held-out sentence, so the screenshot shows what is retrieved for it.
  const inspector = page.getByTestId('inspector-panel');
  await inspector.getByTestId('inspector-inspect').click();
  await expect(inspector.getByTestId('inspector-result')).toBeVisible();
  await page.emulateMedia({ colorScheme: 'light' });
  await page.screenshot({ path: 'test-results/panels/studio-light.png', fullPage: true });
  // The theme toggle, by keyboard: system -> light -> dark.
  const toggle = page.getByRole('button', { name: /Switch theme/ });
  await toggle.focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await page.screenshot({ path: 'test-results/panels/studio-dark.png', fullPage: true });
  expect(watch.errors).toEqual([]);
});
