import { describe, expect, it } from 'vitest';
import {
  ByteLineSplitter,
  CorpusParser,
  detectFormat,
  parseCorpusBytes,
  splitTsvLine,
  stripInlineMarkdown,
  UnsupportedCorpusFormatError,
  type CorpusFormat,
  type ParseBatch,
} from './corpus-parse';

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

function parse(format: CorpusFormat, text: string | Uint8Array, fileName = `f.${format}`, maxRecordBytes?: number) {
  return parseCorpusBytes(typeof text === 'string' ? bytes(text) : text, { format, fileName, maxRecordBytes });
}

/** Feeds `data` to a fresh parser in pieces cut at `cuts` (byte offsets) and collects everything. */
function parseInPieces(format: CorpusFormat, data: Uint8Array, cuts: number[], maxRecordBytes?: number): ParseBatch {
  const p = new CorpusParser({ format, fileName: `f.${format}`, maxRecordBytes });
  const all: ParseBatch = { passages: [], bad: [] };
  const add = (b: ParseBatch) => {
    all.passages.push(...b.passages);
    all.bad.push(...b.bad);
  };
  let at = 0;
  for (const c of [...cuts, data.length]) {
    // A fresh copy each time, so the parser cannot keep a view of the caller's buffer by mistake.
    add(p.push(data.slice(at, c)));
    at = c;
  }
  add(p.finish());
  return all;
}

describe('detectFormat', () => {
  it('picks the format from the extension, case-insensitively', () => {
    expect(detectFormat('a.txt')).toBe('txt');
    expect(detectFormat('dir/Notes.MD')).toBe('md');
    expect(detectFormat('x.jsonl')).toBe('jsonl');
    expect(detectFormat('psgs_w100.tsv')).toBe('tsv');
  });
  it('rejects other files with a message that lists what works', () => {
    expect(() => detectFormat('a.pdf')).toThrow(UnsupportedCorpusFormatError);
    expect(() => detectFormat('a.pdf')).toThrow(/\.jsonl/);
  });
});

describe('txt', () => {
  it('makes one passage per paragraph, titled with the file name and paragraph number', () => {
    const r = parse('txt', 'First line\nsame paragraph.\n\n\nSecond   paragraph.\r\n\r\nThird.', 'notes.txt');
    expect(r.bad).toEqual([]);
    expect(r.passages).toEqual([
      { title: 'notes, paragraph 1', text: 'First line same paragraph.', line: 1 },
      { title: 'notes, paragraph 2', text: 'Second paragraph.', line: 5 },
      { title: 'notes, paragraph 3', text: 'Third.', line: 7 },
    ]);
  });
  it('skips a paragraph with invalid UTF-8 and reports the bad line', () => {
    const data = new Uint8Array([...bytes('good one\n\nbad '), 0xff, 0xfe, ...bytes('\nstill bad\n\nok')]);
    const r = parse('txt', data);
    expect(r.passages.map((p) => p.text)).toEqual(['good one', 'ok']);
    expect(r.bad).toHaveLength(1);
    expect(r.bad[0].line).toBe(3);
    expect(r.bad[0].reason).toMatch(/invalid UTF-8/);
  });
  it('skips a paragraph larger than the record limit', () => {
    const r = parse('txt', `a\n\n${'x'.repeat(60)}\n${'y'.repeat(60)}\n\nb`, 'f.txt', 100);
    expect(r.passages.map((p) => p.text)).toEqual(['a', 'b']);
    expect(r.bad).toEqual([{ line: 3, reason: 'paragraph larger than 100 bytes' }]);
  });
});

