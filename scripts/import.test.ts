// `npm run import`: a corpus file becomes a corpus folder through the page importer's own pipeline.
// The same .jsonl imported by the page's CorpusImporter (into IndexedDB, fake-indexeddb here) and into
// a folder gives the same blocks, ids, token ids, spans and vocabulary; the folder reads back with the
// trainer's loader; with --vocab the given vocabulary is used and the words it cannot spell are counted.
import 'fake-indexeddb/auto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCloze, parseManifest, parsePassages, parseVocab, vocabToText } from '../src/corpus/corpus-format';
import { basicWords, SPECIAL_TOKENS, WordPieceTokenizer } from '../src/corpus/tokenizer';
import { RealmStore } from '../src/storage/db';
import { CorpusImporter } from '../src/workers/corpus-importer';
import { corpusTrainingData } from './corpus-loader';
import { importSummary, importToFolder } from './import';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'import-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const records = [
  {
    id: 'ada',
    title: 'Ada Lovelace',
    text: 'Ada Lovelace wrote notes on the Analytical Engine in 1843 with Charles Babbage in London.',
  },
  { id: 'paris', title: 'Paris', text: 'Paris is the capital of France. The Louvre opened in Paris in 1793.' },
  'not json',
  { id: 'london', title: 'London', text: 'London is the capital of England. Charles Babbage lived in London until 1871.' },
  {
    id: 'ada',
    title: 'Ada Lovelace',
    text: 'Ada Lovelace wrote notes on the Analytical Engine in 1843 with Charles Babbage in London.',
  },
  {
    id: 'bohr',
    title: 'Niels Bohr',
    text: 'Niels Bohr was born in Copenhagen in 1885. He worked with Ernest Rutherford in Manchester.',
  },
];
const file = path.join(tmp, 'people.jsonl');
fs.writeFileSync(file, records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n');

describe('npm run import', () => {
  it('writes the folder the page importer would store: same blocks, ids, tokens, spans and vocabulary', async () => {
    const out = path.join(tmp, 'people');
    const r = await importToFolder(file, { out, vocabSize: 200, clozeShare: 1 });

    const page = await new CorpusImporter().importFile(new Blob([fs.readFileSync(file)]), {
      jobId: 'j',
      fileName: 'people.jsonl',
      dbName: 'import-cli-test',
      vocabSize: 200,
    });
    expect(page.status).toBe('done');
    if (page.status !== 'done') return;
    const store = await RealmStore.open('import-cli-test');
    const stored = await store.getChunks(page.corpus.id, 0, 100);
    const storedVocab = (await store.getVocab(page.corpus.id))!.tokens;
    store.close();

    // The folder's files, read back.
    const read = (f: string) => fs.readFileSync(path.join(out, f), 'utf8');
    const passages = parsePassages(read('passages.jsonl'));
    const vocab = parseVocab(read('vocab.txt'));
    const manifest = parseManifest(read('manifest.json'));
    const cloze = parseCloze(read('cloze.jsonl'));
    expect(manifest.files.sort()).toEqual(['cloze.jsonl', 'manifest.json', 'passages.jsonl', 'vocab.txt']);

    expect(vocab).toEqual(storedVocab);
    expect(passages.map((p) => [p.id, p.title, p.text])).toEqual(stored.map((c) => [c.id, c.title, c.text]));
    expect(passages.map((p) => p.docId)).toEqual(['ada', 'paris', 'london', 'bohr']); // the duplicate dropped
    expect(passages.map((p) => p.spans)).toEqual(stored.map((c) => c.spans!.map((s) => [s.start, s.end, s.type])));
    const tok = new WordPieceTokenizer(vocab);
    passages.forEach((p, i) =>
      expect([2, ...tok.encode(p.title), 3, ...tok.encode(p.text), 3]).toEqual(Array.from(stored[i].tokenIds!)),
    );
    expect(r.chunks.map((c) => Array.from(c.tokenIds!))).toEqual(stored.map((c) => Array.from(c.tokenIds!)));

    // Statistics as the page counts them, and one held-out cloze item per passage (share 1).
    expect(page.corpus.stats).toMatchObject({ passages: 5, chunks: 4, duplicates: 1, badRecords: 1 });
    expect(manifest.counts).toMatchObject({ passages: 4, vocab: vocab.length });
    expect(manifest.stats.tokens).toBe(page.corpus.stats.tokens);
    expect(manifest.import).toMatchObject({ badRecords: 1, duplicates: 1, vocab: 'trained', clozeShare: 1 });
    expect(manifest.stats.words).toBe(page.corpus.stats.words);
    expect(cloze).toHaveLength(4);
    for (const c of cloze) {
      const p = passages.find((x) => x.id === c.sourceId)!;
      expect(p.text.slice(c.start, c.end)).toBe(c.answer);
      expect(c.masked).toBe(c.sentence.replace(c.answer, '[MASK]'));
    }
    expect(importSummary(r, out)).toMatch(/4 passages \(blocks\).*1 bad records[\s\S]*bad line 3: invalid JSON/);

    // The trainer reads the folder (stored spans, no re-tagging), holding the cloze sentences out.
    const data = corpusTrainingData(out, { maxQueryLength: 32, maxMasks: 8 });
    expect(data.passages).toHaveLength(4);
    expect(data.heldOut).toHaveLength(4);
    expect(data.vocabSize).toBe(vocab.length);
  });

  it('--vocab: tokenizes with the given vocabulary and counts the words that fall to [UNK]', async () => {
    // The trained vocabulary's whole-word pieces only (no continuation pieces, no single letters), less
    // "london": a word is then spelled only when it is one of those pieces, every other word is one [UNK].
    const trained = parseVocab(fs.readFileSync(path.join(tmp, 'people', 'vocab.txt'), 'utf8'));
    const whole = trained.slice(SPECIAL_TOKENS.length).filter((p) => !p.startsWith('##') && p.length > 1 && p !== 'london');
    const vocab = [...SPECIAL_TOKENS, ...whole];
    const vocabFile = path.join(tmp, 'model-vocab.txt');
    fs.writeFileSync(vocabFile, vocabToText(vocab));
    const out = path.join(tmp, 'people-model');
    const r = await importToFolder(file, { out, vocabFile, clozeShare: 0 });
    expect(parseVocab(fs.readFileSync(path.join(out, 'vocab.txt'), 'utf8'))).toEqual(vocab);

    // Counted by hand: the words of the four distinct records' titles and texts, and those not in `whole`.
    const known = new Set(whole);
    let words = 0;
    let unk = 0;
    for (const p of [records[0], records[1], records[3], records[5]] as { title: string; text: string }[]) {
      for (const w of [...basicWords(p.title), ...basicWords(p.text)]) {
        words++;
        if (!known.has(w)) unk++;
      }
    }
    expect(unk).toBeGreaterThanOrEqual(6); // "london" six times at least
    const m = r.manifest;
    expect(m.stats.words).toBe(words);
    expect(m.stats.unkWords).toBe(unk);
    expect(m.stats.unkWordShare).toBeCloseTo(unk / words, 4);
    expect(m.import!.vocab).toBe(path.resolve(vocabFile));
    expect(m.counts.cloze).toBe(0);
    expect(importSummary(r, out)).toContain(`${unk} of ${words} words fall to [UNK]`);
    expect(importSummary(r, out)).toMatch(/held-out cloze items: 0 .*answer in another passage for n\/a/);
  });
});
