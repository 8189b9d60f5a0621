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

/** The error a call throws, or null. */
function thrown(f: () => unknown): Error | null {
  try {
    f();
    return null;
  } catch (e) {
    return e as Error;
  }
}

describe('line endings', () => {
  it('reads CR-only line endings in a txt file as line ends, so paragraphs stay apart', () => {
    const r = parse('txt', 'First line\rsame paragraph.\r\rSecond.\r\r\rThird.\r', 'mac.txt');
    expect(r.bad).toEqual([]);
    expect(r.passages).toEqual([
      { title: 'mac, paragraph 1', text: 'First line same paragraph.', line: 1 },
      { title: 'mac, paragraph 2', text: 'Second.', line: 4 },
      { title: 'mac, paragraph 3', text: 'Third.', line: 7 },
    ]);
  });
  it('reads a CR-only jsonl file as one record per line', () => {
    const r = parse('jsonl', '{"title": "A", "text": "Alpha."}\r{"text": "Beta."}\rnot json\r');
    expect(r.passages).toEqual([
      { title: 'A', text: 'Alpha.', line: 1 },
      { title: '', text: 'Beta.', line: 2 },
    ]);
    expect(r.bad).toEqual([{ line: 3, reason: expect.stringMatching(/^invalid JSON/) }]);
  });
  it('reads CR-only md and tsv files line by line', () => {
    expect(parse('md', '# A\rText a.\r# B\rText b.').passages).toEqual([
      { title: 'A', text: 'Text a.', line: 1 },
      { title: 'B', text: 'Text b.', line: 3 },
    ]);
    expect(parse('tsv', 'id\ttext\ttitle\r1\tBody.\tT\r2\tMore.\tU').passages).toEqual([
      { title: 'T', text: 'Body.', line: 2 },
      { title: 'U', text: 'More.', line: 3 },
    ]);
  });
  it('counts a CRLF as one line end wherever a chunk is cut, and mixed endings alike', () => {
    const data = bytes('{"text": "a"}\r\n{"text": "b"}\r{"text": "c"}\n\r\n{"text": "d"}\r\n');
    const whole = parse('jsonl', data);
    expect(whole.bad).toEqual([]);
    expect(whole.passages.map((p) => [p.text, p.line])).toEqual([
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 5],
    ]);
    for (let cut = 1; cut < data.length; cut++) expect(parseInPieces('jsonl', data, [cut])).toEqual(whole);
  });
  it('splits bytes at \\n, \\r\\n and a lone \\r', () => {
    const s = new ByteLineSplitter(100);
    const got = [...s.push(bytes('a\r\nb\rc\n\rd\r')), ...s.push(bytes('\ne\r')), ...s.push(bytes('\r')), ...s.finish()];
    expect(got.map((l) => [l.lineNo, new TextDecoder().decode(l.bytes!)])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, ''],
      [5, 'd'],
      [6, 'e'],
      [7, ''],
    ]);
  });
});

