// Open-QA in the page (issue #34), on the bundled micro corpus on wasm: pre-train a tiny run, ask a dev
// question before fine-tuning (the answer is labelled untrained), fine-tune a few steps from the Training
// panel (progress, loss and dev EM / recall@5 charts), then ask again: the fine-tuned reader's answer with
// its span marked in its document, k documents whose p(z|x) sum to 1, the BM25 column beside it, a warm
// ask timed under 2 s, no tensor left behind; after a reload, opening the run brings the fine-tuned model
// back from storage with the same answers; a fine-tuning stopped part-way goes on with Continue; no page
// error.
import type { Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';

const URL = '?backend=wasm&bundle=micro&preset=tiny&ict=2&mlm=2&realm=4&refresh=async&every=2&ckpt=2&eval=0&batch=2&k=2&seed=3';

interface AskResult {
  question: string;
  k: number;
  answerMs: number;
  prepareMs: number;
  reader: { kind: string; finetuneSteps: number };
  dense: { answer: string; documents: { probability: number }[] };
  bm25: { answer: string; documents: { probability: number }[] };
}
interface Hook {
  run: {
    start(): Promise<void>;
    state(): { runId: string; status: string; step: number } | null;
    resumeStored(runId: string): Promise<number>;
  };
  ask: { ask(q: string): Promise<AskResult>; result(): AskResult | null; devQuestions(): string[]; numTensors(): number };
  finetune: {
    state(): { status: string; step: number; steps: number; k: number; evals: { step: number }[] } | null;
    stop(): Promise<void>;
  };
}

const hook = <T>(page: Page, fn: (h: Hook) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;

test('pre-train, fine-tune for Open-QA, and ask a dev question: an answer with its span, k documents, BM25 beside it', async ({
  page,
  baseURL,
}) => {
  test.setTimeout(600_000);
  const watch = watchPage(page, baseURL!);
  await openAppWithCorpus(page, URL, ['run', 'ask', 'finetune']);
  const panel = page.getByTestId('ask-panel');

  // No run yet: the panel says what to do, and Ask is off.
  await expect(panel.getByTestId('ask-stage')).toContainText('No run yet');
  await expect(panel.getByTestId('ask-submit')).toBeDisabled();

  await hook(page, (h) => h.run.start());
  await expect.poll(() => hook(page, (h) => h.run.state()?.status), { timeout: 300_000, intervals: [1000] }).toBe('done');
  await expect(panel.getByTestId('ask-stage')).toHaveCount(0);

  // Before fine-tuning: the reader's span head is untrained, and the panel says so.
  const dev = await hook(page, (h) => h.ask.devQuestions());
  expect(dev.length).toBeGreaterThan(0);
  await panel.getByTestId('ask-pick').selectOption('0');
  await expect(panel.getByTestId('ask-question')).toHaveValue(dev[0]);
  await panel.getByTestId('ask-submit').click();
  await expect(panel.getByTestId('ask-reader')).toContainText('Untrained span head');
  const untrained = (await hook(page, (h) => h.ask.result()))!;
  expect(untrained.reader.kind).toBe('untrained');

  // Fine-tune 4 steps (k = 5 by default), dev EM every 2 steps, from the Training panel.
  const training = page.getByTestId('finetune-section');
  await expect(training.getByTestId('finetune-k')).toHaveValue('5');
  await training.getByTestId('finetune-steps').fill('4');
  await training.getByTestId('finetune-evalEvery').fill('2');
  await training.getByTestId('finetune-start').click();
  await expect.poll(() => hook(page, (h) => h.finetune.state()?.status), { timeout: 300_000, intervals: [500] }).toBe('done');
  const ft = (await hook(page, (h) => h.finetune.state()))!;
  expect(ft).toMatchObject({ step: 4, steps: 4, k: 5 });
  expect(ft.evals.map((e) => e.step)).toEqual([0, 2, 4]);
  await expect(training.getByTestId('finetune-loss-chart')).toHaveAttribute('data-points', '4');
  await expect(training.getByTestId('finetune-eval-chart')).toHaveAttribute('data-points', '3');
  await expect(training.getByTestId('finetune-status')).toContainText('Fine-tuning done: step 4 of 4');
  await expect(training.getByTestId('finetune-progress')).toBeVisible();

  // Ask the dev question again: the fine-tuned reader answers.
  await panel.getByTestId('ask-pick').selectOption('0');
  await panel.getByTestId('ask-submit').click();
  await expect(panel.getByTestId('ask-reader')).toContainText('fine-tuned for Open-QA (4 steps');
  const r = (await hook(page, (h) => h.ask.result()))!;
  expect(r.question).toBe(dev[0]);
  expect(r.k).toBe(5);
  for (const [id, a] of [
    ['ask-dense', r.dense],
    ['ask-bm25', r.bm25],
  ] as const) {
    const column = panel.getByTestId(id);
    const docs = column.getByTestId('ask-doc');
    await expect(docs).toHaveCount(5);
    const shown = await docs.evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-pz'))));
    expect(Math.abs(shown.reduce((s, x) => s + x, 0) - 1)).toBeLessThan(1e-3);
    expect(Math.abs(a.documents.reduce((s, d) => s + d.probability, 0) - 1)).toBeLessThan(1e-3);
    // The answer is shown, and marked where it was cut from its document.
    expect(a.answer.length).toBeGreaterThan(0);
    await expect(column.getByTestId('ask-answer')).toHaveText(a.answer);
    // (one mark, or several where other spans overlap part of it: their text together is the answer)
    const span = column.getByTestId('ask-answer-span');
    expect(await span.count()).toBeGreaterThanOrEqual(1);
    expect((await span.allTextContents()).join('')).toBe(a.answer);
    await expect(span.first()).toHaveAttribute('title', /span score.*\(the answer\)/);
    // The best spans of each document are marked and listed with their scores.
    expect(await column.locator('mark.ask-span').count()).toBeGreaterThanOrEqual(5);
  }

  // Both columns and the fine-tuning charts fit the page: nothing scrolls sideways at 1280 px.
  expect(page.viewportSize()!.width).toBe(1280);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280);

  // A warm ask (the reader and its index are ready): timed, and it leaves no tensor behind.
  const tensorsBefore = await hook(page, (h) => h.ask.numTensors());
  const warm = await hook(page, (h) => h.ask.ask(h.ask.devQuestions()[1] ?? h.ask.devQuestions()[0]));
  expect(await hook(page, (h) => h.ask.numTensors())).toBe(tensorsBefore);
  console.log(
    `ask on wasm (micro corpus, tiny preset, k 5, retriever + BM25): first ask ${untrained.answerMs.toFixed(0)} ms ` +
      `(+ ${untrained.prepareMs.toFixed(0)} ms preparing the untrained reader), fine-tuned ${r.answerMs.toFixed(0)} ms, warm ${warm.answerMs.toFixed(0)} ms`,
  );
  expect(warm.answerMs).toBeLessThan(2000);
  expect(r.answerMs).toBeLessThan(2000);

  // The fine-tuned model is stored with the run: after a reload, opening the run brings it back.
  const runId = (await hook(page, (h) => h.run.state()))!.runId;
  await page.reload();
  await openAppWithCorpus(page, URL, ['run', 'ask', 'finetune']);
  await page.evaluate(`window.__realm.run.resumeStored(${JSON.stringify(runId)})`);
  await expect(page.getByTestId('finetune-restored')).toContainText(
    'Restored the fine-tuned model stored with this run (4 steps)',
  );
  expect(await hook(page, (h) => h.finetune.state())).toMatchObject({ status: 'done', step: 4, k: 5, evals: ft.evals });
  await expect(training.getByTestId('finetune-eval-chart')).toHaveAttribute('data-points', '3');
  await panel.getByTestId('ask-question').fill(r.question);
  await panel.getByTestId('ask-submit').click();
  await expect(panel.getByTestId('ask-reader')).toContainText('fine-tuned for Open-QA (4 steps');
  const restored = (await hook(page, (h) => h.ask.result()))!;
  expect(restored.dense.answer).toBe(r.dense.answer);
  expect(restored.bm25.answer).toBe(r.bm25.answer);

  // A fine-tuning stopped part-way goes on to its last step with Continue.
  await training.getByTestId('finetune-steps').fill('30');
  await training.getByTestId('finetune-evalEvery').fill('0');
  await training.getByTestId('finetune-start').click();
  await expect
    .poll(() => hook(page, (h) => h.finetune.state()?.step ?? 0), { timeout: 300_000, intervals: [200] })
    .toBeGreaterThan(0);
  await hook(page, (h) => h.finetune.stop());
  const stopped = (await hook(page, (h) => h.finetune.state()))!;
  expect(stopped.status).toBe('stopped');
  expect(stopped.step).toBeLessThan(30);
  await training.getByTestId('finetune-continue').click();
  await expect.poll(() => hook(page, (h) => h.finetune.state()?.status), { timeout: 300_000, intervals: [500] }).toBe('done');
  expect(await hook(page, (h) => h.finetune.state())).toMatchObject({ step: 30, steps: 30 });
  await expect(training.getByTestId('finetune-continue')).toHaveCount(0);
  await expect(training.getByTestId('finetune-loss-chart')).toHaveAttribute('data-points', '30');

  expect(watch.errors).toEqual([]);
});
