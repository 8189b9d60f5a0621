// The benchmark pages, built apart from the app (`npm run build:lab` -> dist-lab/): the kernel lab
// (lab.html: the MIPS kernel's e2e spec and `npm run bench:mips` drive it), the refresh bench page
// (refresh.html: `npm run bench:refresh`) and the step bench page (step.html: `npm run bench:step`). None
// is in the production build, which has one page.
import { defineConfig, type Plugin } from 'vite';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('.', import.meta.url));
const pages = resolve(repo, 'bench/pages');

// The pages are the root (so they land at dist-lab/lab.html); an --outDir given on the command line
// is read against the repository, as for the app's config, not against bench/pages.
const outDirFromRepo = (): Plugin => ({
  name: 'out-dir-from-repo',
  config: (c) => {
    const out = c.build?.outDir;
    return out && !isAbsolute(out) ? { build: { outDir: resolve(repo, out) } } : undefined;
  },
});

export default defineConfig({
  plugins: [outDirFromRepo()],
  root: pages,
  base: './',
  publicDir: resolve(repo, 'public'),
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: resolve(repo, 'dist-lab'),
    emptyOutDir: true,
    chunkSizeWarningLimit: 8192,
    rollupOptions: {
      input: { lab: resolve(pages, 'lab.html'), refresh: resolve(pages, 'refresh.html'), step: resolve(pages, 'step.html') },
    },
  },
  preview: { port: 4174, strictPort: true },
});