describe('md: fences and front matter that are not closed', () => {
  it('ends an unclosed code fence at the next heading, with a bad record', () => {
    const md = ['# A', 'Text a.', '```', 'code()', '# B', 'Text b.', '## C', 'Text c.'].join('\n');
    const r = parse('md', md);
    expect(r.passages).toEqual([
      { title: 'A', text: 'Text a.', line: 1 },
      { title: 'B', text: 'Text b.', line: 5 },
      { title: 'C', text: 'Text c.', line: 7 },
    ]);
    expect(r.bad).toEqual([
      {
        line: 3,
        reason: expect.stringMatching(
          /^code fence not closed: the ``` on line 3 .*next heading, on line 5 \(lines 3-4 skipped as code\)$/,
        ),
      },
    ]);
  });
  it('reports an unclosed fence with no heading after it, naming the lines skipped', () => {
    const r = parse('md', '# A\nText a.\n~~~~\nx = 1\ny = 2\n');
    expect(r.passages).toEqual([{ title: 'A', text: 'Text a.', line: 1 }]);
    expect(r.bad).toEqual([
      { line: 3, reason: expect.stringMatching(/~~~~ on line 3 .*, so the rest of the file \(lines 3-5\) was skipped as code$/) },
    ]);
  });
  it('keeps heading-like comments inside a closed fence as code', () => {
    const md = [
      '# Install',
      'Run this:',
      '```sh',
      '# fetch the code',
      'git clone x',
      '',
      '# build it',
      'make',
      '```',
      'Then go on.',
    ];
    const r = parse('md', md.join('\n'));
    expect(r.bad).toEqual([]);
    expect(r.passages).toEqual([{ title: 'Install', text: 'Run this: Then go on.', line: 1 }]);
  });
  it('still reports an invalid UTF-8 line held inside a fence that closes', () => {
    const data = new Uint8Array([...bytes('# A\nText.\n```\n# c\n'), 0xff, ...bytes('\n```\n')]);
    const r = parse('md', data);
    expect(r.passages).toEqual([]);
    expect(r.bad).toEqual([{ line: 5, reason: 'invalid UTF-8; the section starting at line 2 was skipped' }]);
  });
  it('decides about an unclosed fence once it holds more than the record limit, not at the end of the file', () => {
    const code = Array.from({ length: 40 }, (_, i) => `line ${i} of what looked like code`);
    const p = new CorpusParser({ format: 'md', fileName: 'f.md', maxRecordBytes: 200 });
    // Past 200 held characters the fence is taken as unclosed, while the file is still streaming.
    const early = p.push(bytes(['```', '# First', ...code, '# Second', 'Text.', ''].join('\n')));
    expect(early.bad[0]).toEqual({
      line: 1,
      reason: expect.stringMatching(/^code fence not closed.*on line 2 \(line 1 skipped as code\)$/),
    });
    const rest = p.finish();
    expect(rest.passages.map((q) => q.title)).toEqual(['Second']);
    expect([...early.bad, ...rest.bad].slice(1)).toEqual([{ line: 3, reason: 'section larger than 200 bytes' }]);
  });
  it('reads the body after front matter that is not closed, with a bad record saying what to add', () => {
    const r = parse('md', '---\ntitle: Notes\ntags:\n  - a\n\n# Ada\nAda wrote programs.\n');
    expect(r.passages).toEqual([{ title: 'Ada', text: 'Ada wrote programs.', line: 6 }]);
    expect(r.bad).toEqual([
      {
        line: 1,
        reason:
          'front matter not closed: the "---" on line 1 has no closing "---"; it was taken to end at line 4 and ' +
          'the text from line 5 on was read. Add a line "---" where the front matter ends.',
      },
    ]);
  });
  it('ends unclosed front matter at a heading or prose line', () => {
    const r = parse('md', '---\nlayout: post\nSome prose here.\n# H\nBody.');
    expect(r.passages).toEqual([
      { title: 'f', text: 'Some prose here.', line: 3 },
      { title: 'H', text: 'Body.', line: 4 },
    ]);
    expect(r.bad.map((b) => b.line)).toEqual([1]);
  });
  it('reports a file that is only unclosed front matter', () => {
    const r = parse('md', '---\ntitle: x\ndate: 2020-01-01\n');
    expect(r.passages).toEqual([]);
    expect(r.bad).toEqual([
      { line: 1, reason: expect.stringMatching(/lines 1-3 all look like front matter, so no text was read from them/) },
    ]);
  });
  it('reports an invalid UTF-8 line inside closed front matter', () => {
    const data = new Uint8Array([...bytes('---\ntitle: '), 0xc3, 0x28, ...bytes('\n---\nText.\n')]);
    const r = parse('md', data);
    expect(r.passages).toEqual([{ title: 'f', text: 'Text.', line: 4 }]);
    expect(r.bad).toEqual([{ line: 2, reason: 'invalid UTF-8 (in the front matter)' }]);
  });
  it('gives the same result for every cut point through unclosed fences and front matter', () => {
    for (const md of ['---\ntitle: x\r\n\r\n# A\rText.\n```\n# B\nMore.', '# A\nx\n```\ny\n# B\nz\n```\n# C\nw\n~~~\n# D\nv']) {
      const data = bytes(md);
      const whole = parse('md', data);
      expect(whole.bad.length).toBeGreaterThan(0);
      for (let cut = 1; cut < data.length; cut++) expect(parseInPieces('md', data, [cut])).toEqual(whole);
    }
  });
});

describe('tsv: the header row', () => {
  it('refuses a header without a text column, naming its columns', () => {
    const e = thrown(() => parse('tsv', 'id\tpassage\ttitle\n1\tBody.\tT\n', 'psgs.tsv'));
    expect(e?.name).toBe('TsvHeaderError');
    expect(e?.message).toMatch(/"psgs\.tsv" is a header naming the columns "id", "passage", "title", but none of them is "text"/);
    expect(e?.message).toMatch(/Rename the column/);
  });
  it('reads a headerless first row whose text is the word "text" as data', () => {
    const r = parse('tsv', '1\ttext\tT\n2\tBody.\tU\n');
    expect(r.bad).toEqual([]);
    expect(r.passages).toEqual([
      { title: 'T', text: 'text', line: 1 },
      { title: 'U', text: 'Body.', line: 2 },
    ]);
    expect(parse('tsv', '7\tText\tTitle\n').passages).toEqual([{ title: 'Title', text: 'Text', line: 1 }]);
  });
  it('reads a first row of single words that name no known column as data', () => {
    expect(parse('tsv', 'a1\tword\tT\n').passages).toEqual([{ title: 'T', text: 'word', line: 1 }]);
  });
  it('recognises a header by its shape: quoted or upper-case names, any order', () => {
    expect(parse('tsv', '"ID"\t"TEXT"\t"Title"\n1\tBody.\tT\n').passages).toEqual([{ title: 'T', text: 'Body.', line: 2 }]);
    expect(parse('tsv', 'doc_id\ttext\n1\tBody.\n').passages).toEqual([{ title: '', text: 'Body.', line: 2 }]);
  });
});

describe('binary data and other encodings', () => {
  it('reports a paragraph of NUL bytes next to real text as a bad record', () => {
    const data = new Uint8Array([
      ...bytes('Real text here, and more of it.\n\n'),
      ...new Uint8Array(16),
      ...bytes('\n\nMore real text.'),
    ]);
    const r = parse('txt', data);
    expect(r.passages.map((p) => p.text)).toEqual(['Real text here, and more of it.', 'More real text.']);
    expect(r.bad).toEqual([
      { line: 3, reason: 'NUL bytes: binary data, not text; the paragraph starting at line 3 was skipped' },
    ]);
  });
  it('reports a jsonl line with a raw NUL byte as binary', () => {
    const r = parse('jsonl', new Uint8Array([...bytes('{"text": "a"}\n{"text": "b'), 0, ...bytes('"}\n{"text": "c"}\n')]));
    expect(r.passages.map((p) => p.text)).toEqual(['a', 'c']);
    expect(r.bad).toEqual([{ line: 2, reason: 'NUL bytes: binary data, not text' }]);
  });
  it('refuses a file that starts with a UTF-16 byte order mark', () => {
    const data = new Uint8Array([0xff, 0xfe, ...[...'Hello\n'].flatMap((c) => [c.charCodeAt(0), 0])]);
    const e = thrown(() => parse('txt', data, 'win.txt'));
    expect(e?.name).toBe('UnreadableCorpusError');
    expect(e?.message).toMatch(/"win\.txt" cannot be imported: it is UTF-16 text .*Save it as UTF-8/);
  });
  it('refuses UTF-16 text without a byte order mark, saying it is probably UTF-16', () => {
    const text = 'First paragraph.\n\nSecond paragraph.\n';
    const data = new Uint8Array([...text].flatMap((c) => [c.charCodeAt(0), 0]));
    const e = thrown(() => parse('txt', data, 'u16.txt'));
    expect(e?.name).toBe('UnreadableCorpusError');
    expect(e?.message).toMatch(/% of it is not UTF-8 text \(lines with NUL bytes\).*probably UTF-16/);
  });
  it('refuses binary data (an image, an archive) as a whole', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) & 0xff;
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...Array.from({ length: 4000 }, rand)]);
    for (const format of ['txt', 'md', 'jsonl', 'tsv'] as const) {
      const e = thrown(() => parse(format, png, `image.${format}`));
      expect(e?.name).toBe('UnreadableCorpusError');
      expect(e?.message).toMatch(/is not UTF-8 text .*Nothing was imported/);
    }
  });
  it('refuses Latin-1 text, saying to save it as UTF-8', () => {
    const latin1 = new Uint8Array(
      [...'Caf\xe9 cr\xe8me br\xfbl\xe9e.\n\n\xc9t\xe9 \xe0 Paris.\nok\n'].map((c) => c.charCodeAt(0)),
    );
    const e = thrown(() => parse('txt', latin1, 'fr.txt'));
    expect(e?.name).toBe('UnreadableCorpusError');
    expect(e?.message).toMatch(/invalid UTF-8 or NUL bytes.*Latin-1.*save it as UTF-8/);
  });
  it('refuses a large binary file after its first MB, before reading the rest', () => {
    const p = new CorpusParser({ format: 'txt', fileName: 'big.bin.txt' });
    const junk = new Uint8Array(64 * 1024).fill(0);
    for (let i = 0; i < junk.length; i += 100) junk[i] = 0x0a;
    let pushed = 0;
    const e = thrown(() => {
      for (; pushed < 64; pushed++) p.push(junk); // 4 MB offered
    });
    expect(e?.name).toBe('UnreadableCorpusError');
    expect(e?.message).toMatch(/of the first 1 MB read/);
    expect(pushed).toBeLessThanOrEqual(17);
  });
  it('keeps a file whose unreadable part is a minority, listing the bad lines', () => {
    const data = new Uint8Array([
      ...bytes('Good one, long enough to count.\n\nbad '),
      0xff,
      ...bytes('\n\nGood two, also long enough.\n'),
    ]);
    const r = parse('txt', data);
    expect(r.passages).toHaveLength(2);
    expect(r.bad).toEqual([{ line: 3, reason: 'invalid UTF-8; the paragraph starting at line 3 was skipped' }]);
  });
});
