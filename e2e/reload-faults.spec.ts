// Faults injected by reloading the tab in the middle of a write (issue #33, the fault-injection suite):
// mid-checkpoint, mid-import and mid-index-swap. After each reload the app must start with a clear state,
// nothing stored before the fault may be lost or damaged (records counted and checked store by store,
// straight from IndexedDB), and the interrupted work must be resumable or repeatable.
import type { Page } from '@playwright/test';
import { expect, openApp, openAppWithCorpus, test, watchPage } from './helpers';

// wasm: the faults are about storage, and a tiny step on wasm takes a fraction of SwiftShader's time.
const RUN = '?backend=wasm&preset=tiny&ict=3&mlm=3&realm=30&refresh=async&every=1&ckpt=1&eval=0&batch=2&seed=5&bundle=micro';

interface Hooks {
  run: {
    start(): Promise<void>;
    resume(): Promise<void>;
    stop(): Promise<void>;
    resumeStored(runId: string): Promise<void>;
    events(): { type: string; step: number }[];
    state(): { runId: string; status: string; step: number; total: number; phase: string } | null;
  };
}
const hook = <T>(page: Page, fn: (h: Hooks) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;

/** What IndexedDB holds, read with the plain API (no code of the app): per store, its records' keys and a check of each. */
interface Census {
  runs: Record<string, { status: string; step: number }>;
  checkpoints: { key: string; step: number; ok: boolean }[];
  logs: Record<string, number>;
  embeddings: { key: string; ok: boolean }[];
  corpora: Record<string, { status: string }>;
  chunks: Record<string, number>;
}

function census(page: Page): Promise<Census> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('realm-webgpu');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = (store: string) =>
      new Promise<unknown[]>((resolve, reject) => {
        const req = db.transaction(store).objectStore(store).getAll();
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    type Buf = { name: string; shape: number[]; data: ArrayBuffer };
    const whole = (b: Buf) => b.data.byteLength === 4 * b.shape.reduce((a, d) => a * d, 1);
    const out: Census = { runs: {}, checkpoints: [], logs: {}, embeddings: [], corpora: {}, chunks: {} };
    for (const r of (await all('runs')) as { id: string; status: string; step: number }[])
      out.runs[r.id] = { status: r.status, step: r.step };
    for (const c of (await all('checkpoints')) as { runId: string; step: number; weights: Buf[]; optimizer: Buf[] }[])
      out.checkpoints.push({
        key: `${c.runId}@${c.step}`,
        step: c.step,
        ok: c.weights.length > 0 && c.weights.every(whole) && c.optimizer.every(whole),
      });
    for (const l of (await all('runLogs')) as { runId: string }[]) out.logs[l.runId] = (out.logs[l.runId] ?? 0) + 1;
    for (const e of (await all('embeddings')) as {
      corpusId: string;
      version: number;
      dim: number;
      count: number;
      vectors: Float32Array;
      ids: unknown[];
    }[])
      out.embeddings.push({
        key: `${e.corpusId}@${e.version}`,
        ok: e.vectors.length === e.count * e.dim && e.ids.length === e.count && e.vectors.every(Number.isFinite),
      });
    for (const c of (await all('corpora')) as { id: string; status: string }[]) out.corpora[c.id] = { status: c.status };
    for (const c of (await all('chunks')) as { corpusId: string }[]) out.chunks[c.corpusId] = (out.chunks[c.corpusId] ?? 0) + 1;
    db.close();
    return out;
  });
}

/** Polls the run in the page until `done` holds for its state and events. */
async function until(
  page: Page,
  done: (s: { step: number; phase: string; status: string }, events: { type: string }[]) => boolean,
) {
  await expect
    .poll(
      async () => {
        const [s, ev] = await Promise.all([hook(page, (h) => h.run.state()), hook(page, (h) => h.run.events())]);
        return !!s && done(s, ev);
      },
      { timeout: 300_000, intervals: [100] },
    )
    .toBe(true);
}

/** Resumes a stored run from the page (after a reload) and waits until it has trained `steps` more steps. */
async function resumeAndTrain(page: Page, runId: string, from: number, steps: number) {
  await page.evaluate((id) => (window.__realm as unknown as Hooks).run.resumeStored(id), runId);
  await until(page, (s) => s.status === 'running' || s.status === 'paused');
  if ((await hook(page, (h) => h.run.state()))!.status === 'paused') await hook(page, (h) => h.run.resume());
  await until(page, (s) => s.step >= from + steps);
  await hook(page, (h) => h.run.stop());
}

/** Every record stored before the fault is still there and whole. */
function expectNothingLost(before: Census, after: Census, runId: string) {
  const good = new Set(after.checkpoints.filter((c) => c.ok).map((c) => c.key));
  expect(after.checkpoints.filter((c) => !c.ok)).toEqual([]);
  if (runId) {
    // Retention may prune older checkpoints, but never below the latest one stored before the fault.
    const ours = (c: Census) => c.checkpoints.filter((k) => k.key.startsWith(`${runId}@`));
    const latestBefore = Math.max(...ours(before).map((c) => c.step));
    expect(good.has(`${runId}@${latestBefore}`) || ours(after).some((c) => c.step > latestBefore)).toBe(true);
    expect(after.logs[runId] ?? 0).toBeGreaterThanOrEqual(before.logs[runId] ?? 0);
  }
  expect(Object.keys(after.runs)).toEqual(expect.arrayContaining(Object.keys(before.runs)));
  for (const [id, c] of Object.entries(before.corpora))
    if (c.status === 'ready') {
      expect(after.corpora[id]?.status, id).toBe('ready');
      expect(after.chunks[id], id).toBe(before.chunks[id]);
    }
  expect(after.embeddings.filter((e) => !e.ok)).toEqual([]);
}