describe('md', () => {
  it('uses headings as the titles of the text under them', () => {
    const md = [
      '---',
      'layout: post',
      '---', // 1-3 front matter
      'Intro with **bold** and a [link](http://x.org).', // 4
      '', // 5
      '# Ada Lovelace', // 6
      'Ada wrote the *first* program.', // 7
      '- she worked with `Babbage`', // 8
      '', // 9
      '```',
      'code() is skipped',
      '```', // 10-12
      'Paris', // 13
      '=====', // 14
      'Paris is the capital of France.', // 15
      '## Empty', // 16
      '## Also here ##', // 17
      '> Quoted text.', // 18
    ].join('\n');
    const r = parse('md', md, 'people.md');
    expect(r.passages).toEqual([
      { title: 'people', text: 'Intro with bold and a link.', line: 4 },
      { title: 'Ada Lovelace', text: 'Ada wrote the first program. she worked with Babbage', line: 6 },
      { title: 'Paris', text: 'Paris is the capital of France.', line: 13 },
      { title: 'Also here', text: 'Quoted text.', line: 17 },
    ]);
    expect(r.bad).toEqual([{ line: 16, reason: 'empty section: a heading with no text under it' }]);
  });
  it('does not report a parent heading followed directly by a deeper one', () => {
    const r = parse('md', '# Book\n## Chapter 1\nText.\n');
    expect(r.bad).toEqual([]);
    expect(r.passages).toEqual([{ title: 'Chapter 1', text: 'Text.', line: 2 }]);
  });
  it('strips inline markup', () => {
    expect(stripInlineMarkdown('![alt](a.png) __b__ _i_ ~~s~~ <b>x</b> [r][1]')).toBe('alt b i s x r');
    expect(stripInlineMarkdown('snake_case_name stays')).toBe('snake_case_name stays');
  });
});

