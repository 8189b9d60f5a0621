// Rebuilds the tiny and micro corpora into a temporary folder and compares their bytes with public/corpus/
// (the full build takes about two minutes: `npm run build:corpus -- --check` compares everything).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitSentences } from '../src/corpus/blocks';
import { heldOutKeys, parseCloze, parseManifest, parsePassages, parseQa, parseVocab } from '../src/corpus/corpus-format';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { buildCorpora, compareTrees, containsWord, type BuiltCorpus } from './build-corpus';
import { article, listing, plural } from './build-corpus-sources';

const committed = path.resolve(__dirname, '..', 'public', 'corpus');
let tmp = '';
let built: BuiltCorpus;
let micro: BuiltCorpus;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corpus-test-'));
  const corpora = buildCorpora({ outRoot: tmp, only: ['tiny', 'micro'] });
  built = corpora.get('tiny')!;
  micro = corpora.get('micro')!;
}, 120_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('build:corpus (tiny)', () => {
  it('reproduces the committed public/corpus/tiny/ byte for byte', () => {
    const files = ['ATTRIBUTION.md', ...built.manifest.files.map((f) => `tiny/${f}`)];
    expect(compareTrees(tmp, committed, files)).toEqual([]);
  });

  it('writes files that parse, with ids, block sizes, held-out items and QA as specified', async () => {
    const read = (f: string) => fs.readFileSync(path.join(tmp, 'tiny', f), 'utf8');
    const manifest = parseManifest(read('manifest.json'));
    const passages = parsePassages(read('passages.jsonl'));
    const tok = new WordPieceTokenizer(parseVocab(read('vocab.txt')));
    const cloze = parseCloze(read('cloze.jsonl'));
    const dev = parseQa(read('qa-dev.jsonl'));
    expect(passages.length).toBeGreaterThanOrEqual(300);
    expect(passages.length).toBeLessThanOrEqual(600);
    expect(manifest.counts.passages).toBe(passages.length);
    expect(tok.size).toBe(manifest.vocabSize);
    const { createHash } = await import('node:crypto');
    for (const p of passages) {
      expect(p.id).toBe(createHash('sha1').update(`${p.title}\n${p.text}`).digest('hex'));
      expect(3 + tok.encode(p.title).length + tok.encode(p.text).length).toBeLessThanOrEqual(128);
    }
    expect(new Set(passages.map((p) => p.id)).size).toBe(passages.length);
    const byId = new Map(passages.map((p) => [p.id, p]));
    expect(cloze.length).toBeGreaterThan(30);
    for (const c of cloze) {
      const p = byId.get(c.sourceId)!;
      expect(p.text.slice(c.start, c.end)).toBe(c.answer);
      expect(p.text.slice(c.sentenceStart, c.sentenceEnd)).toBe(c.sentence);
      expect(splitSentences(p.text).map((s) => s.start)).toContain(c.sentenceStart);
      expect(c.masked.replace('[MASK]', c.answer)).toBe(c.sentence);
    }
    expect(heldOutKeys(cloze).size).toBe(cloze.length);
    expect(manifest.answerableRate).toBeGreaterThanOrEqual(0.6);
    expect(dev.length).toBeGreaterThan(20);
    // Every QA answer is in the corpus.
    const all = passages.map((p) => `${p.title}\n${p.text}`.toLowerCase());
    for (const q of dev) expect(all.some((t) => q.answer.some((a) => containsWord(t, a.toLowerCase())))).toBe(true);
  });
});

describe('build:corpus (micro)', () => {
  it('reproduces the committed public/corpus/micro/ byte for byte', () => {
    expect(
      compareTrees(
        tmp,
        committed,
        micro.manifest.files.map((f) => `micro/${f}`),
      ),
    ).toEqual([]);
  });

  it('is a quarter of the tiny corpus: articles of tiny, fewer of them, with its own held-out items', () => {
    const read = (name: string, f: string) => fs.readFileSync(path.join(tmp, name, f), 'utf8');
    const tiny = parsePassages(read('tiny', 'passages.jsonl'));
    const tinyTitles = new Set(tiny.map((p) => p.title));
    const passages = parsePassages(read('micro', 'passages.jsonl'));
    expect(passages.length).toBeGreaterThanOrEqual(100);
    expect(passages.length).toBeLessThanOrEqual(tiny.length / 3);
    // Its own vocabulary may cut an article into blocks elsewhere, so compare articles, not blocks.
    for (const p of passages) expect(tinyTitles.has(p.title)).toBe(true);
    const ids = new Set(passages.map((p) => p.id));
    const cloze = parseCloze(read('micro', 'cloze.jsonl'));
    expect(cloze.length).toBeGreaterThanOrEqual(15);
    for (const c of cloze) expect(ids.has(c.sourceId)).toBe(true);
    expect(parseManifest(read('micro', 'manifest.json')).counts.passages).toBe(passages.length);
  });
});

describe('build-corpus text helpers', () => {
  it('words things', () => {
    expect(article('island')).toBe('an');
    expect(article('United States writer')).toBe('a');
    expect(plural('city')).toBe('cities');
    expect(plural('church')).toBe('churches');
    expect(plural('capital of France')).toBe('capitals of France');
    expect(plural('Englishman')).toBe('Englishmen');
    expect(listing(['a', 'b', 'c'])).toBe('a, b and c');
    expect(containsWord('paris is in france', 'france')).toBe(true);
    expect(containsWord('parisian', 'paris')).toBe(false);
  });
});
