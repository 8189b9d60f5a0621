// The Open-QA command line end to end at tiny sizes (about 40 s): `npm run train` on the micro corpus
// (a checkpoint after ICT + MLM and at the end), `npm run finetune` from each (NQ-open jsonl training
// questions, DPR tsv dev questions), `npm run eval:qa` with the ICT-only model as the ORQA row, and
// the messages of bad question files.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qa-cli-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(script: string, args: string[]): { status: number | null; out: string; stdout: string; stderr: string } {
  const r = spawnSync(tsx, [path.join(root, 'scripts', script), ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}`, stdout: r.stdout, stderr: r.stderr };
}
function ok(script: string, args: string[]): string {
  const r = run(script, args);
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${r.out}`);
  return r.out;
}

it('train -> finetune (from REALM and from ICT + MLM only) -> eval:qa with the baselines', () => {
  const pre = path.join(tmp, 'pre', 'ckpt');
  ok('train.ts', [
    ...['--corpus', 'public/corpus/micro', '--hidden', '16', '--heads', '2', '--k', '2', '--batch', '2', '--ict-batch', '2'],
    ...[
      '--ict-steps',
      '2',
      '--mlm-steps',
      '1',
      '--steps',
      '1',
      '--backend',
      'cpu',
      '--out',
      pre,
      '--metrics',
      path.join(tmp, 'm.jsonl'),
    ],
  ]);
  // DPR-style dev questions from the bundled jsonl.
  const dev = fs
    .readFileSync('public/corpus/micro/qa-dev.jsonl', 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .slice(0, 6)
    .map((l) => JSON.parse(l) as { question: string; answer: string[] });
  const devTsv = path.join(tmp, 'dev.tsv');
  fs.writeFileSync(devTsv, dev.map((q) => `${q.question}\t${JSON.stringify(q.answer)}`).join('\n') + '\n');
  const common = ['--qa', 'public/corpus/micro/qa-train.jsonl', '--steps', '2', '--k', '3', '--batch', '2', '--backend', 'cpu'];
  const out = path.join(tmp, 'ft');
  const tuned = ok('finetune.ts', [
    '--from',
    pre,
    '--dev',
    devTsv,
    '--out',
    out,
    '--metrics',
    path.join(tmp, 'ft.jsonl'),
    ...common,
  ]);
  expect(tuned).toMatch(/132 passages in the fixed index, 72 training questions, 6 dev; 2 steps of 2, k 3/);
  expect(tuned).toMatch(/6 dev questions: EM \d\.\d{3}, recall@3 \d\.\d{3} \(an answer's wordpieces/);
  expect(fs.readdirSync(out).sort()).toEqual(['checkpoint.bin', 'checkpoint.json', 'predictions.jsonl', 'vocab.txt']);
  const header = JSON.parse(fs.readFileSync(path.join(out, 'checkpoint.json'), 'utf8')) as {
    step: number;
    phase: string;
    weights: { name: string }[];
    extra: { config: { spanReader: boolean }; from: string; finetune: { k: number } };
  };
  expect(header).toMatchObject({
    step: 2,
    phase: 'finetune',
    extra: { config: { spanReader: true }, from: pre, finetune: { k: 3 } },
  });
  expect(header.weights.some((w) => w.name === 'span/output/kernel')).toBe(true);
  const predictions = fs
    .readFileSync(path.join(out, 'predictions.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as object);
  expect(predictions).toHaveLength(6);
  expect(Object.keys(predictions[0])).toEqual(['question', 'prediction']);
  const steps = fs
    .readFileSync(path.join(tmp, 'ft.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind: string });
  expect(steps.map((s) => s.kind)).toEqual(['step', 'step', 'eval']);

  // npm run train --init of the fine-tuned checkpoint keeps its span head (ARCHITECTURE_KEYS has spanReader).
  const again = path.join(tmp, 'again', 'ckpt');
  ok('train.ts', [
    ...[
      '--corpus',
      'public/corpus/micro',
      '--init',
      path.join(out, 'checkpoint'),
      '--k',
      '2',
      '--batch',
      '2',
      '--ict-batch',
      '2',
    ],
    ...[
      '--ict-steps',
      '0',
      '--mlm-steps',
      '0',
      '--steps',
      '1',
      '--backend',
      'cpu',
      '--out',
      again,
      '--metrics',
      path.join(tmp, 'a.jsonl'),
    ],
  ]);
  const againHeader = JSON.parse(fs.readFileSync(`${again}.json`, 'utf8')) as typeof header;
  expect(againHeader.extra.config.spanReader).toBe(true);
  expect(againHeader.weights.filter((w) => w.name.startsWith('span/')).length).toBe(8);

  const ictOut = path.join(tmp, 'ft-ict');
  ok('finetune.ts', ['--from', `${pre}-mlm`, '--out', ictOut, '--metrics', path.join(tmp, 'ft2.jsonl'), ...common]);

  const json = path.join(tmp, 'qa.json');
  const preds = path.join(tmp, 'p.jsonl');
  const table = ok('eval-qa.ts', [
    '--model',
    out,
    '--qa',
    devTsv,
    '--ict-model',
    ictOut,
    '--json',
    json,
    '--predictions',
    preds,
    '--backend',
    'cpu',
  ]);
  expect(table).toMatch(/6 questions, 132 passages in the fixed index, k = 3/);
  expect(table).toMatch(/fine-tuned model \(its retriever \+ reader\) +\d\.\d{3} +\d\.\d{3} +\d\.\d{3}/);
  expect(table).toMatch(/BM25 \+ the same reader +\d\.\d{3} +\d\.\d{3}/);
  expect(table).toMatch(/null document only +0\.000 +0\.000 +n\/a/);
  expect(table).toMatch(/ICT-only retriever, fine-tuned \(ORQA\) +\d\.\d{3} +\d\.\d{3} +\d\.\d{3}/);
  const e = JSON.parse(fs.readFileSync(json, 'utf8')) as { rows: { recallAtK: number }[]; predictions: unknown[] };
  expect(e.rows).toHaveLength(4);
  // The dev predictions written at the end of fine-tuning are the model's answers that eval:qa gives again.
  expect(fs.readFileSync(preds, 'utf8')).toBe(fs.readFileSync(path.join(out, 'predictions.jsonl'), 'utf8'));
}, 120_000);

it('a malformed question file stops with its file and line, never a stack trace', () => {
  const bad = path.join(tmp, 'bad.jsonl');
  fs.writeFileSync(bad, '{"question":"a","answer":["b"]}\n{"question":"c","answer":"d"}\n');
  const r = run('finetune.ts', ['--from', path.join(tmp, 'none'), '--qa', bad]);
  expect([r.status, r.stderr.trim()]).toEqual([
    1,
    `finetune: ${bad}, line 2: field "answer" must be a non-empty list of strings`,
  ]);
  const m = run('eval-qa.ts', [
    '--model',
    path.join(tmp, 'none'),
    '--qa',
    'public/corpus/micro/qa-dev.jsonl',
    '--backend',
    'cpu',
  ]);
  expect([m.status, m.stderr.trim()]).toEqual([
    1,
    `eval:qa: ${path.join(tmp, 'none')}.json is missing: a checkpoint is PATH.json + PATH.bin, as npm run train writes them`,
  ]);
});
