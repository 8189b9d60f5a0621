// Open the app, start a run, and see the charts update: the live charts gain points step by step, the
// refresh timeline shows builder bars beside the trainer's steps, and the embedding map is drawn after
// the first index swap (with the pinned query and its top-k once a sentence is pinned). Screenshots of
// the three panels go to test-results/panels/.
import type { Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

const TINY =
  '/?backend=webgpu&preset=tiny&ict=2&mlm=2&realm=8&refresh=async&every=2&ckpt=2&eval=4&batch=1&seed=3&bundle=micro'.slice(1);

interface ChartPoints {
  [id: string]: { points: number; values: number[] };
}
interface Hooks {
  run: {
    start(): Promise<void>;
    pause(): Promise<void>;
    state(): { step: number; status: string; total: number } | null;
    events(): { type: string }[];
  };
  charts: {
    points(): ChartPoints;
    canvases(): number;
    redraws(): number;
    phases(): { phase: string; firstStep: number; lastStep: number }[];
  };
  index: {
    timeline(): {
      bars: { version: number; state: string; snapshotStep: number }[];
      spans: number;
      stalenessPoints: number;
      stepsDuringBuilds: number[];
    };
    drawnBars(): number;
  };
  map: {
    state(): {
      version: number;
      points: number;
      explained: [number, number] | null;
      computing: number;
      ms: number;
      error: string | null;
      drawn: { version: number; points: number; highlighted: number; query: boolean };
    };
    pixelOf(row: number): [number, number];
  };
}

const hook = <T>(page: Page, fn: (h: Hooks) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;

test('start a run: the charts gain points, the timeline shows builder bars, the map is drawn after the first swap', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(900_000); // minutes on a loaded 2-core machine with SwiftShader
  const watch = watchPage(page, baseURL!);
  await page.setViewportSize({ width: 1280, height: 900 });
  await openAppWithCorpus(page, TINY, ['run', 'charts', 'index', 'map']);

  const charts = page.getByTestId('charts-panel');
  const index = page.getByTestId('index-panel');
  const map = page.getByTestId('map-panel');
  // Before a run: six empty charts, each a uPlot canvas; the other panels say what to do.
  expect(await hook(page, (h) => h.charts.canvases())).toBe(6);
  expect(Object.values(await hook(page, (h) => h.charts.points())).every((c) => c.points === 0)).toBe(true);
  await expect(index).toContainText('Start a run');
  await expect(map).toContainText('Start a run');

  // Start, as a user does.
  await page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true }).click();

  // The loss chart gains points while the run trains, and follows the run's step count.
  await expect
    .poll(async () => (await hook(page, (h) => h.charts.points())).loss.points, { timeout: 240_000, intervals: [500] })
    .toBeGreaterThanOrEqual(2);
  const early = (await hook(page, (h) => h.charts.points())).loss.points;
  await expect
    .poll(async () => (await hook(page, (h) => h.charts.points())).loss.points, { timeout: 240_000, intervals: [500] })
    .toBeGreaterThan(early);

  // The first index swap: builder bars in the timeline (drawn as SVG), the map drawn from that index.
  await expect
    .poll(() => hook(page, (h) => h.index.drawnBars()), { timeout: 240_000, intervals: [1000] })
    .toBeGreaterThanOrEqual(1);
  await expect
    .poll(async () => (await hook(page, (h) => h.map.state())).drawn.version, { timeout: 240_000, intervals: [1000] })
    .toBeGreaterThanOrEqual(1);
  const m = await hook(page, (h) => h.map.state());
  console.log(`map of index v${m.version}: ${m.points} passages in ${m.ms.toFixed(0)} ms, explained ${m.explained}`);
  expect(m.error).toBeNull();
  const chunks = await page.evaluate(async () => window.__realm.countChunks((await window.__realm.activeCorpus())!));
  expect(m.points).toBe(chunks);
  expect(m.drawn.points).toBe(chunks);
  expect(m.explained![0]).toBeGreaterThan(0);
  expect(m.explained![0]).toBeGreaterThanOrEqual(m.explained![1]);
  expect(m.explained![0] + m.explained![1]).toBeLessThanOrEqual(1 + 1e-4);
  await expect(map.getByTestId('map-meta')).toContainText(`index v${m.version}`);
  await expect(map.getByTestId('map-meta')).toContainText('of the variance');
  // The canvas holds a picture, not a blank rectangle.
  const inked = await map.getByTestId('map-canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  expect(inked).toBeGreaterThan(100);

  // Pause (a checkpoint is written) so the numbers hold still, then compare the charts with the run.
  await hook(page, (h) => h.run.pause());
  await expect.poll(async () => (await hook(page, (h) => h.run.state()))?.status, { timeout: 120_000 }).toBe('paused');
  await page.waitForTimeout(300); // one animation frame for the last redraw
  const state = (await hook(page, (h) => h.run.state()))!;
  const realmSteps = state.step - 4; // ict=2, mlm=2
  expect(realmSteps).toBeGreaterThanOrEqual(1);
  const points = await hook(page, (h) => h.charts.points());
  for (const id of ['loss', 'mlmAccuracy', 'meanPNull', 'meanRetrievalUtility', 'retrievalEntropy'])
    expect(points[id].points).toBe(state.step);
  expect(points.loss.values[0]).toBe(state.step);
  // p(null), utility and entropy exist in the REALM phase only: gaps in the warm-ups.
  expect(points.meanPNull.values[0]).toBe(realmSteps);
  expect(points.retrievalEntropy.values[0]).toBe(realmSteps);
  // Held-out evaluation every 4 steps: cloze accuracy (with and without retrieval), recall@5 and gold-passage recall@5.
  expect(points.eval.points).toBe(Math.floor(state.step / 4));
  expect(points.eval.values).toEqual([points.eval.points, points.eval.points, points.eval.points, points.eval.points]);
  expect(await hook(page, (h) => h.charts.phases().map((p) => p.phase))).toEqual(['ict', 'mlm', 'realm']);
  await expect(charts.getByTestId('chart-loss')).toHaveAttribute('data-points', String(state.step));

  // The timeline: a trainer lane with the phases, builder bars labelled by version, staleness plotted.
  const t = await hook(page, (h) => h.index.timeline());
  expect(t.spans).toBeGreaterThanOrEqual(3);
  expect(t.bars.filter((b) => b.state === 'swapped').length).toBeGreaterThanOrEqual(1);
  expect(t.stalenessPoints).toBe(realmSteps);
  const bars = index.getByTestId('timeline-build');
  expect(await bars.count()).toBe(t.bars.length);
  await expect(bars.first()).toContainText(`v${t.bars[0].version}`);
  await expect(index.getByTestId('timeline-staleness')).toHaveCount(1);
  await expect(index.getByTestId('index-version')).toHaveText(/^v\d+$/);

  // Pin a held-out sentence in the inspector: the map marks the query and its top-k passages.
  const inspector = page.getByTestId('inspector-panel');
  await inspector.getByRole('radio', { name: 'Held-out cloze' }).check();
  await inspector.getByTestId('inspector-sentence-pick').selectOption('0');
  await inspector.getByTestId('inspector-inspect').click();
  await expect(inspector.getByTestId('inspector-result')).toBeVisible();
  await inspector.getByTestId('inspector-pin').click();
  await expect
    .poll(async () => (await hook(page, (h) => h.map.state())).drawn, { timeout: 120_000 })
    .toMatchObject({ highlighted: 3, query: true }); // tiny: k = 4, so 3 passages
  await expect(map.locator('.map-top li')).toHaveCount(3);
  await expect(map.locator('.map-top li').first()).not.toHaveText(/^passage \d+$/);

  await charts.screenshot({ path: 'test-results/panels/charts.png' });
  await index.screenshot({ path: 'test-results/panels/index.png' });
  // Hovering a passage shows its title (the stored passage's, as text).
  const [px, py] = await hook(page, (h) => h.map.pixelOf(0));
  await map.getByTestId('map-canvas').hover({ position: { x: px, y: py } });
  await expect(map.getByTestId('map-tooltip')).toBeVisible();
  await expect(map.getByTestId('map-tooltip')).not.toHaveText(/^(passage \d+)?$/);
  await map.screenshot({ path: 'test-results/panels/map.png' });
  expect(watch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});