test.describe.configure({ mode: 'serial' });

test('reloaded while a checkpoint is being written: the run resumes from its last whole checkpoint', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  // The fault: once armed, the page reloads itself right after it issues its next checkpoint write,
  // before the transaction can commit (a reload aborts a transaction that has not committed).
  await page.addInitScript(() => {
    const put = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      const req = put.apply(this, args);
      if (this.name === 'checkpoints' && sessionStorage.getItem('realm-fault') === 'reload-in-checkpoint') {
        sessionStorage.setItem('realm-fault', 'done');
        location.reload();
      }
      return req;
    };
  });
  await openAppWithCorpus(page, RUN, ['run', 'runs']);
  await hook(page, (h) => h.run.start());
  const runId = (await hook(page, (h) => h.run.state()))!.runId;
  await until(page, (_s, ev) => ev.filter((e) => e.type === 'checkpoint').length >= 3);
  const before = await census(page);
  await page.evaluate(() => sessionStorage.setItem('realm-fault', 'reload-in-checkpoint'));
  await expect
    .poll(() => page.evaluate(() => sessionStorage.getItem('realm-fault')).catch(() => null), { timeout: 300_000 })
    .toBe('done');
  await page.waitForLoadState('load');
  await openAppWithCorpus(page, RUN, ['run', 'runs']);
  const after = await census(page);
  expectNothingLost(before, after, runId);
  const ours = after.checkpoints.filter((c) => c.key.startsWith(`${runId}@`));
  test.info().annotations.push({
    type: 'fault',
    description: `checkpoints before ${before.checkpoints.map((c) => c.key).join(', ')}; after ${ours.map((c) => c.key).join(', ')}`,
  });
  // The run is offered for resuming and trains on from its last whole checkpoint.
  const last = Math.max(...ours.map((c) => c.step));
  await resumeAndTrain(page, runId, last, 2);
  const resumed = await census(page);
  expect(resumed.checkpoints.filter((c) => !c.ok)).toEqual([]);
  expect(resumed.runs[runId].step).toBeGreaterThanOrEqual(last + 2);
  expect(watch.errors).toEqual([]);
});

test('reloaded in the middle of an import: the corpora stored before are unchanged and the import can be repeated', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, '?backend=wasm&bundle=micro', []);
  await page.waitForFunction(() => window.__realm.corpusStarted() && window.__realm.corpusJob() === null, null, {
    timeout: 120_000,
  });
  const before = await census(page);
  const activeBefore = await page.evaluate(() => window.__realm.activeCorpus());
  const lines = Array.from(
    { length: 6000 },
    (_, i) =>
      JSON.stringify({
        id: `doc-${i}`,
        title: `Passage ${i}`,
        text: `The river number ${i} flows through the valley of ${i % 97} hills. It was mapped in ${1800 + (i % 200)} by a surveyor from the north.`,
      }) + '\n',
  ).join('');
  const file = { name: 'reload-me.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(lines) };
  await page.getByTestId('corpus-file-input').setInputFiles(file);
  // Reload once the importer has stored part of the file.
  await expect
    .poll(
      async () => {
        const { chunks } = await census(page);
        return Object.entries(chunks).some(([id, n]) => !(id in before.chunks) && n > 0);
      },
      { timeout: 120_000, intervals: [50] },
    )
    .toBe(true);
  await page.reload();
  await openApp(page, '?backend=wasm&bundle=micro');
  await page.waitForFunction(() => window.__realm.corpusStarted() && window.__realm.corpusJob() === null, null, {
    timeout: 120_000,
  });
  const after = await census(page);
  expectNothingLost(before, after, '');
  expect(await page.evaluate(() => window.__realm.activeCorpus())).toBe(activeBefore);
  // What the interrupted import left is not a usable corpus (it stays staging until cleaned up).
  for (const [id, c] of Object.entries(after.corpora)) if (!(id in before.corpora)) expect(c.status, id).not.toBe('ready');
  // The same file imports in full afterwards.
  await page.getByTestId('corpus-file-input').setInputFiles(file);
  await expect(page.getByTestId('import-report')).toHaveAttribute('data-status', 'done', { timeout: 300_000 });
  const done = await census(page);
  const imported = Object.entries(done.corpora).find(([id, c]) => !(id in before.corpora) && c.status === 'ready');
  expect(imported).toBeDefined();
  expect(done.chunks[imported![0]]).toBeGreaterThan(0);
  expect(watch.errors).toEqual([]);
});

test('reloaded while a refreshed index is built and swapped in: stored indexes stay whole and the run resumes', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, RUN, ['run', 'runs']);
  await hook(page, (h) => h.run.start());
  const runId = (await hook(page, (h) => h.run.state()))!.runId;
  // In REALM with a refresh every step the builder is almost always writing or swapping an index:
  // reload right after a refresh has been swapped in and the next build has started.
  await until(page, (s, ev) => s.phase === 'realm' && ev.filter((e) => e.type === 'swap').length >= 2);
  const before = await census(page);
  await page.reload();
  await openAppWithCorpus(page, RUN, ['run', 'runs']);
  const after = await census(page);
  expectNothingLost(before, after, runId);
  const last = Math.max(...after.checkpoints.filter((c) => c.key.startsWith(`${runId}@`)).map((c) => c.step));
  await resumeAndTrain(page, runId, last, 3);
  const resumed = await census(page);
  expect(resumed.embeddings.filter((e) => !e.ok)).toEqual([]);
  expect(resumed.embeddings.length).toBeGreaterThan(0);
  expect(watch.errors).toEqual([]);
});
