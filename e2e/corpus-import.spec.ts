// Importing a user's corpus through the file picker: bad lines are listed, a cancelled import leaves
// the stored corpora as they were, and corpora survive a reload.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, test, openApp, watchPage } from './helpers';

/** Waits until the corpus panel has started and no import (the bundled tiny corpus on first start) runs. */
async function corpusIdle(page: Page) {
  await page.waitForFunction(() => window.__realm.corpusStarted() && window.__realm.corpusJob() === null, null, {
    timeout: 60_000,
  });
}

const line = (o: unknown) => JSON.stringify(o);
const people = [
  'Ada Lovelace',
  'Alan Turing',
  'Grace Hopper',
  'Marie Curie',
  'Niels Bohr',
  'Rosalind Franklin',
  'Emmy Noether',
  'Carl Gauss',
];

/** A .jsonl file with 8 good passages and bad records on lines 3, 6, 9 and 11. */
function mixedJsonl(): Buffer {
  const good = people.map((name, i) =>
    line({ title: name, text: `${name} was born in ${1800 + i * 13} and worked in Paris with colleagues.` }),
  );
  const rows: (string | Buffer)[] = [
    good[0], // 1
    good[1], // 2
    '{"title": "Broken", "text": "no closing brace"', // 3: invalid JSON
    good[2], // 4
    good[3], // 5
    line({ title: 'No text here' }), // 6: missing field
    good[4], // 7
    good[5], // 8
    line({ title: 'Empty', text: '   ' }), // 9: empty text
    good[6], // 10
    Buffer.concat([Buffer.from('{"title": "Latin-1", "text": "caf'), Buffer.from([0xe9]), Buffer.from('"}')]), // 11: invalid UTF-8
    good[7], // 12
  ];
  return Buffer.concat(rows.flatMap((r) => [Buffer.isBuffer(r) ? r : Buffer.from(r), Buffer.from('\n')]));
}

/** A larger file whose import takes long enough to be cancelled half way. */
function bigJsonl(n: number): Buffer {
  const rows = Array.from({ length: n }, (_, i) =>
    line({
      title: `Report ${i}`,
      text: `In ${1900 + (i % 100)} the committee of ${people[i % 8]} met in Berlin and London to discuss item ${i}. `,
    }),
  );
  return Buffer.from(rows.join('\n') + '\n');
}

test('import a .jsonl corpus with bad lines, cancel a second import, and keep both across a reload', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(120_000);
  const watch = watchPage(page, baseURL!);
  await openApp(page, '?backend=webgpu');
  expect(await page.evaluate(() => window.__realm.backend())).toBe('webgpu');
  await corpusIdle(page);
  const before = await page.evaluate(() => window.__realm.listCorpora());
  expect(before.every((c) => c.status === 'ready')).toBe(true);
  // On first start the app loaded the bundled tiny corpus, whole, and made it active.
  const tiny = JSON.parse(readFileSync('public/corpus/tiny/manifest.json', 'utf8')) as { counts: { passages: number } };
  expect(before.map((c) => c.id)).toEqual(['bundled:tiny']);
  expect(await page.evaluate(() => window.__realm.countChunks('bundled:tiny'))).toBe(tiny.counts.passages);
  expect(await page.evaluate(() => window.__realm.activeCorpus())).toBe('bundled:tiny');

  // 1. Import through the file picker.
  const input = page.getByTestId('corpus-file-input');
  await input.setInputFiles({ name: 'mixed.jsonl', mimeType: 'application/jsonl', buffer: mixedJsonl() });
  const report = page.getByTestId('import-report');
  await expect(report).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(report).toContainText('Loaded mixed.jsonl: 8 passages, 4 bad records skipped.');
  const badLines = await page
    .getByTestId('bad-records')
    .locator('li')
    .evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-line'))));
  expect(badLines).toEqual([3, 6, 9, 11]);
  await expect(page.getByTestId('bad-records')).toContainText('line 11: invalid UTF-8');
  await expect(page.getByTestId('bad-records')).toContainText('line 6: missing field "text"');

  const afterFirst = await page.evaluate(() => window.__realm.listCorpora());
  const imported = afterFirst.find((c) => !before.some((b) => b.id === c.id))!;
  expect(imported).toBeDefined();
  expect(imported.status).toBe('ready');
  expect(imported.source).toBe('import:mixed.jsonl');
  expect(await page.evaluate((id) => window.__realm.countChunks(id), imported.id)).toBe(8);
  expect(await page.evaluate(() => window.__realm.activeCorpus())).toBe(imported.id);
  await expect(page.getByTestId('corpus-stats')).toContainText('mixed.jsonl');
  const importedRow = page.locator(`[data-testid="corpus-row"][data-corpus-id="${imported.id}"]`);
  await expect(importedRow.getByRole('radio')).toBeChecked();

  // 2. A second import, cancelled while it runs.
  await input.setInputFiles({ name: 'big.jsonl', mimeType: 'application/jsonl', buffer: bigJsonl(4000) });
  const progress = page.getByTestId('corpus-progress');
  await expect(progress).toBeVisible();
  await progress.getByRole('button', { name: 'Cancel' }).click();
  await expect(report).toHaveAttribute('data-status', 'cancelled', { timeout: 60_000 });
  await expect(report).toContainText('The corpora stored before are unchanged.');
  await expect(progress).toBeHidden();
  const afterCancel = await page.evaluate(() => window.__realm.listCorpora());
  expect(afterCancel.map((c) => c.id).sort()).toEqual(afterFirst.map((c) => c.id).sort());
  expect(afterCancel.some((c) => c.status === 'staging')).toBe(false);
  expect(await page.evaluate((id) => window.__realm.countChunks(id), imported.id)).toBe(8);
  expect(await page.evaluate(() => window.__realm.activeCorpus())).toBe(imported.id);

  // 3. Corpora survive a reload.
  await page.reload();
  await openApp(page, '?backend=webgpu');
  await corpusIdle(page);
  const afterReload = await page.evaluate(() => window.__realm.listCorpora());
  expect(afterReload.map((c) => c.id).sort()).toEqual(afterFirst.map((c) => c.id).sort());
  expect(await page.evaluate((id) => window.__realm.countChunks(id), imported.id)).toBe(8);
  expect(await page.evaluate(() => window.__realm.activeCorpus())).toBe(imported.id);
  await expect(importedRow).toBeVisible();

  expect(watch.errors).toEqual([]);
  expect(watch.foreignRequests).toEqual([]);
});

test('with ?worker=off the import runs on the main thread and gives the same result', async ({ page, baseURL }) => {
  const watch = watchPage(page, baseURL!);
  await openApp(page, '?backend=webgpu&worker=off');
  await corpusIdle(page);
  await page
    .getByTestId('corpus-file-input')
    .setInputFiles({ name: 'mixed.jsonl', mimeType: 'application/jsonl', buffer: mixedJsonl() });
  const report = page.getByTestId('import-report');
  await expect(report).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  await expect(report).toContainText('Loaded mixed.jsonl: 8 passages, 4 bad records skipped.');
  expect(await page.evaluate(() => window.__realm.corpusImporterMode())).toBe('main-thread');
  await expect(page.getByTestId('corpus-panel')).toContainText('The corpus importer runs on the main thread');
  expect(watch.errors).toEqual([]);
});
