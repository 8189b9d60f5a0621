import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Progress } from '../model/progress';
import { RealmStore, type CorpusRecord } from '../storage/db';
import { CorpusImporter, type ImportOutcome } from './corpus-importer';
import type { CorpusTokenizer, TextTools } from './corpus-importer-tools';

// Stand-in text tools, so that these tests check the importer's own logic (staging, dedupe, token
// layout, cancel) independently of the real tokenizer and tagger; a last test runs the real ones.
const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const words = (s: string) => s.toLowerCase().match(/[a-z0-9]+/g) ?? [];
function wordTokenizer(vocab: string[]): CorpusTokenizer {
  const ids = new Map(vocab.map((w, i) => [w, i]));
  return { vocab, encode: (text) => words(text).map((w) => ids.get(w) ?? 1) };
}
const standIn: TextTools = {
  trainTokenizer: (texts, vocabSize) => {
    const counts = new Map<string, number>();
    for (const t of texts) for (const w of words(t)) counts.set(w, (counts.get(w) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
    return wordTokenizer([...SPECIALS, ...top].slice(0, vocabSize));
  },
  tokenizerFromVocab: (tokens) => wordTokenizer(tokens),
  // Blocks of at most `maxPieces` words.
  splitIntoBlocks: (_title, text, _tok, maxPieces) => {
    const w = text.split(' ');
    const out: string[] = [];
    for (let i = 0; i < w.length; i += maxPieces) out.push(w.slice(i, i + maxPieces).join(' '));
    return out;
  },
  // Four-digit numbers are dates; capitalised words after the first are people.
  tagSalientSpans: (text) => {
    const spans: { start: number; end: number; type: string }[] = [];
    for (const m of text.matchAll(/\b\d{4}\b/g)) spans.push({ start: m.index, end: m.index + 4, type: 'date' });
    for (const m of text.matchAll(/(?<=\s)[A-Z][a-z]+/g))
      spans.push({ start: m.index, end: m.index + m[0].length, type: 'person' });
    return spans;
  },
  clsId: 2,
  sepId: 3,
};

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
const jsonl = (rows: (object | string)[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

let dbName: string;
let store: RealmStore;
let n = 0;
beforeEach(async () => {
  dbName = `importer-test-${n++}`;
  store = await RealmStore.open(dbName);
});
afterEach(() => store.close());

async function allChunkCount(): Promise<number> {
  return store.db.count('chunks');
}

async function seedCorpus(id: string, chunks: number): Promise<void> {
  const c: CorpusRecord = { id, name: id, source: 'test', status: 'ready', createdAt: 0, stats: { chunks } };
  await store.putCorpus(c);
  await store.putChunks(
    Array.from({ length: chunks }, (_, seq) => ({ corpusId: id, seq, id: `d${seq}`, title: 't', text: `x ${seq}` })),
  );
  await store.setActiveCorpus(id);
}

describe('CorpusImporter.importFile', () => {
  it('stages, tokenizes, tags and commits a jsonl file, listing the bad lines', async () => {
    const file = new Blob([
      jsonl([
        { title: 'Ada Lovelace', text: 'Ada wrote notes on the engine in 1843 with Babbage.' }, // 1
        '{"title": broken', // 2
        { title: 'Empty', text: '' }, // 3
        { title: 'Paris', text: 'Paris is the capital of France since 1944.' }, // 4
        { title: 'Ada Lovelace', text: 'Ada wrote notes on the engine in 1843 with Babbage.' }, // 5: duplicate
        { name: 'no text' }, // 6
      ]),
    ]);
    const seen: Progress[] = [];
    const out = await new CorpusImporter(standIn).importFile(file, { jobId: 'j1', fileName: 'people.jsonl', dbName }, (p) =>
      seen.push(p),
    );
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect(out.bad.map((b) => b.line)).toEqual([2, 3, 6]);
    expect(out.badCount).toBe(3);
    const id = out.corpus.id;
    expect(id).toMatch(/^import:people\.jsonl:/);
    expect(out.corpus.status).toBe('ready');
    expect(out.corpus.stats).toMatchObject({ passages: 3, chunks: 2, duplicates: 1, badRecords: 3, 'spans.date': 2 });
    expect(await store.activeCorpusId()).toBe(id);
    expect((await store.getCorpus(id))?.badRecords?.map((b) => b.line)).toEqual([2, 3, 6]);

    const chunks = await store.getChunks(id, 0, 10);
    expect(chunks.map((c) => c.seq)).toEqual([0, 1]);
    const ada = chunks[0];
    expect(ada.id).toBe(sha1('Ada Lovelace\nAda wrote notes on the engine in 1843 with Babbage.'));
    // [CLS] title [SEP] body [SEP], in the corpus's own vocabulary.
    const vocab = (await store.getVocab(id))!.tokens;
    expect(vocab.slice(0, 5)).toEqual(SPECIALS);
    const ids = Array.from(ada.tokenIds!);
    expect(ids[0]).toBe(2);
    expect(ids.filter((t) => t === 3)).toHaveLength(2);
    expect(ids[ids.length - 1]).toBe(3);
    expect(ids.map((t) => vocab[t]).join(' ')).toBe(
      '[CLS] ada lovelace [SEP] ada wrote notes on the engine in 1843 with babbage [SEP]',
    );
    expect(out.corpus.stats.tokens).toBe(ids.length + chunks[1].tokenIds!.length);
    const at = ada.text.indexOf('1843');
    expect(ada.spans).toContainEqual({ start: at, end: at + 4, type: 'date' });

    // Progress went through reading (bytes), the vocabulary, then tokenizing (passages).
    const tasks = [...new Set(seen.map((p) => p.task))];
    expect(tasks).toEqual(['import', 'vocab', 'tokenize']);
    const last = seen.filter((p) => p.task === 'import').at(-1)!;
    expect(last.done).toBe(file.size);
    expect(last.unit).toBe('bytes');
    expect(seen.at(-1)).toMatchObject({ task: 'tokenize', done: 3, total: 3 });
  });

  it('cuts long passages into blocks with their own ids', async () => {
    const text = Array.from({ length: 25 }, (_, i) => `w${i}`).join(' ');
    const out = await new CorpusImporter(standIn).importFile(new Blob([jsonl([{ title: 'T', text }])]), {
      jobId: 'j',
      fileName: 'a.jsonl',
      dbName,
      maxPieces: 10,
    });
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    const chunks = await store.getChunks(out.corpus.id, 0, 10);
    expect(chunks.map((c) => c.text.split(' ').length)).toEqual([10, 10, 5]);
    expect(chunks.map((c) => c.id)).toEqual(chunks.map((c) => sha1(`T\n${c.text}`)));
  });

  for (const phase of ['import', 'tokenize'] as const) {
    it(`a cancel while ${phase === 'import' ? 'reading' : 'tokenizing'} leaves the stored corpora as they were`, async () => {
      await seedCorpus('earlier', 7);
      const rows = Array.from({ length: 3000 }, (_, i) => ({
        title: `T${i}`,
        text: `Passage number ${i} about Rome in ${1000 + (i % 900)}.`,
      }));
      // Small stream chunks so that reading takes many steps.
      const bytes = new TextEncoder().encode(jsonl(rows));
      const stream = () =>
        new ReadableStream<Uint8Array>({
          start(ctrl) {
            for (let i = 0; i < bytes.length; i += 4096) ctrl.enqueue(bytes.slice(i, i + 4096));
            ctrl.close();
          },
        });
      const file = Object.assign(new Blob([bytes]), { stream });
      const importer = new CorpusImporter(standIn);
      let cancelledAt: Progress | null = null;
      const out = await importer.importFile(file, { jobId: 'c', fileName: 'big.jsonl', dbName }, (p) => {
        if (!cancelledAt && p.task === phase && p.done > 0) {
          cancelledAt = p;
          importer.cancel('c');
        }
      });
      expect(cancelledAt).not.toBeNull();
      expect(out.status).toBe('cancelled');
      const corpora = await store.listCorpora();
      expect(corpora.map((c) => c.id)).toEqual(['earlier']);
      expect(await store.activeCorpusId()).toBe('earlier');
      expect(await allChunkCount()).toBe(7);
      expect(await store.db.count('vocabs')).toBe(0);
    });
  }

  it('fails cleanly when nothing in the file is usable', async () => {
    await seedCorpus('earlier', 2);
    const out = await new CorpusImporter(standIn).importFile(new Blob(['not json\n{"x":1}\n']), {
      jobId: 'f',
      fileName: 'bad.jsonl',
      dbName,
    });
    expect(out.status).toBe('failed');
    if (out.status !== 'failed') return;
    expect(out.error.name).toBe('EmptyCorpusError');
    expect(out.error.message).toMatch(/no usable passages/);
    expect(out.bad.map((b) => b.line)).toEqual([1, 2]);
    expect((await store.listCorpora()).map((c) => c.id)).toEqual(['earlier']);
    expect(await store.activeCorpusId()).toBe('earlier');
    expect(await allChunkCount()).toBe(2);
  });

  /** What is stored, to compare before and after an import that must store nothing. */
  const storedCounts = async () => ({
    corpora: (await store.listCorpora()).map((c) => `${c.id}:${c.status}`),
    active: await store.activeCorpusId(),
    chunks: await allChunkCount(),
    vocabs: await store.db.count('vocabs'),
  });

  it('refuses a binary or UTF-16 file as a whole with a message that says why, and stores nothing', async () => {
    await seedCorpus('earlier', 3);
    const before = await storedCounts();
    let seed = 99;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    const files: [string, Uint8Array<ArrayBuffer>, RegExp][] = [
      [
        'photo.txt',
        new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...Array.from({ length: 20_000 }, rand)]),
        /not UTF-8 text.*\.txt file first/,
      ],
      ['notes.md', new Uint8Array([0xff, 0xfe, ...[...'# Notes\nSome text.\n'].flatMap((c) => [c.charCodeAt(0), 0])]), /UTF-16/],
      ['rows.jsonl', new Uint8Array([...'{"text": "a"}\n'].flatMap((c) => [c.charCodeAt(0), 0])), /probably UTF-16/],
    ];
    for (const [fileName, data, message] of files) {
      const out = await new CorpusImporter(standIn).importFile(new Blob([data]), { jobId: fileName, fileName, dbName });
      expect(out).toMatchObject({ status: 'failed', error: { name: 'UnreadableCorpusError', message } });
      expect(await storedCounts()).toEqual(before);
    }
  });

  it('refuses a TSV file whose header has no text column, and stores nothing', async () => {
    await seedCorpus('earlier', 2);
    const before = await storedCounts();
    const out = await new CorpusImporter(standIn).importFile(new Blob(['id\tpassage\ttitle\n1\tRome is old.\tRome\n']), {
      jobId: 'h',
      fileName: 'psgs.tsv',
      dbName,
    });
    expect(out).toMatchObject({ status: 'failed', error: { name: 'TsvHeaderError', message: /none of them is "text"/ } });
    expect(await storedCounts()).toEqual(before);
  });

  it('imports the body of a Markdown file whose front matter is not closed, listing why', async () => {
    const md = '---\ntitle: Notes\n\n# Rome\nRome is old.\n```\ncode\n# Paris\nParis is big.\n';
    const out = await new CorpusImporter(standIn).importFile(new Blob([md]), { jobId: 'm', fileName: 'notes.md', dbName });
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect((await store.getChunks(out.corpus.id, 0, 10)).map((c) => [c.title, c.text])).toEqual([
      ['Rome', 'Rome is old.'],
      ['Paris', 'Paris is big.'],
    ]);
    expect(out.bad).toEqual([
      { line: 1, reason: expect.stringMatching(/^front matter not closed/) },
      { line: 6, reason: expect.stringMatching(/^code fence not closed/) },
    ]);
    expect((await store.getCorpus(out.corpus.id))?.badRecords).toHaveLength(2);
  });

  it('reports an unsupported file type as a failure, not a crash', async () => {
    const out = await new CorpusImporter(standIn).importFile(new Blob(['x']), { jobId: 'u', fileName: 'a.pdf', dbName });
    expect(out).toMatchObject({ status: 'failed', error: { name: 'UnsupportedCorpusFormatError' } });
    expect(await store.listCorpora()).toEqual([]);
  });

  it('streams a multi-megabyte file with a bounded vocabulary sample', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => ({
      title: `Doc ${i}`,
      text: `Some words ${i % 97} and more words ${i}.`.repeat(3),
    }));
    const blob = new Blob([jsonl(rows)]);
    expect(blob.size).toBeGreaterThan(2_000_000);
    let trainedOn = 0;
    const tools: TextTools = {
      ...standIn,
      trainTokenizer: (texts, v) => {
        trainedOn = texts.reduce((a, t) => a + t.length, 0);
        return standIn.trainTokenizer(texts, v);
      },
    };
    const out = await new CorpusImporter(tools).importFile(blob, {
      jobId: 's',
      fileName: 'many.jsonl',
      dbName,
      sampleChars: 200_000,
    });
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect(out.corpus.stats.chunks).toBe(20_000);
    expect(await store.countChunks(out.corpus.id)).toBe(20_000);
    expect(trainedOn).toBeGreaterThan(150_000);
    expect(trainedOn).toBeLessThan(260_000);
  });
});