describe('jsonl', () => {
  it('reads {title, text} and {contents}, and lists bad lines with reasons', () => {
    const lines = [
      '{"title": "A", "text": "Alpha text."}', // 1 ok
      '{"title": "B", "text": ', // 2 invalid JSON
      '', // 3 blank: ignored
      '[1, 2]', // 4 not an object
      '{"title": "C"}', // 5 missing text
      '{"title": "D", "text": "   "}', // 6 empty
      '{"contents": "Title E\\nBody of E."}', // 7 ok, Pyserini style
      '{"text": 42}', // 8 not a string
      '{"text": "No title."}', // 9 ok, title optional
      '{"title": "F", "text": "Fine \\u00e9t\\u00e9."}', // 10 ok
    ];
    const r = parse('jsonl', lines.join('\n') + '\n');
    expect(r.passages).toEqual([
      { title: 'A', text: 'Alpha text.', line: 1 },
      { title: 'Title E', text: 'Body of E.', line: 7 },
      { title: '', text: 'No title.', line: 9 },
      { title: 'F', text: 'Fine été.', line: 10 },
    ]);
    expect(r.bad.map((b) => b.line)).toEqual([2, 4, 5, 6, 8]);
    expect(r.bad[0].reason).toMatch(/^invalid JSON/);
    expect(r.bad[1].reason).toBe('not a JSON object');
    expect(r.bad[2].reason).toMatch(/missing field "text"/);
    expect(r.bad[3].reason).toBe('empty text');
    expect(r.bad[4].reason).toMatch(/not a string/);
  });
  it('skips a record over the size limit without keeping it in memory', () => {
    const big = `{"title": "big", "text": "${'z'.repeat(5000)}"}`;
    const data = bytes(`{"text": "a"}\n${big}\n{"text": "b"}`);
    // Cut the big line into many small pieces, as a stream would.
    const cuts = Array.from({ length: 60 }, (_, i) => 14 + i * 97);
    const r = parseInPieces('jsonl', data, cuts, 1000);
    expect(r.passages.map((p) => [p.text, p.line])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    expect(r.bad).toEqual([{ line: 2, reason: 'record larger than 1000 bytes' }]);
  });
  it('reports invalid UTF-8 on its line and keeps the neighbours', () => {
    const data = new Uint8Array([
      ...bytes('{"text": "ok 1"}\n{"text": "bad '),
      0xc3,
      0x28, // an invalid two-byte sequence
      ...bytes('"}\n{"text": "ok 3"}\n'),
    ]);
    const r = parse('jsonl', data);
    expect(r.passages.map((p) => p.line)).toEqual([1, 3]);
    expect(r.bad).toEqual([{ line: 2, reason: 'invalid UTF-8' }]);
  });
  it('ignores a UTF-8 byte order mark', () => {
    const r = parse('jsonl', new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"text": "x"}')]));
    expect(r.passages).toEqual([{ title: '', text: 'x', line: 1 }]);
  });
});

describe('tsv', () => {
  it('reads DPR rows by their header, with quoted fields', () => {
    const tsv = [
      'id\ttext\ttitle',
      '1\tPlain text.\tAaron',
      '2\t"He said ""hi""\tand left."\t"Quoted, title"',
      '3\tonly two fields',
      '4\t"never closed\tT',
      '5\t\tEmpty',
      '6\t"tail"after\tT6',
    ].join('\n');
    const r = parse('tsv', tsv);
    expect(r.passages).toEqual([
      { title: 'Aaron', text: 'Plain text.', line: 2 },
      { title: 'Quoted, title', text: 'He said "hi" and left.', line: 3 },
      { title: 'T6', text: 'tailafter', line: 7 },
    ]);
    expect(r.bad.map((b) => [b.line, b.reason])).toEqual([
      [4, 'expected 3 tab-separated fields, found 2'],
      [5, 'a quoted field is not closed (a " without its closing ")'],
      [6, 'empty text'],
    ]);
  });
  it('follows the header when the columns are in another order', () => {
    const r = parse('tsv', 'title\ttext\nT\tBody.\n');
    expect(r.passages).toEqual([{ title: 'T', text: 'Body.', line: 2 }]);
  });
  it('assumes DPR column order when there is no header', () => {
    const r = parse('tsv', '7\tBody.\tT\n');
    expect(r.passages).toEqual([{ title: 'T', text: 'Body.', line: 1 }]);
  });
  it('splits lines into fields', () => {
    expect(splitTsvLine('a\t"b\tc"\t')).toEqual(['a', 'b\tc', '']);
    expect(splitTsvLine('"x""y"')).toEqual(['x"y']);
    expect(splitTsvLine('"open')).toBeNull();
  });
});

describe('streaming', () => {
  const text = [
    '{"title": "Zürich", "text": "Zürich liegt am Zürichsee. 東京は日本の首都です。"}',
    '{"title": "Emoji", "text": "Rockets 🚀 and snow ☃ in one line."}',
    'not json',
    '{"title": "Last", "text": "No newline at the end."}',
  ].join('\r\n');
  const data = bytes(text);
  const whole = parse('jsonl', data);

  it('gives the same result for every cut point, including inside a multi-byte character', () => {
    expect(whole.passages).toHaveLength(3);
    expect(whole.bad).toEqual([{ line: 3, reason: expect.stringMatching(/^invalid JSON/) }]);
    // Byte offsets inside multi-byte characters exist in this text: check that we cut there.
    const midChar = [...data.keys()].filter((i) => (data[i] & 0xc0) === 0x80);
    expect(midChar.length).toBeGreaterThan(10);
    for (let cut = 1; cut < data.length; cut++) {
      expect(parseInPieces('jsonl', data, [cut])).toEqual(whole);
    }
  });
  it('gives the same result when fed one byte at a time', () => {
    const cuts = Array.from({ length: data.length - 1 }, (_, i) => i + 1);
    expect(parseInPieces('jsonl', data, cuts)).toEqual(whole);
  });
  it('gives the same result for md and txt fed in random pieces', () => {
    const md = bytes('# Straße\nÄpfel und Birnen.\n\nMehr 😀 Text.\n\n## Leer\n# Ende\nSchluss.');
    const txt = bytes('Eins é\nzwei\n\n\ndrei 😀\n');
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const [format, d] of [
      ['md', md],
      ['txt', txt],
    ] as const) {
      const once = parse(format, d);
      expect(once.passages.length).toBeGreaterThan(1);
      for (let trial = 0; trial < 50; trial++) {
        const cuts = [...new Set(Array.from({ length: 4 }, () => 1 + Math.floor(rand() * (d.length - 1))))].sort((a, b) => a - b);
        expect(parseInPieces(format, d, cuts)).toEqual(once);
      }
    }
  });
  it('splits bytes into lines and drops an oversize line as it streams past', () => {
    const s = new ByteLineSplitter(4);
    const got = [...s.push(bytes('ab\r\nabcdefgh')), ...s.push(bytes('ij\nxy')), ...s.finish()];
    expect(got.map((l) => [l.lineNo, l.bytes && new TextDecoder().decode(l.bytes)])).toEqual([
      [1, 'ab'],
      [2, null],
      [3, 'xy'],
    ]);
  });
});
