// `npm run ablate`: a real two-row table with Open-QA fine-tuning (EM and R@5), the plan, and a real kill
// and restart of the CLI process on the micro corpus (the work folder's files carry the finished jobs
// across processes).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ABLATION_FINETUNE_STEPS } from '../src/model/ablation-rows';
import { ablateCommand } from './ablate';

const work = mkdtempSync(join(tmpdir(), 'ablate-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// The micro corpus, the tiny preset and a handful of steps on the cpu backend.
const SMALL = [
  '--corpus',
  'public/corpus/micro',
  '--preset',
  'tiny',
  '--ict-steps',
  '2',
  '--mlm-steps',
  '2',
  '--steps',
  '3',
  '--refresh-every',
  '1',
  '--backend',
  'cpu',
];

function capture() {
  const lines: string[] = [];
  return { lines, log: (s: string) => void lines.push(s) };
}

describe('npm run ablate', () => {
  it('runs a two-row table with real fine-tuning: EM and R@5 for both rows', async () => {
    const c = capture();
    const dir = join(work, 'em');
    const argv = [...SMALL, '--seeds', '1', '--rows', 'realm,baseline', '--finetune-steps', '2', '--finetune-batch', '2'];
    expect(await ablateCommand([...argv, '--work', dir], c.log)).toBe(0);
    const log = c.lines.join('');
    expect(log).toMatch(/2 fine-tuning steps per row/);
    expect(log).toMatch(/qa\/baseline\/seed-1: done in /);
    const qa = JSON.parse(readFileSync(join(dir, 'jobs', 'qa', 'realm', 'seed-1.json'), 'utf8')) as {
      em: number;
      questions: number;
    };
    expect(qa.questions).toBe(18); // public/corpus/micro/qa-dev.jsonl
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as {
      results: { rowId: string; em: number | null; recallAt5: number | null }[];
    };
    expect(results.results.map((r) => r.rowId)).toEqual(['realm', 'baseline']);
    for (const r of results.results) {
      expect(r.em).not.toBeNull();
      expect(r.em! * 18).toBeCloseTo(Math.round(r.em! * 18), 9); // a share of the 18 dev questions
      expect(r.recallAt5! * 18).toBeCloseTo(Math.round(r.recallAt5! * 18), 9);
    }
    const md = readFileSync(join(dir, 'table.md'), 'utf8');
    expect(md).toMatch(/\| REALM \| \d+\.\d \| – \| 38\.2 \|/);
    expect(md).toMatch(/\| baseline \(ORQA\) \| \d+\.\d \| [+−±]\d+\.\d \(p n\/a\) \| 31\.3 \(−6\.9\) \|/);
  }, 180_000);

  it('--plan 1 lists the jobs and the budget', async () => {
    const c = capture();
    expect(await ablateCommand([...SMALL, '--seeds', '2', '--plan', '1'], c.log)).toBe(0);
    expect(c.lines.join('')).toMatch(
      /7 rows x 2 seeds .* 37 jobs \(8 REALM pre-trainings of 3 steps, refresh every 1\); expected .*, (\d+) fine-tuning steps per row/,
    );
    expect(c.lines.join('')).toContain(`, ${ABLATION_FINETUNE_STEPS} fine-tuning steps per row`);
  });

  it('bad options name themselves', async () => {
    await expect(ablateCommand(['--corpus', 'public/corpus/micro', '--rows', 'realm,nope'])).rejects.toThrow(
      /unknown ablation row "nope"/,
    );
    await expect(ablateCommand(['--corpus', 'public/corpus/micro', '--seeds', '0'])).rejects.toThrow(/--seeds is a whole number/);
    await expect(ablateCommand(['--corpus', 'public/corpus/micro', '--sed', '3'])).rejects.toThrow(/unknown option --sed/);
    await expect(ablateCommand(['--seeds', '3'])).rejects.toThrow(/--corpus DIR is required/);
  });

  it('killed after its first row, the same command goes on without redoing that row', async () => {
    const dir = join(work, 'killed');
    const argv = [
      ...SMALL,
      '--seeds',
      '1',
      '--rows',
      'realm,baseline,realm-retriever-baseline-encoder',
      '--recall-only',
      '1',
      '--work',
      dir,
    ];
    const run = (killAfter?: RegExp) =>
      new Promise<{ stderr: string; stdout: string; code: number | null; signal: NodeJS.Signals | null }>((done) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/ablate.ts', ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        let stdout = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr.on('data', (b: Buffer) => {
          stderr += b.toString();
          if (killAfter?.test(stderr)) child.kill('SIGKILL');
        });
        child.on('exit', (code, signal) => done({ stderr, stdout, code, signal }));
      });
    const first = await run(/recall\/realm\/seed-1: done in /);
    expect(first.signal).toBe('SIGKILL');
    const record = join(dir, 'jobs', 'recall', 'realm', 'seed-1.json');
    expect(existsSync(record)).toBe(true);
    expect(existsSync(join(dir, 'jobs', 'recall', 'baseline', 'seed-1.json'))).toBe(false);
    const before = readFileSync(record, 'utf8');

    const second = await run();
    expect(second.code).toBe(0);
    expect(second.stderr).toContain('(3 jobs reused)');
    expect(second.stderr).not.toMatch(/\] (warm-start|pretrain\/realm\/seed-1|recall\/realm\/seed-1): /);
    expect(second.stderr).toMatch(/recall\/baseline\/seed-1: done in /);
    expect(readFileSync(record, 'utf8')).toBe(before);
    expect(second.stdout).toContain('| REALM | n/a | – | 38.2 |');
    expect(second.stdout).toMatch(/\| baseline \(ORQA\) \| n\/a \| – \| 31\.3 \(−6\.9\) \| \d+\.\d \|/);
    const table = readFileSync(join(dir, 'table.csv'), 'utf8').trim().split('\n');
    expect(table).toHaveLength(4);
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { results: { em: null; recallAt5: number }[] };
    expect(results.results.map((r) => r.em)).toEqual([null, null, null]);
    for (const r of results.results) expect(r.recallAt5).toBeGreaterThanOrEqual(0);
  }, 180_000);

  it("--init takes a given warm start (here the killed table's): no warm-start steps, the same baseline recall", async () => {
    const from = join(work, 'killed');
    const dir = join(work, 'given');
    const c = capture();
    const argv = [...SMALL, '--seeds', '1', '--rows', 'baseline', '--recall-only', '1', '--work', dir];
    expect(await ablateCommand([...argv, '--init', join(from, 'models', 'warm-start')], c.log)).toBe(0);
    expect(c.lines.join('')).toMatch(/warm-start: done in .* table 0\/1 steps/);
    const recall = (d: string) =>
      (JSON.parse(readFileSync(join(d, 'jobs', 'recall', 'baseline', 'seed-1.json'), 'utf8')) as { recallAt5: number }).recallAt5;
    expect(recall(dir)).toBe(recall(from));
  }, 60_000);
});
