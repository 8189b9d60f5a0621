// End-to-end tests in real headless Chromium with WebGPU (SwiftShader on machines without a GPU).
// Browser: $REALM_CHROMIUM if set, else Debian's Chromium when installed, else Playwright's own.
import { existsSync } from 'node:fs';
import { defineConfig } from '@playwright/test';

const SYSTEM_CHROMIUM = '/usr/lib/chromium/chromium';
const executablePath = process.env.REALM_CHROMIUM || (existsSync(SYSTEM_CHROMIUM) ? SYSTEM_CHROMIUM : undefined);
// E2E_PORT and E2E_DIST let several checkouts or agents run e2e side by side without sharing a server.
const PORT = Number(process.env.E2E_PORT || 4173);
const DIST = process.env.E2E_DIST || 'dist';
// The bench pages (the kernel lab), built by `npm run build:lab`, served on the next port.
const LAB_PORT = PORT + 1;
const LAB_DIST = process.env.E2E_LAB_DIST || 'dist-lab';

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 180_000,
  expect: { timeout: 60_000 },
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never' }]],
  outputDir: 'test-results',
  use: {
    baseURL: `http://localhost:${PORT}`,
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath,
      args: [
        '--enable-unsafe-webgpu',
        // The machines have no network: keep Chromium from trying to reach Google's services.
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  projects: [{ name: 'chromium-webgpu', use: { browserName: 'chromium' } }],
  webServer: [
    {
      // `npm test` builds first; this serves that production build.
      command: `npx vite preview --port ${PORT} --strictPort --outDir ${DIST}`,
      url: `http://localhost:${PORT}`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
    {
      command: `npx vite preview --config vite.lab.config.ts --port ${LAB_PORT} --strictPort --outDir ${LAB_DIST}`,
      url: `http://localhost:${LAB_PORT}/lab.html`,
      reuseExistingServer: !process.env.CI,
      timeout: 60_000,
    },
  ],
});
