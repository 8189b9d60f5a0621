import { expect, test, openApp, watchPage } from './helpers';

test('the app runs on WebGPU in the page and in the index-builder worker', async ({ page, baseURL }) => {
  const watch = watchPage(page, baseURL!);
  await openApp(page, '?backend=webgpu');

  // The backend, asserted through the test hook (not by scraping text).
  expect(await page.evaluate(() => window.__realm.backend())).toBe('webgpu');
  expect(await page.evaluate(() => window.__realm.workerMode())).toBe('worker');
  expect(await page.evaluate(() => window.__realm.workerBackend())).toBe('webgpu');
  const report = await page.evaluate(() => window.__realm.backendReport());
  expect(report.adapter).not.toBeNull();
  expect(report.adapter!.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
  // On these machines the adapter is SwiftShader, and the app must say so plainly.
  if (report.adapter!.software) {
    await expect(page.getByTestId('backend-notes')).toContainText('emulated on the CPU');
  }
  await expect(page.getByTestId('backend-name')).toHaveText('webgpu');

  // A Comlink round trip of a Float32Array, transferred both ways.
  const values = [1.5, -2, 3.25, 0, 1e-3, 65504];
  const trip = await page.evaluate((v) => window.__realm.roundTrip(v, 2), values);
  expect(trip.detached).toBe(true);
  expect(trip.values).toHaveLength(values.length);
  trip.values.forEach((x, i) => expect(x).toBeCloseTo(values[i] * 2, 5));

  // A record written to IndexedDB survives a reload.
  const stamp = `written at ${Date.now()}`;
  await page.evaluate((s) => window.__realm.putSetting('e2e-foundation', s), stamp);
  await page.reload();
  await openApp(page, '?backend=webgpu');
  expect(await page.evaluate(() => window.__realm.getSetting('e2e-foundation'))).toBe(stamp);

  expect(watch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});

test('without a worker the builder runs on the main thread and the page says so', async ({ page, baseURL }) => {
  const watch = watchPage(page, baseURL!);
  await openApp(page, '?backend=webgpu&worker=off');
  expect(await page.evaluate(() => window.__realm.workerMode())).toBe('main-thread');
  expect(await page.evaluate(() => window.__realm.workerFallbackReason())).toMatch(/turned off/);
  await expect(page.getByTestId('backend-notes')).toContainText('main thread');
  const trip = await page.evaluate(() => window.__realm.roundTrip([1, 2, 3], -1));
  expect(trip.values).toEqual([-1, -2, -3]);
  expect(watch.errors).toEqual([]);
});

test('an unknown ?backend= value is reported, not silently ignored', async ({ page }) => {
  await openApp(page, '?backend=cuda');
  await expect(page.getByTestId('backend-notes')).toContainText('Unknown backend "cuda"');
});
