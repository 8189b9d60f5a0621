// A run started from a warm start (docs/studio.md, "Warm and cold starts"), in the page on wasm: the
// page fetches the warm start's four files, takes its architecture, weights and BERT vocabulary,
// trains a few REALM steps on the micro corpus (the index builder tokenizing the chunks' text with
// that vocabulary), and shows the share of [UNK] words. A corrupted or missing file is refused with
// WarmStartError's message, and nothing stored is lost.
//
// The warm start is a fixture made by the project's own command (tiny preset, a few steps, 6 MB):
// `npx tsx scripts/build-warmstart.ts --preset tiny --passages 200 --ict-steps 3 --mlm-steps 3
// --corpora micro --out .scratch/warmstart-fixture`, built here when missing (about a minute) and
// served at warmstart/mini/ with page.route, so it works whatever public/warmstart/ holds.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { decodeCheckpoint } from '../src/model/checkpoint';
import { expect, openAppWithCorpus, test, watchPage } from './helpers';

const FIXTURE = '.scratch/warmstart-fixture';
const FILES = ['manifest.json', 'checkpoint.json', 'checkpoint.bin', 'vocab.txt'];
const QUERY =
  '?backend=wasm&bundle=micro&preset=tiny&start=warm&realm=4&refresh=async&every=2&ckpt=100&eval=0&batch=2&k=3&seed=3';

interface RunHook {
  start(): Promise<void>;
  state(): { runId: string; status: string; step: number; total: number; phase: string } | null;
  config(): Record<string, unknown> | null;
  events(): { type: string; step: number; detail?: string }[];
}
const run = <T>(page: Page, fn: (h: RunHook) => T) => page.evaluate(`(${fn.toString()})(window.__realm.run)`) as Promise<T>;

test.beforeAll(() => {
  if (existsSync(`${FIXTURE}/manifest.json`)) return;
  execFileSync(
    'npx',
    ['tsx', 'scripts/build-warmstart.ts', '--preset', 'tiny', '--passages', '200', '--ict-steps', '3', '--mlm-steps', '3'].concat(
      ['--corpora', 'micro', '--out', FIXTURE, '--work', '.scratch/warmstart-fixture-work'],
    ),
    { stdio: 'inherit', timeout: 600_000 },
  );
});

/** Serves the fixture at warmstart/mini/, with `change` applied to one file's bytes (null: a 404). */
async function serveWarmStart(page: Page, change?: { file: string; bytes: (b: Buffer) => Buffer | null }) {
  await page.route('**/warmstart/mini/*', async (route) => {
    const name = new URL(route.request().url()).pathname.split('/').pop()!;
    if (!FILES.includes(name)) return route.fulfill({ status: 404, body: 'not found' });
    let body: Buffer | null = readFileSync(`${FIXTURE}/${name}`);
    if (change?.file === name) body = change.bytes(body);
    if (body === null) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, body, contentType: 'application/octet-stream' });
  });
}

