// `npm run build:warmstart` at test size (the tiny preset, 60 dictionary passages, 3 + 3 steps, wasm):
// stopped after 2 steps and run again, it writes the same weights, byte for byte, as one uninterrupted
// run; the folder it writes opens with openWarmStart, which refuses a file altered by one byte; a
// build folder with other options is refused. And the text it learns from leaves out every held-out
// passage and sentence of the bundled corpora.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openWarmStart } from '../src/model/warm-start';
import { readWarmStart } from './warmstart-files';
import { warmStartText } from './warmstart-text';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'warmstart-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SMALL = [
  '--preset',
  'tiny',
  '--passages',
  '60',
  '--ict-steps',
  '3',
  '--mlm-steps',
  '3',
  '--ict-batch',
  '4',
  '--mlm-batch',
  '2',
];

function build(name: string, extra: string[] = []): { out: string; log: string; status: number | null } {
  const out = path.join(tmp, name, 'out');
  const args = [...SMALL, '--backend', 'wasm', '--corpora', '', '--out', out, '--work', path.join(tmp, name, 'work'), ...extra];
  const r = spawnSync(tsx, [path.join(root, 'scripts', 'build-warmstart.ts'), ...args], { cwd: root, encoding: 'utf8' });
  return { out, log: `${r.stdout}\n${r.stderr}`, status: r.status };
}

describe('npm run build:warmstart', () => {
  it('resumes where it stopped and writes the weights an uninterrupted build writes', async () => {
    const straight = build('straight');
    expect(straight.status, straight.log).toBe(0);
    const first = build('pieces', ['--max-steps', '2']);
    expect(first.status, first.log).toBe(0);
    expect(first.log).toContain('stopped at step 2 of 6');
    expect(fs.existsSync(path.join(first.out, 'manifest.json'))).toBe(false);
    const second = build('pieces');
    expect(second.status, second.log).toBe(0);
    expect(second.log).toContain('resuming at step 2 of 6');
    const a = fs.readFileSync(path.join(straight.out, 'checkpoint.bin'));
    const b = fs.readFileSync(path.join(second.out, 'checkpoint.bin'));
    expect(a.byteLength).toBeGreaterThan(0);
    expect(Buffer.compare(a, b)).toBe(0);

    const ws = await readWarmStart(second.out);
    expect(ws.manifest.preset).toBe('tiny');
    expect(ws.manifest.steps).toEqual({ ict: 3, mlm: 3 });
    expect(ws.vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(ws.vocab).toHaveLength(30522);
    expect(ws.checkpoint.weights.length).toBeGreaterThan(0);
    expect(ws.manifest.files['checkpoint.bin'].bytes).toBe(b.byteLength);

    // One byte altered: refused, naming the file.
    const altered = Buffer.from(b);
    altered[100] ^= 1;
    await expect(
      openWarmStart({
        manifest: fs.readFileSync(path.join(second.out, 'manifest.json'), 'utf8'),
        checkpointHeader: fs.readFileSync(path.join(second.out, 'checkpoint.json')),
        checkpointData: altered,
        vocab: fs.readFileSync(path.join(second.out, 'vocab.txt')),
      }),
    ).rejects.toThrow(/checkpoint\.bin does not match its SHA-256/);

    // The same work folder with other options: refused, not resumed onto.
    const other = build('pieces', ['--lr', '1e-3']);
    expect(other.status).not.toBe(0);
    expect(other.log).toMatch(/holds a build with other options/);
  }, 240_000);

  it('learns from text without any held-out passage or sentence of the bundled corpora', () => {
    const t = warmStartText();
    const held = ['default', 'tiny', 'micro'].flatMap((c) =>
      fs
        .readFileSync(path.join(root, 'public', 'corpus', c, 'cloze.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { sourceId: string; sentence: string }),
    );
    expect(held.length).toBeGreaterThan(900);
    const ids = new Set(t.passages.map((p) => p.id));
    for (const h of held) expect(ids.has(h.sourceId), h.sourceId).toBe(false);
    const sentences = new Set(held.map((h) => h.sentence));
    for (const p of t.passages) for (const s of sentences) if (p.text.includes(s)) throw new Error(`"${s}" is in ${p.title}`);
    expect(t.report.wordnetLemmas).toBeGreaterThan(20_000);
    expect(t.report.corpusPassages).toBeGreaterThan(10_000);
    // A dictionary passage: one line per sense, then the usage examples.
    const bank = t.passages.find((p) => p.title === 'bank' && p.source === 'wordnet:dictionary')!;
    expect(bank.text).toMatch(/^Bank: /);
    expect(bank.text).toContain(
      'Bank: sloping land (especially the slope beside a body of water). They pulled the canoe up on the bank.',
    );
    // Deterministic: the same files give the same passages in the same order.
    expect(warmStartText().passages.map((p) => p.id)).toEqual(t.passages.map((p) => p.id));
  }, 60_000);
});
