// Open-QA on a bundled corpus over several seeds (issue #34; docs/benchmarks.md "Open-QA"): for each seed,
// `npm run train` pre-trains (ICT, MLM, REALM), `npm run finetune` fine-tunes from the end checkpoint
// (REALM) and from PATH-mlm (ICT retriever + MLM reader, no REALM step: ORQA's baseline), and
// `npm run eval:qa` evaluates both with the BM25 and null-document baselines on the dev questions.
// Prints mean ± standard error over the seeds as a markdown table.
//   npx tsx research/qa-seeds.ts [--corpus public/corpus/micro] [--seeds 1,2,3] [--out DIR] [-- extra train options]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';

const argv = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = argv.indexOf(`--${k}`);
  return i >= 0 ? argv[i + 1] : d;
};
const corpus = opt('corpus', 'public/corpus/micro');
const seeds = opt('seeds', '1,2,3').split(',').map(Number);
const out = resolve(opt('out', join(tmpdir(), 'qa-seeds')));
const TRAIN = ['--preset', 'tiny', '--ict-steps', '400', '--mlm-steps', '600', '--steps', '200'];
const FINETUNE = ['--steps', '300', '--lr', '1e-3', '--k', '5', '--batch', '4'];
const root = resolve(import.meta.dirname, '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function run(script: string, args: string[]): void {
  process.stderr.write(`$ npm run ${script} -- ${args.join(' ')}\n`);
  const r = spawnSync(tsx, [join(root, 'scripts', `${script}.ts`), ...args], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  if (script === 'eval-qa') process.stderr.write(r.stdout);
}

interface Row {
  system: string;
  exactMatch: number;
  recallAtK: number;
  zeroShotRecallAtK: number | null;
}
const results: Row[][] = [];
for (const seed of seeds) {
  const dir = join(out, `seed${seed}`);
  const pre = join(dir, 'pre', 'ckpt');
  run('train', ['--corpus', corpus, ...TRAIN, '--seed', String(seed), '--out', pre, '--metrics', join(dir, 'pre.jsonl')]);
  const qa = ['--qa', join(corpus, 'qa-train.jsonl'), ...FINETUNE, '--seed', String(seed)];
  run('finetune', ['--from', pre, ...qa, '--out', join(dir, 'ft'), '--metrics', join(dir, 'ft.jsonl')]);
  run('finetune', ['--from', `${pre}-mlm`, ...qa, '--out', join(dir, 'ft-ict'), '--metrics', join(dir, 'ft-ict.jsonl')]);
  const json = join(dir, 'qa.json');
  run('eval-qa', [
    '--model',
    join(dir, 'ft'),
    '--qa',
    join(corpus, 'qa-dev.jsonl'),
    '--ict-model',
    join(dir, 'ft-ict'),
    '--json',
    json,
  ]);
  results.push((JSON.parse(readFileSync(json, 'utf8')) as { rows: Row[] }).rows);
}

const meanSe = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, xs.length - 1));
  return `${m.toFixed(3)} ± ${(sd / Math.sqrt(xs.length)).toFixed(3)}`;
};
console.log(`| system | EM | recall@5 | zero-shot recall@5 |\n| --- | --- | --- | --- |`);
results[0].forEach((r, i) => {
  const col = (f: (x: Row) => number | null) => {
    const xs = results.map((rs) => f(rs[i]));
    return xs.some((x) => x === null) ? 'n/a' : meanSe(xs as number[]);
  };
  console.log(`| ${r.system} | ${col((x) => x.exactMatch)} | ${col((x) => x.recallAtK)} | ${col((x) => x.zeroShotRecallAtK)} |`);
});
console.log(
  `\nper seed (EM): ${results.map((rs, s) => `seed ${seeds[s]}: ${rs.map((r) => r.exactMatch.toFixed(3)).join(' / ')}`).join('; ')}`,
);
