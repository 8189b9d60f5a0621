// Flat config: typescript-eslint's recommended rules plus React's hook rules, and the layout's rules:
// which room of src/ may import which (no-restricted-imports per folder, below).
import js from '@eslint/js';
import globals from 'globals';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

// The rooms, lowest first. Each may import the rooms named in its rule and nothing above them:
//   corpus    parsing, formats, tokenizer, salient spans, masking, training data (pure TS, no tfjs)
//   platform  backend selection and bundled wasm assets
//   model     the networks, retrieval, losses, trainer, evaluation            -> corpus
//   kernels   WGSL MIPS kernels                                              -> model, corpus, platform
//   storage   IndexedDB (the only importer of idb)                           -> types of model, corpus
//   workers   index builder, corpus importer, async refresher                -> kernels, model, corpus, platform, storage
//   app       controllers, stores and view-models the panels call            -> everything but ui
//   ui        panels: render and dispatch                                    -> app, corpus; types of the rest
// Nothing in src/ imports bench/, research/ or scripts/. Tests beside the code may wire rooms together.
const room = (name) => ({
  group: [`**/${name}/*`, `**/${name}`],
  message: `${name}/ is not reachable from this folder (see eslint.config.js).`,
});
const typesOnly = (name) => ({ ...room(name), allowTypeImports: true, message: `only types may come from ${name}/ here.` });
const outside = ['bench', 'research', 'scripts'].map((d) => ({
  group: [`**/${d}/*`],
  message: `src/ never imports ${d}/: move what it needs into src/.`,
}));
const idb = { name: 'idb', message: 'Only src/storage/ may import idb: use its typed accessors.' };
const tfjs = { group: ['@tensorflow/*'], message: 'src/corpus/ is plain TypeScript: no tfjs.' };
const rule = (patterns, paths = [idb]) => ({
  'no-restricted-imports': 'off',
  '@typescript-eslint/no-restricted-imports': ['error', { paths, patterns: [...patterns, ...outside] }],
});
const layer = (folder, patterns, paths) => ({
  files: [`src/${folder}/**/*.{ts,tsx}`],
  ignores: ['**/*.test.ts'],
  rules: rule(patterns, paths),
});

export default tseslint.config(
  { ignores: ['dist', 'dist-*', 'node_modules', 'test-results', 'playwright-report', 'public', 'bench/results'] },
  {
    files: ['**/*.{ts,tsx,js}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2023,
      globals: { ...globals.browser, ...globals.node, ...globals.worker },
    },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { paths: [idb] }],
    },
  },
  { files: ['src/**/*.{ts,tsx}'], rules: rule([]) },
  layer('corpus', ['model', 'platform', 'kernels', 'storage', 'workers', 'app', 'ui'].map(room).concat(tfjs)),
  layer('platform', ['corpus', 'model', 'kernels', 'storage', 'workers', 'app', 'ui'].map(room)),
  layer('model', ['platform', 'kernels', 'storage', 'workers', 'app', 'ui'].map(room)),
  layer('kernels', ['storage', 'workers', 'app', 'ui'].map(room)),
  layer('storage', [...['platform', 'kernels', 'workers', 'app', 'ui'].map(room), ...['model', 'corpus'].map(typesOnly)], []),
  layer('workers', ['app', 'ui'].map(room)),
  layer('app', ['ui'].map(room)),
  layer('ui', ['storage', 'workers', 'kernels', 'platform', 'model'].map(typesOnly)),
  {
    files: ['bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/research/*'], message: 'bench/ never imports research/.' },
            { group: ['**/scripts/train'], message: 'bench/ never imports the train CLI: share through a module.' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/bench/*', '**/research/*'], message: 'scripts/ never imports bench/ or research/.' }] },
      ],
    },
  },
  { files: ['src/storage/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
);
