// Shared helpers for the e2e specs.
import { expect, type Page } from '@playwright/test';
import type { RealmTestHook } from '../src/app/runtime';

/** The kernel lab's server (playwright.config.ts serves the bench pages' build on E2E_PORT + 1). */
export const LAB_URL = `http://localhost:${Number(process.env.E2E_PORT || 4173) + 1}`;

declare global {
  interface Window {
    __realm: RealmTestHook;
  }
}

/** Collects console errors, uncaught page errors, and requests that leave the app's origin. */
export function watchPage(page: Page, origin: string) {
  const errors: string[] = [];
  const foreignRequests: string[] = [];
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
