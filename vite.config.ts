/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import type { Plugin } from 'vite';
import { existsSync } from 'node:fs';

// The dev server injects an inline React-refresh preamble that index.html's CSP would block, so the
// CSP is dropped in `vite dev` only. Builds and `vite preview` (what users and tests run) keep it.
const devWithoutCsp = (): Plugin => ({
  name: 'dev-without-csp',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace(/<meta\s+http-equiv="Content-Security-Policy"[^>]*>/s, ''),
});

// One config for the app (vite; one page, index.html), the unit tests (vitest, Node, tfjs cpu backend).
// The benchmark pages have their own config, vite.lab.config.ts.
export default defineConfig({
  plugins: [react(), devWithoutCsp()],
  // Whether the shipped warm start is in public/ at build time: a first visit opens on the warm
  // Classroom demo only when it is (npm run build:warmstart writes it).
  define: { __WARM_START_SHIPPED__: JSON.stringify(existsSync('public/warmstart/mini/manifest.json')) },
  base: './',
  worker: { format: 'es' },
  optimizeDeps: {
    include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'comlink', 'idb'],
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  preview: { port: 4173, strictPort: true },
  server: { port: 5173 },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'scripts/**/*.test.ts', 'bench/**/*.test.ts', 'research/**/*.test.ts'],
    testTimeout: 60_000,
    pool: 'forks',
  },
});
