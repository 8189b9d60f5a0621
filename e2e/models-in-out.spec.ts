// Models in and out of the page (docs/scale-out.md): a tiny run with BERT's block (post-LN, erf GELU)
// trains to a checkpoint and is exported for transformers (a zip of embed_input/, embed_doc/, reader/
// with model.safetensors, config.json, vocab.txt, and the index as block_emb.npy); that zip is staged in the Runs panel as the
// starting point of a new run with no training steps, which finishes at once and stores its
// checkpoint; exported again, every tensor of every encoder is the same, bit for bit: export then
// import changes nothing, so the two models compute the same outputs. A zip that is not a
// checkpoint is refused with a message that says what is missing.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync, zipSync, strToU8 } from 'fflate';
import type { Download, Page } from '@playwright/test';
import { expect, test, openAppWithCorpus, watchPage } from './helpers';
import { decodeSafetensors } from '../src/model/safetensors';

const BASE = 'backend=webgpu&preset=tiny&refresh=async&every=2&ckpt=2&eval=0&batch=2&seed=3&bundle=micro&ln=post&gelu=erf';

interface Hooks {
  run: {
    start(): Promise<void>;
    stop(): Promise<void>;
    events(): { type: string; step: number }[];
    state(): { runId: string; status: string; step: number; total: number } | null;
  };
}
const hook = <T>(page: Page, fn: (h: Hooks) => T | Promise<T>) =>
  page.evaluate(`(${fn.toString()})(window.__realm)`) as Promise<T>;

async function saveZip(download: Download): Promise<Record<string, Uint8Array>> {
  const path = join(mkdtempSync(join(tmpdir(), 'realm-hf-')), download.suggestedFilename());
  await download.saveAs(path);
  return unzipSync(new Uint8Array(readFileSync(path)));
}

async function exportForTransformers(page: Page, runId: string): Promise<{ files: Record<string, Uint8Array>; name: string }> {
  const row = page.getByTestId('runs-panel').locator(`[data-testid="run-row"][data-run-id="${runId}"]`);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    row.getByRole('button', { name: `Download run ${runId} for transformers` }).click(),
  ]);
  return { files: await saveZip(download), name: download.suggestedFilename() };
}

test('a run exported for transformers starts a new run with the same weights', async ({ page, baseURL }) => {
  test.setTimeout(600_000);
  watchPage(page, baseURL!);
  await openAppWithCorpus(page, `?${BASE}&ict=2&mlm=0&realm=2`, ['run', 'runs']);
  const panel = page.getByTestId('runs-panel');

  // Run A: two ICT and two REALM steps of BERT's block (the REALM phase builds and stores an index), then done.
  await hook(page, (h) => h.run.start());
  const runA = (await hook(page, (h) => h.run.state()))!.runId;
  await expect.poll(() => hook(page, (h) => h.run.state()?.status), { timeout: 300_000, intervals: [1000] }).toBe('done');

  const a = await exportForTransformers(page, runA);
  expect(a.name).toBe(`${runA}-transformers.zip`);
  await expect(panel.getByTestId('runs-export-done')).toContainText(`Exported run ${runA}`);
  for (const role of ['embed_input', 'embed_doc', 'reader'])
    for (const f of ['model.safetensors', 'config.json', 'vocab.txt', 'tokenizer_config.json'])
      expect(Object.keys(a.files)).toContain(`${role}/${f}`);
  const config = JSON.parse(strFromU8(a.files['reader/config.json'])) as Record<string, unknown>;
  expect(config).toMatchObject({ model_type: 'bert', architectures: ['BertModel'], hidden_act: 'gelu', hidden_size: 32 });
  const reader = decodeSafetensors(a.files['reader/model.safetensors']);
  expect(reader.metadata).toEqual({ format: 'pt' });
  const names = reader.tensors.map((t) => t.name);
  expect(names).toContain('embeddings.LayerNorm.weight');
  expect(names).toContain('encoder.layer.1.output.LayerNorm.bias');
  expect(names).toContain('cls.predictions.bias');
  expect(reader.tensors.find((t) => t.name === 'encoder.layer.0.intermediate.dense.weight')!.shape).toEqual([64, 32]);
  const vocab = strFromU8(a.files['reader/vocab.txt']).split('\n');
  expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  expect(vocab.length - 1).toBe(config.vocab_size);

  // The run's index: block_emb.npy (float32 [N, d], .npy v1) and one record a row in blocks.jsonl.
  const npy = a.files['index/block_emb.npy'];
  expect(strFromU8(npy.subarray(1, 6))).toBe('NUMPY');
  const headerLength = npy[8] + 256 * npy[9];
  const header = strFromU8(npy.subarray(10, 10 + headerLength));
  const [rows, dim] = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  expect(header).toContain("'descr': '<f4'");
  expect(dim).toBe(config.retriever_proj_size);
  expect(npy.length).toBe(10 + headerLength + 4 * rows * dim);
  const blocks = strFromU8(a.files['index/blocks.jsonl'])
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { row: number; title: string });
  expect(blocks).toHaveLength(rows);
  expect(blocks[rows - 1]).toMatchObject({ row: rows - 1, title: expect.any(String) });

  // A zip without a checkpoint is refused, saying what is missing; nothing is staged.
  const input = panel.getByTestId('runs-init-input');
  await input.setInputFiles({
    name: 'notes.zip',
    mimeType: 'application/zip',
    buffer: Buffer.from(zipSync({ 'a.txt': strToU8('x') })),
  });
  await expect(panel.getByTestId('runs-init-error')).toContainText('holds no model.safetensors');

  // Run B: no training steps, started from A's export. A new page (the URL says 0 steps).
  await openAppWithCorpus(page, `?${BASE}&ict=0&mlm=0&realm=0`, ['run', 'runs']);
  await page
    .getByTestId('runs-init-input')
    .setInputFiles({ name: a.name, mimeType: 'application/zip', buffer: Buffer.from(zipSync(a.files)) });
  await expect(page.getByTestId('runs-init-staged')).toContainText(
    'embed_input, embed_doc, reader from BertModel, 2 layers of 32',
  );
  await hook(page, (h) => h.run.start());
  const runB = (await hook(page, (h) => h.run.state()))!.runId;
  expect(runB).not.toBe(runA);
  await expect.poll(() => hook(page, (h) => h.run.state()?.status), { timeout: 120_000, intervals: [500] }).toBe('done');

  const b = await exportForTransformers(page, runB);
  for (const role of ['embed_input', 'embed_doc', 'reader']) {
    const [ta, tb] = [
      decodeSafetensors(a.files[`${role}/model.safetensors`]),
      decodeSafetensors(b.files[`${role}/model.safetensors`]),
    ];
    expect(tb.tensors.map((t) => t.name)).toEqual(ta.tensors.map((t) => t.name));
    ta.tensors.forEach((t, i) => expect(tb.tensors[i].data, `${role} ${t.name}`).toEqual(t.data));
    expect(strFromU8(b.files[`${role}/vocab.txt`])).toBe(strFromU8(a.files[`${role}/vocab.txt`]));
  }
});