describe('CorpusImporter with the real tokenizer, blocks and tagger', () => {
  it('imports markdown: trains a vocabulary, cuts blocks within 128 wordpieces, tags spans', async () => {
    const sentences = Array.from(
      { length: 40 },
      (_, i) => `Marie Curie worked in Paris with Pierre Curie in ${1895 + (i % 10)} on radium sample ${i}.`,
    );
    const md = `# Marie Curie\n${sentences.join(' ')}\n\n# Niels Bohr\nNiels Bohr was born in Copenhagen in 1885.\n`;
    const out = await new CorpusImporter().importFile(new Blob([md]), {
      jobId: 'r',
      fileName: 'science.md',
      dbName,
      vocabSize: 300,
    });
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    const { stats } = out.corpus;
    expect(stats.passages).toBe(2);
    expect(stats.chunks).toBeGreaterThan(2); // the long section needs several blocks
    const chunks = await store.getChunks(out.corpus.id, 0, 100);
    const vocab = (await store.getVocab(out.corpus.id))!.tokens;
    expect(vocab.length).toBe(stats.vocabSize);
    expect(vocab.length).toBeLessThanOrEqual(300);
    for (const c of chunks) {
      expect(c.tokenIds!.length).toBeLessThanOrEqual(128);
      expect(c.tokenIds![0]).toBe(2);
      expect(c.tokenIds![c.tokenIds!.length - 1]).toBe(3);
      expect(c.id).toBe(sha1(`${c.title}\n${c.text}`));
    }
    // Every sentence lands whole in one block.
    const bodies = chunks.filter((c) => c.title === 'Marie Curie').map((c) => c.text);
    for (const sentence of sentences) expect(bodies.filter((b) => b.includes(sentence))).toHaveLength(1);
    const bohr = chunks.find((c) => c.title === 'Niels Bohr')!;
    const types = new Set(bohr.spans!.map((s) => `${s.type}:${bohr.text.slice(s.start, s.end)}`));
    expect(types.has('date:1885')).toBe(true);
    expect(stats['spans.date']).toBeGreaterThan(0);
  });

  it('skips a record whose title leaves no room for a body, and keeps the rest', async () => {
    const longTitle = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const file = new Blob([
      jsonl([
        { title: 'Short', text: 'A short passage.' },
        { title: longTitle, text: 'Body.' },
      ]),
    ]);
    const out = await new CorpusImporter().importFile(file, { jobId: 't', fileName: 't.jsonl', dbName, vocabSize: 200 });
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect(out.corpus.stats.chunks).toBe(1);
    expect(out.bad).toEqual([{ line: 2, reason: expect.stringMatching(/too long for a block/) }]);
    expect(out.corpus.stats.badRecords).toBe(1);
  });
});