test('a run starts from the warm start: its weights and vocabulary, REALM only, and it trains', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await serveWarmStart(page);
  await openAppWithCorpus(page, QUERY, ['run']);
  expect(await page.evaluate(() => window.__realm.backend())).toBe('wasm');
  await expect(page.getByTestId('config-panel').getByLabel('Start from')).toHaveValue('warm');
  await page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true }).click();
  await expect.poll(() => run(page, (h) => h.state()?.status), { timeout: 300_000, intervals: [500] }).toMatch(/^(done|failed)$/);
  expect((await run(page, (h) => h.events())).filter((e) => e.type === 'error')).toEqual([]);
  const state = (await run(page, (h) => h.state()))!;
  expect(state).toMatchObject({ status: 'done', step: 4, total: 4 });

  // The architecture and vocabulary are the warm start's; the phases REALM only.
  const manifest = JSON.parse(readFileSync(`${FIXTURE}/manifest.json`, 'utf8')) as {
    config: Record<string, number>;
    vocabulary: { pieces: number };
  };
  const config = (await run(page, (h) => h.config()))!;
  for (const k of ['hidden', 'layers', 'heads', 'intermediate', 'retrieverDim']) expect(config[k], k).toBe(manifest.config[k]);
  expect(config).toMatchObject({ vocabSize: manifest.vocabulary.pieces, ictSteps: 0, mlmSteps: 0, realmSteps: 4 });

  // The first weights (the run's step-0 checkpoint) are the warm start's; the last ones moved.
  const warm = decodeCheckpoint(
    readFileSync(`${FIXTURE}/checkpoint.json`, 'utf8'),
    new Uint8Array(readFileSync(`${FIXTURE}/checkpoint.bin`)),
  );
  const first = (await page.evaluate(({ id }) => window.__realm.checkpointDigest(id, 0), { id: state.runId }))!;
  const last = (await page.evaluate(({ id }) => window.__realm.checkpointDigest(id, 4), { id: state.runId }))!;
  expect(first).not.toBeNull();
  expect(Object.keys(first).sort()).toEqual(warm.weights.map((w) => w.name).sort());
  let moved = 0;
  for (const w of warm.weights) {
    const v = new Float32Array(w.data);
    const want = [v.reduce((s, x) => s + x, 0), v.reduce((s, x) => s + x * x, 0), v[0], v[v.length - 1]];
    first[w.name].forEach((x, i) => expect(x, `${w.name}[${i}]`).toBeCloseTo(want[i], 3));
    if (Math.abs(last[w.name][1] - want[1]) > 1e-6) moved++;
  }
  expect(moved, 'weights that training changed').toBeGreaterThan(0);

  // The panel says where the run started and how much of the corpus its vocabulary cannot spell.
  await expect(page.getByTestId('run-start')).toHaveText(/^warm \(/);
  await expect(page.getByTestId('run-unk-share')).toHaveText(
    /^\d+\.\d\d% \([\d,]+ of [\d,]+, the warm start’s vocabulary of 30,522 pieces\)$/,
  );
  // The index was built by the worker from the chunks' text with that vocabulary, and swapped in.
  expect((await run(page, (h) => h.events())).some((e) => e.type === 'swap')).toBe(true);
  expect(watch.errors).toEqual([]);
});

test('a corrupted or missing warm start file is refused with a clear message, and nothing stored is lost', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(300_000);
  const watch = watchPage(page, baseURL!);
  await serveWarmStart(page, {
    file: 'checkpoint.bin',
    bytes: (b) => {
      const c = Buffer.from(b);
      c[4096] ^= 0x10;
      return c;
    },
  });
  await openAppWithCorpus(page, QUERY, ['run']);
  const corporaBefore = await page.evaluate(() => window.__realm.listCorpora());
  const panel = page.getByTestId('run-panel');
  await panel.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(panel.getByRole('alert')).toHaveText(
    /^WarmStartError: checkpoint\.bin does not match its SHA-256 in the manifest\. Reload the page to fetch the warm start again, or start the run cold\.$/,
  );
  expect(await run(page, (h) => h.state())).toBeNull(); // no run was made
  expect(await page.evaluate(() => window.__realm.listCorpora())).toEqual(corporaBefore);

  // A missing file says which one; then the user starts cold, which needs no warm start.
  await page.unrouteAll();
  await serveWarmStart(page, { file: 'vocab.txt', bytes: () => null });
  await panel.getByRole('button', { name: 'Start', exact: true }).click();
  await expect(panel.getByRole('alert')).toHaveText(
    /^WarmStartError: vocab\.txt is missing: .*warmstart\/mini\/vocab\.txt answered HTTP 404/,
  );
  await page.getByTestId('config-panel').getByLabel('Start from').selectOption('cold');
  await page.getByTestId('config-panel').getByLabel('ICT steps').fill('1');
  await page.getByTestId('config-panel').getByLabel('MLM steps').fill('1');
  await panel.getByRole('button', { name: 'Start', exact: true }).click();
  await expect.poll(() => run(page, (h) => h.state()?.status), { timeout: 240_000, intervals: [500] }).toBe('done');
  await expect(page.getByTestId('run-start')).toHaveText('cold');
  // The 404 of the missing file is the only console error, and it is the one the test caused.
  expect(watch.errors.filter((e) => !/404/.test(e))).toEqual([]);
});
