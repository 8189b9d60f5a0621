// The researcher's command line end to end, at tiny sizes (about 15 s): `npm run import` a .jsonl
// into a corpus folder, `npm run train` on it with shared embedders (a checkpoint after ICT, after MLM
// and at the end, vocab.txt beside them), `npm run train -- --init` on another corpus (tokenized with
// the checkpoint's vocabulary), `npm run eval` on an external cloze file, and the "n/a" of empty sets;
// then the argument parsing the CLIs share.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseVocab } from '../src/corpus/corpus-format';
import { checkKnownOptions, flagOption, numOption, parseCliArgs } from './cli-args';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs a CLI; returns stdout + stderr (a non-zero exit fails the test with its output). */
function run(script: string, args: string[]): string {
  const r = spawnSync(tsx, [path.join(root, 'scripts', script), ...args], { cwd: root, encoding: 'utf8' });
  const out = `${r.stdout}\n${r.stderr}`;
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${r.status}:\n${out}`);
  return out;
}

const small = ['--hidden', '16', '--heads', '2', '--k', '2', '--batch', '2', '--ict-batch', '2', '--backend', 'cpu'];

it('import -> train (shared embedders, checkpoints per phase) -> train --init -> eval', () => {
  const file = path.join(tmp, 'people.jsonl');
  const rows = [
    {
      id: 'ada',
      title: 'Ada Lovelace',
      text: 'Ada Lovelace wrote notes on the Analytical Engine in 1843 with Charles Babbage in London.',
    },
    { id: 'paris', title: 'Paris', text: 'Paris is the capital of France. The Louvre opened in Paris in 1793.' },
    { id: 'london', title: 'London', text: 'London is the capital of England. Charles Babbage lived in London until 1871.' },
    {
      id: 'bohr',
      title: 'Niels Bohr',
      text: 'Niels Bohr was born in Copenhagen in 1885. He worked with Ernest Rutherford in Manchester.',
    },
  ];
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
  const corpus = path.join(tmp, 'people');
  expect(run('import.ts', [file, '--out', corpus, '--cloze-share', '1', '--vocab-size', '200'])).toMatch(
    /4 passages \(blocks\)[\s\S]*held-out cloze items: 4/,
  );
  expect(fs.readdirSync(corpus).sort()).toEqual(['cloze.jsonl', 'manifest.json', 'passages.jsonl', 'vocab.txt']);

  // Train with one shared BERT for both embedders; a checkpoint after each phase.
  const ckpt = path.join(tmp, 'run', 'ckpt');
  const metrics = path.join(tmp, 'run.jsonl');
  const trained = run('train.ts', [
    '--corpus',
    corpus,
    '--ict-steps',
    '2',
    '--mlm-steps',
    '2',
    '--steps',
    '2',
    '--share-embedders',
    '1',
    '--out',
    ckpt,
    '--metrics',
    metrics,
    ...small,
  ]);
  expect(trained).toContain('one shared retriever BERT');
  for (const f of ['ckpt-ict', 'ckpt-mlm', 'ckpt'])
    for (const ext of ['json', 'bin']) expect(fs.existsSync(`${path.join(tmp, 'run', f)}.${ext}`)).toBe(true);
  const header = JSON.parse(fs.readFileSync(`${ckpt}.json`, 'utf8')) as {
    step: number;
    extra: { config: { shareRetrieverWeights: boolean; hidden: number } };
  };
  expect(header.step).toBe(6);
  expect(header.extra.config).toMatchObject({ shareRetrieverWeights: true, hidden: 16 });
  expect((JSON.parse(fs.readFileSync(`${ckpt}-ict.json`, 'utf8')) as { step: number }).step).toBe(2);
  expect(fs.readFileSync(path.join(tmp, 'run', 'vocab.txt'), 'utf8')).toBe(
    fs.readFileSync(path.join(corpus, 'vocab.txt'), 'utf8'),
  );
  const evals = fs
    .readFileSync(metrics, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"kind":"eval"'));
  expect(evals).toHaveLength(3);

  // --init on the micro corpus: tokenized with the checkpoint's vocab.txt, not micro's own.
  const ckpt2 = path.join(tmp, 'run2', 'ckpt');
  const init = run('train.ts', [
    '--corpus',
    'public/corpus/micro',
    '--init',
    ckpt,
    '--ict-steps',
    '0',
    '--mlm-steps',
    '0',
    '--steps',
    '1',
    '--out',
    ckpt2,
    '--metrics',
    path.join(tmp, 'run2.jsonl'),
    '--k',
    '2',
    '--batch',
    '2',
    '--backend',
    'cpu',
  ]);
  const modelVocab = parseVocab(fs.readFileSync(path.join(tmp, 'run', 'vocab.txt'), 'utf8'));
  expect(init).toContain(
    `tokenizing with the model's vocabulary ${path.join(tmp, 'run', 'vocab.txt')} (${modelVocab.length} pieces)`,
  );
  const microPassages = fs
    .readFileSync('public/corpus/micro/passages.jsonl', 'utf8')
    .split('\n')
    .filter((l) => l.trim()).length;
  expect(init).toMatch(new RegExp(`corpus public/corpus/micro: ${microPassages} passages.*vocabulary ${modelVocab.length}\\n`));
  expect(init).toContain('one shared retriever BERT'); // the architecture came with the checkpoint
  expect(parseVocab(fs.readFileSync(path.join(tmp, 'run2', 'vocab.txt'), 'utf8'))).toEqual(modelVocab);
  // eval on an external cloze file: one item names its document, one names none.
  const clozeFile = path.join(tmp, 'questions.jsonl');
  fs.writeFileSync(
    clozeFile,
    [
      JSON.stringify({ doc_id: 'ada', sentence: 'Ada Lovelace wrote notes with [MASK] in London.', answer: 'Charles Babbage' }),
      JSON.stringify({ title: 'France', sentence: 'The Louvre opened in [MASK].', answer: 'Paris' }),
      JSON.stringify({ doc_id: 'paris', sentence: 'Paris is the capital of [MASK].', answer: 'France' }), // still in its passage
    ].join('\n'),
  );
  const json = path.join(tmp, 'eval.json');
  const evalOut = run('eval.ts', ['--model', ckpt, '--cloze', clozeFile, '--k', '2', '--json', json, '--backend', 'cpu']);
  expect(evalOut).toMatch(/3 cloze items, 3 asked \(0 skipped\), 4 passages.*1 gold passages still held the sentence/);
  expect(evalOut).toMatch(/gold-passage recall@2 +\d\.\d{3} +\d\.\d{3} +0\.500 +over the 2 items/);
  expect(evalOut).toMatch(/answer recall@2 +\d\.\d{3} +\d\.\d{3} +\d\.\d{3} +a passage holds the answer: normalised substring/);
  expect(evalOut).toMatch(/cloze exact match .*with retrieval \d\.\d{3}, null document alone \d\.\d{3}/);
  const figures = JSON.parse(fs.readFileSync(json, 'utf8')) as { model: { gold: { queries: number } }; chance: { gold: number } };
  expect(figures.model.gold.queries).toBe(2);
  expect(figures.chance.gold).toBeCloseTo(0.5, 10); // 2 of 4 passages, 1 gold: 1 - (3/4)(2/3)

  // Empty sets print n/a: a cloze file whose items name no passage, and a corpus with no held-out items.
  fs.writeFileSync(clozeFile, JSON.stringify({ sentence: 'The Louvre opened in [MASK].', answer: 'Paris' }));
  expect(run('eval.ts', ['--model', ckpt, '--cloze', clozeFile, '--backend', 'cpu'])).toMatch(
    /gold-passage recall@5 +n\/a +n\/a +n\/a +over the 0 items/,
  );
  const bare = path.join(tmp, 'bare');
  fs.cpSync(corpus, bare, { recursive: true });
  fs.writeFileSync(path.join(bare, 'cloze.jsonl'), '');
  const noHeldOut = run('train.ts', [
    '--corpus',
    bare,
    '--ict-steps',
    '0',
    '--mlm-steps',
    '0',
    '--steps',
    '1',
    '--out',
    path.join(tmp, 'run3', 'ckpt'),
    '--metrics',
    path.join(tmp, 'run3.jsonl'),
    ...small,
  ]);
  expect(noHeldOut).toContain('0 held-out: cloze acc n/a (null only n/a), recall@5 n/a');
}, 60_000);

