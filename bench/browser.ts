// Shared by the browser benchmarks: serve a built folder with `vite preview` on a free port and open
// headless Chromium with WebGPU (same executable and flags as playwright.config.ts).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from '@playwright/test';
import { preview } from 'vite';

const SYSTEM_CHROMIUM = '/usr/lib/chromium/chromium';

export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** $REALM_CHROMIUM, else Debian's Chromium when installed, else Playwright's own browser. */
export function chromiumPath(): string | undefined {
  return process.env.REALM_CHROMIUM || (existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined);
}

/** Serves `outDir` and opens a browser; `close()` stops both. */
export async function serveAndLaunch(
  root: string,
  outDir: string,
): Promise<{ browser: Browser; baseUrl: string; close: () => Promise<void> }> {
  const server = await preview({ configFile: false, root, logLevel: 'warn', build: { outDir }, preview: { port: 0 } });
  const port = (server.httpServer.address() as { port: number }).port;
  const browser = await chromium
    .launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS })
    .catch(async (e) => {
      await server.close();
      throw e;
    });
  return {
    browser,
    baseUrl: `http://localhost:${port}`,
    close: async () => {
      await browser.close();
      await server.close();
    },
  };
}
