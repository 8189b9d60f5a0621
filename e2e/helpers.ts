// Shared helpers for the e2e specs, and the `test` every spec uses: Playwright's, with a fixture that
// fails the test on any WebGPU validation warning or error in a page or its workers (console
// warnings and errors about WebGPU) and on any GPU error the app or the lab captured itself.
import { test as base, expect, type ConsoleMessage, type Page } from '@playwright/test';
import type { GpuErrorRecord } from '../src/platform/gpu-guard';
import type { RealmTestHook } from '../src/app/runtime';

/** The kernel lab's server (playwright.config.ts serves the bench pages' build on E2E_PORT + 1). */
export const LAB_URL = `http://localhost:${Number(process.env.E2E_PORT || 4173) + 1}`;

export { expect };

declare global {
  interface Window {
    __realm: RealmTestHook;
  }
}

/** Console text that Chromium prints for WebGPU validation, out-of-memory and device-loss errors. */
const GPU_TEXT =
  /WebGPU|\[Invalid [A-Za-z]+|validation|GPU(Validation|OutOfMemory|Internal)Error|exceeds the maximum|uncaptured|device (was )?lost/i;

/** WebGPU problems seen in any watched page or worker and not yet reported by a test. */
const gpuProblems: string[] = [];
const watchedPages = new Set<Page>();
/** How many of a page's captured GPU errors were already reported. */
const reportedCaptured = new WeakMap<Page, number>();

function onGpuConsole(where: string) {
  return (msg: ConsoleMessage) => {
    const type = msg.type();
    if ((type === 'warning' || type === 'error') && GPU_TEXT.test(msg.text()))
      gpuProblems.push(`${where} console.${type}: ${msg.text().slice(0, 400)}`);
  };
}

/** Watches a page and its workers for WebGPU warnings (idempotent). */
export function watchGpu(page: Page): void {
  if (watchedPages.has(page)) return;
  watchedPages.add(page);
  page.on('console', onGpuConsole('page'));
  page.on('worker', (w) => w.on('console', onGpuConsole(`worker ${w.url().split('/').pop()}`)));
  page.on('close', () => watchedPages.delete(page));
}

/** The GPU errors the app (`__realm.gpuErrors`) or the lab (`__lab.gpuErrors`) captured on a page. */
async function capturedGpuErrors(page: Page): Promise<GpuErrorRecord[]> {
  return page
    .evaluate(() => {
      const w = window as unknown as Record<string, { gpuErrors?: () => GpuErrorRecord[] } | undefined>;
      return [...(w.__realm?.gpuErrors?.() ?? []), ...(w.__lab?.gpuErrors?.() ?? [])];
    })
    .catch(() => []);
}

export const test = base.extend<{ gpuErrorsFail: void }>({
  gpuErrorsFail: [
    async ({ context }, use) => {
      context.pages().forEach(watchGpu);
      context.on('page', watchGpu);
      await use();
      for (const page of [...watchedPages]) {
        if (page.isClosed()) continue;
        const captured = await capturedGpuErrors(page);
        const seen = reportedCaptured.get(page) ?? 0;
        reportedCaptured.set(page, captured.length);
        for (const e of captured.slice(seen)) gpuProblems.push(`captured GPU ${e.kind} error: ${e.message.slice(0, 400)}`);
      }
      const found = gpuProblems.splice(0);
      expect(found, `WebGPU warnings or errors:\n${found.join('\n')}`).toEqual([]);
    },
    { auto: true },
  ],
});

/** Collects console errors, uncaught page errors, and requests that leave the app's origin. */
export function watchPage(page: Page, origin: string) {
  const errors: string[] = [];
  const foreignRequests: string[] = [];
  watchGpu(page);
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) foreignRequests.push(url);
  });
  return { errors, foreignRequests };
}

/** Opens the app and waits until the runtime (backend, worker, storage) is up. */
export async function openApp(page: Page, query = '?backend=webgpu') {
  await page.goto(`/${query}`);
  await expect(page.locator('.app[data-ready="true"]')).toBeVisible();
  await page.waitForFunction(() => typeof window.__realm !== 'undefined');
}

/**
 * Opens the app, waits until the named test-hook namespaces of the panels exist (e.g. 'run',
 * 'inspector') and the corpus panel has started, then until a corpus is active (on first start the
 * app loads the bundled tiny corpus).
 */
export async function openAppWithCorpus(page: Page, query: string, hooks: readonly string[] = ['run']) {
  await openApp(page, query);
  await page.waitForFunction((names) => {
    const h = window.__realm as unknown as Record<string, unknown> & { corpusStarted?: () => boolean };
    return names.every((n) => !!h[n]) && !!h.corpusStarted?.();
  }, hooks);
  await expect.poll(() => page.evaluate(() => window.__realm.activeCorpus()), { timeout: 120_000 }).not.toBeNull();
}