it('bad command lines fail with a message, never a stack trace', () => {
  const a = spawnSync(
    tsx,
    [path.join(root, 'scripts', 'import.ts'), path.join(tmp, 'missing.jsonl'), '--out', path.join(tmp, 'x')],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  expect([a.status, a.stderr.trim()]).toEqual([1, `import: ${path.join(tmp, 'missing.jsonl')} does not exist (see --help)`]);
  // The parsing every CLI shares (in-process: a process per case would cost seconds each).
  expect(() => parseCliArgs(['a', 'b'], 1)).toThrow('unexpected argument "b" (see --help)');
  expect(() => parseCliArgs(['--out'])).toThrow('option --out needs a value');
  const { options, positional } = parseCliArgs(['f.jsonl', '--k=3', '--share-embedders', '1'], 1);
  expect([positional, numOption(options, 'k'), flagOption(options, 'share-embedders')]).toEqual([['f.jsonl'], 3, true]);
  expect(() => flagOption(new Map([['share-embedders', 'yes']]), 'share-embedders')).toThrow(
    '--share-embedders is 0 or 1, got "yes"',
  );
  expect(() => numOption(new Map([['k', 'five']]), 'k')).toThrow('--k must be a number, got "five"');
  expect(() => checkKnownOptions(new Map([['shar', '1']]), ['share-embedders'])).toThrow('unknown option --shar');
});
