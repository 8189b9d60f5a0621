// The inspector end to end on the bundled micro corpus: before a run it says what to do; during the
// REALM phase it inspects a held-out sentence (k candidates: the null document and k-1 passages, whose
// p(z|x) sum to 1); a pinned sentence is inspected again at the next index swap and its chart gains a
// point; a passage opens in a dialog; an inspection leaves no tensor behind; after a reload, resuming the
// run brings the pin and its chart back.
import type { Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

// The studio's tiny URL with more REALM steps and no periodic evaluation, so a refresh after the pin
// surely comes before the run ends (on SwiftShader a step takes seconds and an index build tens of seconds).
const TINY = '?backend=webgpu&preset=tiny&ict=2&mlm=2&realm=40&refresh=async&every=2&ckpt=2&eval=0&batch=2&seed=3&bundle=micro';

interface RunEvent {
  type: string;
  step: number;
  version?: number;
}
interface InspectorHook {
  result(): {
    key: string;
    step: number;
    k: number;
    indexVersion: number;
    rows: { z: number; row: number | null; pz: number }[];
    masks: number;
  } | null;
  choiceCounts(): { heldout: number; training: number };
  pinned(): string | null;
  pinPoints(): { step: number; version: number; candidates: number }[];
  numTensors(): number;
}
interface Hook {
  run: {
    start(): Promise<void>;
    pause(): Promise<void>;
    resume(): void;
    events(): RunEvent[];
    state(): { runId: string; status: string; step: number; phase: string } | null;
    resumeStored(runId: string): Promise<number>;
  };
  inspector: InspectorHook;
  map: { state(): { version: number; computing: number } };
}

const hook = <T>(page: Page, fn: (h: Hook) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;
const swaps = async (page: Page) => (await hook(page, (h) => h.run.events())).filter((e) => e.type === 'swap');

test('inspect a held-out sentence: k candidates whose p(z|x) sum to 1; pin it and watch it across an index refresh', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(720_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, TINY, ['run', 'inspector', 'map']);
  const panel = page.getByTestId('inspector-panel');

  // No run yet: the panel says what to do, and Inspect is off.
  await expect(panel.getByTestId('inspector-stage')).toContainText('No run yet');
  await expect(panel.getByTestId('inspector-inspect')).toBeDisabled();

  await hook(page, (h) => h.run.start());
  // Until the first index is in use, the panel explains the warm-up.
  await expect(panel.getByTestId('inspector-stage')).toBeVisible();
  // Wait for the first index swap (REALM phase), then pause so the run cannot end under the test.
  await expect.poll(async () => (await swaps(page)).length, { timeout: 300_000, intervals: [1000] }).toBeGreaterThanOrEqual(1);
  await hook(page, (h) => h.run.pause());
  await expect(panel.getByTestId('inspector-stage')).toHaveCount(0);
  // The embedding map projects each new index with tensors of its own; let it finish, so the tensor
  // counts below see the inspector's tensors only.
  const lastSwap = (await swaps(page)).at(-1)!.version!;
  await expect
    .poll(() => hook(page, (h) => h.map.state()), { timeout: 300_000, intervals: [1000] })
    .toMatchObject({ version: lastSwap, computing: 0 });

  // Open the inspector on a held-out sentence, as a user does.
  expect((await hook(page, (h) => h.inspector.choiceCounts())).heldout).toBeGreaterThan(0);
  await panel.getByRole('radio', { name: 'Held-out cloze' }).check();
  await panel.getByTestId('inspector-sentence-pick').selectOption('0');
  const tensorsBefore = await hook(page, (h) => h.inspector.numTensors());
  await panel.getByTestId('inspector-inspect').click();
  await expect(panel.getByTestId('inspector-result')).toBeVisible();
  const r = (await hook(page, (h) => h.inspector.result()))!;
  expect(r.key).toBe('heldout:0');
  expect(r.k).toBe(4); // tiny preset: k = 4 candidates = the null document + 3 retrieved passages
  expect(r.rows).toHaveLength(r.k);
  expect(r.rows[0].row).toBeNull();
  expect(new Set(r.rows.slice(1).map((x) => x.row)).size).toBe(r.k - 1);
  const sum = r.rows.reduce((s, x) => s + x.pz, 0);
  expect(Math.abs(sum - 1)).toBeLessThan(1e-3);
  // The table shows the same k rows, and their rendered p(z|x) sum to 1 too.
  const rows = panel.getByTestId('inspector-row');
  await expect(rows).toHaveCount(r.k);
  const shown = await rows.evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-pz'))));
  expect(Math.abs(shown.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-3);
  await expect(panel.getByTestId('inspector-sentence').locator('mark.masked-span')).toHaveCount(1);
  await expect(panel.getByTestId('inspector-predictions').locator('ol')).toHaveCount(2 * r.masks);

  // A second inspection of the same sentence adds no tensor (the index copy is cached, the rest disposed).
  const tensorsAfterFirst = await hook(page, (h) => h.inspector.numTensors());
  await panel.getByTestId('inspector-inspect').click();
  await expect(panel.getByTestId('inspector-inspect')).toHaveText('Inspect');
  expect(await hook(page, (h) => h.inspector.numTensors())).toBe(tensorsAfterFirst);
  expect(tensorsAfterFirst).toBeGreaterThanOrEqual(tensorsBefore);

  // A passage opens in full in a dialog; Escape closes it.
  await rows.nth(1).getByRole('button').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByTestId('passage')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();

  // Pin it: one point now; after the next index swap the pinned sentence is inspected again.
  await panel.getByTestId('inspector-pin').click();
  expect(await hook(page, (h) => h.inspector.pinned())).toBe('heldout:0');
  const chart = panel.getByTestId('pinned-chart');
  await expect(chart).toHaveAttribute('data-points', '1');
  const swapsAtPin = (await swaps(page)).length;
  await hook(page, (h) => h.run.resume());
  await expect.poll(async () => (await swaps(page)).length, { timeout: 300_000, intervals: [1000] }).toBeGreaterThan(swapsAtPin);
  await expect.poll(async () => Number(await chart.getAttribute('data-points')), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  const points = await hook(page, (h) => h.inspector.pinPoints());
  expect(points.at(-1)!.version).toBeGreaterThan(points[0].version);
  expect(points.at(-1)!.step).toBeGreaterThan(points[0].step);
  await expect(chart.locator('canvas')).toHaveCount(1);

  await panel.screenshot({ path: 'test-results/panels/inspector.png' });

  // A typed sentence: without [MASK] the panel says what to type; with one (and an answer) it is inspected.
  // Paused first, so the inspection does not share the 2 cores with training steps.
  await hook(page, (h) => h.run.pause());
  await panel.getByRole('radio', { name: 'Type your own' }).check();
  const sentence = panel.getByLabel('Sentence with [MASK]');
  await sentence.fill('Molise is a region of south central Italy.');
  await panel.getByTestId('inspector-inspect').click();
  await expect(panel.getByTestId('inspector-message')).toContainText('[MASK]');
  await sentence.fill('[MASK] is a region of south central Italy.');
  await panel.getByLabel('Answer (optional)').fill('Molise');
  await panel.getByTestId('inspector-inspect').click();
  // A wait bound, not a speed check: the inspection re-embeds the corpus when a newer index arrived since.
  await expect
    .poll(async () => (await hook(page, (h) => h.inspector.result()))?.key ?? '', { timeout: 180_000 })
    .toMatch(/^typed:/);
  const typed = (await hook(page, (h) => h.inspector.result()))!;
  expect(typed.rows).toHaveLength(typed.k);
  expect(Math.abs(typed.rows.reduce((s, x) => s + x.pz, 0) - 1)).toBeLessThan(1e-3);
  await expect(panel.getByTestId('inspector-sentence').locator('mark.masked-span')).toHaveText('molise');

  // Nothing lost on reload: resuming the run (paused, so its log is written) brings back the pin and
  // every point of its chart.
  const pinnedPoints = await hook(page, (h) => h.inspector.pinPoints());
  const runId = (await hook(page, (h) => h.run.state()))!.runId;
  await page.reload();
  await openAppWithCorpus(page, TINY, ['run', 'inspector']);
  expect(await hook(page, (h) => h.inspector.pinned())).toBeNull();
  await page.evaluate((id) => (window.__realm as unknown as Hook).run.resumeStored(id), runId);
  await expect.poll(() => hook(page, (h) => h.inspector.pinned())).toBe('heldout:0');
  expect(await hook(page, (h) => h.inspector.pinPoints())).toEqual(pinnedPoints);
  await expect(panel.getByTestId('pinned-chart')).toHaveAttribute('data-points', String(pinnedPoints.length));
  expect(watch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});