describe('CorpusImporter: nothing the tokenizer drops vanishes unlisted', () => {
  it('lists paragraphs of NUL bytes or of control characters only as bad records', async () => {
    const data = new Uint8Array([
      ...new TextEncoder().encode('Rome is an old city in Italy.\n\n'), // paragraph 1, line 1
      ...new Uint8Array(12), // line 3: NUL bytes
      ...new TextEncoder().encode('\n\n\x01\x02\x03\x07\n\nParis is a big city in France.\n'), // line 5: controls only
    ]);
    const out = await new CorpusImporter().importFile(new Blob([data]), {
      jobId: 'n',
      fileName: 'cities.txt',
      dbName,
      vocabSize: 200,
    });
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect(out.corpus.stats.chunks).toBe(2);
    expect(out.bad).toEqual([
      { line: 3, reason: expect.stringMatching(/^NUL bytes: binary data, not text/) },
      { line: 5, reason: 'no readable text: only control or invisible characters' },
    ]);
    expect(out.corpus.stats.badRecords).toBe(2);
  });
});

describe('CorpusImporter.installBundled', () => {
  const passage = (title: string, text: string, source = 'test') => ({ id: sha1(`${title}\n${text}`), title, text, source });
  const cloze = (sentence: string, answer: string, start: number) => ({
    sentence,
    masked: sentence.replace(answer, '[MASK]'),
    answer,
    type: 'place',
    sourceId: 'x',
    start,
    end: start + answer.length,
    sentenceStart: 0,
    sentenceEnd: sentence.length,
  });
  const bundle: Record<string, string> = {
    'manifest.json': JSON.stringify({ name: 'Tiny test bundle' }),
    'vocab.txt': [...SPECIALS, 'rome', 'is', 'old', 'paris', 'big'].join('\n') + '\n',
    'passages.jsonl': jsonl([passage('Rome', 'Rome is old.'), passage('Paris', 'Paris is big.'), '{oops']),
    'cloze.jsonl': jsonl([cloze('Rome is old.', 'Rome', 0), cloze('Paris is big.', 'Paris', 0)]),
    'qa-train.jsonl': jsonl([{ question: 'Which city is old?', answer: ['Rome'] }]),
    'qa-dev.jsonl': '',
  };
  const fakeFetch = (files: Record<string, string>): typeof fetch =>
    (async (input: RequestInfo | URL) => {
      const name = String(input).split('/').pop()!;
      if (!(name in files)) return new Response('missing', { status: 404 });
      return new Response(files[name], { headers: { 'content-length': String(new TextEncoder().encode(files[name]).length) } });
    }) as typeof fetch;

  it('loads passages with their ids, the vocab and the eval sets, and activates only if nothing is active', async () => {
    await seedCorpus('mine', 1);
    const seen: Progress[] = [];
    const out: ImportOutcome = await new CorpusImporter(standIn, fakeFetch(bundle)).installBundled(
      { jobId: 'b', corpusId: 'bundled:tiny', baseUrl: 'http://app.test/corpus/tiny/', dbName, activate: 'if-none' },
      (p) => seen.push(p),
    );
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect(out.corpus).toMatchObject({ id: 'bundled:tiny', name: 'Tiny test bundle', status: 'ready' });
    expect(out.corpus.stats).toMatchObject({ chunks: 2, vocabSize: 10, cloze: 2, qaTrain: 1, qaDev: 0, badRecords: 1 });
    expect(out.bad).toEqual([{ line: 3, reason: expect.stringMatching(/JSON/) }]);
    const chunks = await store.getChunks('bundled:tiny', 0, 5);
    expect(chunks.map((c) => c.id)).toEqual([sha1('Rome\nRome is old.'), sha1('Paris\nParis is big.')]);
    expect(Array.from(chunks[0].tokenIds!)).toEqual([2, 5, 3, 5, 6, 7, 3]);
    expect((await store.getVocab('bundled:tiny'))?.tokens).toHaveLength(10);
    expect((await store.getEvalSets('bundled:tiny'))?.cloze).toEqual([
      cloze('Rome is old.', 'Rome', 0),
      cloze('Paris is big.', 'Paris', 0),
    ]);
    expect(await store.activeCorpusId()).toBe('mine');
    expect(seen.at(-1)).toMatchObject({ task: 'import', unit: 'bytes', done: seen.at(-1)!.total });
  });

  it('becomes active when nothing is, and refuses to load over a stored copy', async () => {
    const importer = new CorpusImporter(standIn, fakeFetch(bundle));
    const opts = {
      jobId: 'b',
      corpusId: 'bundled:tiny',
      baseUrl: 'http://app.test/corpus/tiny/',
      dbName,
      activate: 'if-none' as const,
    };
    expect((await importer.installBundled(opts)).status).toBe('done');
    expect(await store.activeCorpusId()).toBe('bundled:tiny');
    const again = await importer.installBundled(opts);
    expect(again).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/already stored/) } });
    expect(await store.countChunks('bundled:tiny')).toBe(2);
  });

  it('fails on a malformed evaluation file, naming its line, and stores nothing', async () => {
    const out = await new CorpusImporter(
      standIn,
      fakeFetch({ ...bundle, 'qa-dev.jsonl': jsonl([{ question: 'q', answer: [] }]) }),
    ).installBundled({
      jobId: 'e',
      corpusId: 'bundled:tiny',
      baseUrl: 'http://app.test/corpus/tiny/',
      dbName,
    });
    expect(out).toMatchObject({ status: 'failed', error: { message: expect.stringMatching(/qa-dev\.jsonl.*1/) } });
    expect(await store.listCorpora()).toEqual([]);
  });

  it('installs the real bundled tiny corpus: every passage with its id, its vocab and eval sets', async () => {
    const dir = new URL('../../public/corpus/tiny/', import.meta.url);
    const diskFetch = (async (input: RequestInfo | URL) => {
      const name = String(input).split('/').pop()!;
      const body = await readFile(new URL(name, dir)).catch(() => null);
      return body
        ? new Response(body, { headers: { 'content-length': String(body.length) } })
        : new Response('', { status: 404 });
    }) as typeof fetch;
    const manifest = JSON.parse(await readFile(new URL('manifest.json', dir), 'utf8')) as { counts: Record<string, number> };
    const t0 = performance.now();
    const out = await new CorpusImporter(undefined, diskFetch).installBundled({
      jobId: 'tiny',
      corpusId: 'bundled:tiny',
      baseUrl: 'http://app.test/corpus/tiny/',
      dbName,
    });
    const seconds = (performance.now() - t0) / 1000;
    expect(out.status).toBe('done');
    if (out.status !== 'done') return;
    expect(out.badCount).toBe(0);
    expect(out.corpus.stats).toMatchObject({
      chunks: manifest.counts.passages,
      vocabSize: manifest.counts.vocab,
      cloze: manifest.counts.cloze,
      qaTrain: manifest.counts.qaTrain,
      qaDev: manifest.counts.qaDev,
      duplicates: 0,
    });
    const lines = (await readFile(new URL('passages.jsonl', dir), 'utf8')).trim().split('\n');
    const first = JSON.parse(lines[0]) as { id: string; title: string; text: string; spans: [number, number, string][] };
    const stored = await store.getChunks('bundled:tiny', 0, 1);
    expect(stored[0]).toMatchObject({ id: first.id, title: first.title, text: first.text, seq: 0 });
    // The build's spans, typed from what the corpus knows, are stored as they are (not tagged again: the
    // tagger alone cuts "Siegfried line" to a person "Siegfried").
    const all = await store.getChunks('bundled:tiny', 0, lines.length);
    expect(all.map((c) => c.spans)).toEqual(
      lines.map((l) => (JSON.parse(l) as typeof first).spans.map(([start, end, type]) => ({ start, end, type }))),
    );
    expect(first.id).toBe(sha1(`${first.title}\n${first.text}`));
    expect(out.corpus.stats.spans).toBeGreaterThan(manifest.counts.passages);
    expect(seconds).toBeLessThan(60);
  });

  it('says what to do when a bundled file is missing, and stores nothing', async () => {
    const { ['vocab.txt']: _gone, ...rest } = bundle;
    const out = await new CorpusImporter(standIn, fakeFetch(rest)).installBundled({
      jobId: 'm',
      corpusId: 'bundled:tiny',
      baseUrl: 'http://app.test/corpus/tiny/',
      dbName,
    });
    expect(out).toMatchObject({ status: 'failed', error: { name: 'BundledCorpusMissingError' } });
    if (out.status === 'failed') expect(out.error.message).toMatch(/vocab\.txt.*HTTP 404.*public\/corpus/);
    expect(await store.listCorpora()).toEqual([]);
  });
});
