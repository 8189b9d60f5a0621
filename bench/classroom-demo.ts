// The Classroom demo as a new user meets it, in the page (`npm run bench:demo`): a first visit to
// the built app (dist/, with public/warmstart/mini shipped) opens the demo's link (src/app/first-run.ts);
// Start runs it on the page's default backend, and this reports the wall time from the click to
// "done". Then it inspects the held-out cloze sentences one by one, as a user would in the Inspector,
// counts those whose gold passage (the one the sentence was cut from) is among the retrieved
// candidates, and screenshots the inspector on the one where the gold passage has the highest p(z|x),
// and the charts, for the README (docs/classroom-inspector.png, docs/classroom-charts.png).
//
// Options (environment): DEMO_DIST (default dist), DEMO_SHOTS=0 to skip the screenshots,
// DEMO_MAX_SENTENCES (default all held-out sentences).
import { mkdirSync } from 'node:fs';
import type { Locator, Page } from '@playwright/test';
import { serveAndLaunch } from './browser';

interface RunState {
  status: string;
  step: number;
  total: number;
}
interface InspectorRow {
  row: number | null;
  pz: number;
}

const dist = process.env.DEMO_DIST ?? 'dist';
const shots = process.env.DEMO_SHOTS !== '0';

const realm = <T>(page: Page, expr: string) => page.evaluate(`(${expr})(window.__realm)`) as Promise<T>;

/** Polls `expr` (a function of window.__realm) until it is true, for at most `seconds`. */
async function until(page: Page, expr: string, seconds = 120): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await realm<boolean>(page, expr))) {
    if (Date.now() > end) throw new Error(`timed out after ${seconds} s waiting for ${expr}`);
    await page.waitForTimeout(200);
  }
}

/** Waits until the Inspect button reads "Inspect" again (not "Inspecting…"). */
async function expectInspectIdle(panel: Locator): Promise<void> {
  const button = panel.getByTestId('inspector-inspect');
  for (let i = 0; (await button.innerText()) !== 'Inspect'; i++) {
    if (i > 600) throw new Error('the inspection did not finish within 2 minutes');
    await panel.page().waitForTimeout(200);
  }
}

async function inspectHeldOut(page: Page, i: number): Promise<{ goldPz: number | null; rows: InspectorRow[] }> {
  const panel = page.getByTestId('inspector-panel');
  await panel.getByTestId('inspector-sentence-pick').selectOption(String(i));
  await panel.getByTestId('inspector-inspect').click();
  // Polled with evaluate: the page's CSP forbids waitForFunction's string predicates.
  await until(page, `(h) => h.inspector.result()?.key === 'heldout:${i}'`);
  await expectInspectIdle(panel);
  const rows = await realm<InspectorRow[]>(page, '(h) => h.inspector.result().rows');
  const gold = panel.locator('[data-testid="inspector-row"][data-gold="true"]');
  const goldPz = (await gold.count()) > 0 ? Number(await gold.getAttribute('data-pz')) : null;
  return { goldPz, rows };
}

async function main(): Promise<void> {
  const { browser, baseUrl, close } = await serveAndLaunch(process.cwd(), dist);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${baseUrl}/`); // a first visit: no setup in the link, the guide not dismissed
    await page.locator('.app[data-ready="true"]').waitFor({ timeout: 120_000 });
    await until(page, '() => !!(window.__realm?.run && window.__realm?.inspector)');
    const url = page.url();
    if (!url.includes('start=warm'))
      throw new Error(`the first visit did not open the Classroom demo (${url}): build with public/warmstart/mini`);
    for (let i = 0; (await realm<string | null>(page, '(h) => h.activeCorpus()')) === null; i++) {
      if (i > 240) throw new Error('the bundled corpus was not loaded within 2 minutes');
      await page.waitForTimeout(500);
    }
    const backend = await realm<string>(page, '(h) => h.backend()');
    const t0 = Date.now();
    await page.getByTestId('run-panel').getByRole('button', { name: 'Start', exact: true }).click();
    let last = '';
    for (;;) {
      const s = await realm<RunState | null>(page, '(h) => h.run.state()');
      if (!s && Date.now() - t0 > 60_000) {
        const text = await page.getByTestId('run-panel').innerText();
        throw new Error(`no run 60 s after Start: ${text.slice(0, 300)}`);
      }
      if (s && s.status !== 'idle' && s.status !== 'running') {
        if (s.status !== 'done') throw new Error(`the demo ended ${s.status} at step ${s.step}`);
        break;
      }
      const line = s ? `step ${s.step}/${s.total}` : 'starting';
      if (line !== last) process.stderr.write(`\r${line}  ${((Date.now() - t0) / 1000).toFixed(0)} s   `);
      last = line;
      await page.waitForTimeout(1000);
    }
    const demoSeconds = (Date.now() - t0) / 1000;
    process.stderr.write('\n');

    const panel = page.getByTestId('inspector-panel');
    await panel.scrollIntoViewIfNeeded();
    await panel.getByRole('radio', { name: 'Held-out cloze' }).check();
    const counts = await realm<{ heldout: number }>(page, '(h) => h.inspector.choiceCounts()');
    const n = Math.min(counts.heldout, Number(process.env.DEMO_MAX_SENTENCES ?? Infinity));
    let found = 0;
    let best: { i: number; pz: number } | null = null;
    for (let i = 0; i < n; i++) {
      const { goldPz } = await inspectHeldOut(page, i);
      if (goldPz !== null) {
        found++;
        if (!best || goldPz > best.pz) best = { i, pz: goldPz };
      }
      process.stderr.write(`\rinspected ${i + 1}/${n}, gold retrieved for ${found}   `);
    }
    process.stderr.write('\n');
    if (shots) {
      mkdirSync('docs', { recursive: true });
      if (best) {
        await inspectHeldOut(page, best.i);
        await panel.screenshot({ path: 'docs/classroom-inspector.png' });
      }
      await page.getByTestId('charts-panel').screenshot({ path: 'docs/classroom-charts.png' });
    }
    console.log(
      `Classroom demo in the page (${backend}): Start to done ${demoSeconds.toFixed(0)} s; ` +
        `held-out sentences whose gold passage is among the k-1 retrieved: ${found} of ${n}` +
        (best ? `; the highest p(z|x) of a gold passage ${best.pz.toFixed(3)} (held-out sentence ${best.i})` : '') +
        (errors.length ? `; page errors: ${errors.join(' | ')}` : ''),
    );
    if (errors.length) process.exitCode = 1;
  } finally {
    await close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
