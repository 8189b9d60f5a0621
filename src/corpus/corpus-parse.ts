// Parsing a user's corpus file into passages, streaming: bytes go in chunk by chunk (a chunk may end
// in the middle of a line or of a UTF-8 character), passages and bad records come out. Pure TS: no
// DOM, no storage, so the same code runs in the import worker, on the main thread, and in Node tests.
//
// Formats (chosen by file extension, see `detectFormat`):
// - txt:   paragraphs separated by blank lines; title = file name + paragraph number.
// - md:    ATX (`# Title`) and setext (`Title` / `===`) headings become the titles of the text under
//          them; light markdown (emphasis, links, list bullets, code) is stripped from the text.
// - jsonl: one JSON object per line, `{title, text}` (title optional) or `{contents}` (Pyserini style,
//          the first line of `contents` is the title when there is more than one line).
// - tsv:   DPR style `id \t text \t title` with a header row naming the columns; fields may be quoted
//          with `"` and a doubled `""` inside a quoted field stands for one quote.
//
// Bad records (invalid JSON, missing fields, invalid UTF-8, empty records, records larger than
// `maxRecordBytes`) are skipped and reported with their 1-based line number and a reason.

export type CorpusFormat = 'txt' | 'md' | 'jsonl' | 'tsv';

/** One passage as found in the file, before it is cut into blocks. */
export interface ParsedPassage {
  title: string;
  text: string;
  /** 1-based line where the record starts. */
  line: number;
}

/** A record that was skipped, with where and why. */
export interface BadRecord {
  line: number;
  reason: string;
}

/** What one `push` or `finish` produced. */
export interface ParseBatch {
  passages: ParsedPassage[];
  bad: BadRecord[];
}

interface CorpusParserOptions {
  format: CorpusFormat;
  /** The file name; txt and md use it in titles. */
  fileName: string;
  /** A record (line, paragraph or section) larger than this is skipped. Default 1 MiB. */
  maxRecordBytes?: number;
}

const DEFAULT_MAX_RECORD_BYTES = 1 << 20;

/** The file's extension names a format we do not read. */
export class UnsupportedCorpusFormatError extends Error {
  constructor(fileName: string) {
    super(
      `"${fileName}" is not a corpus format this app reads. ` +
        'Use a .txt (paragraphs separated by blank lines), .md (headings become titles), ' +
        '.jsonl ({"title","text"} or {"contents"} per line) or DPR-style .tsv (id, text, title with a header row).',
    );
    this.name = 'UnsupportedCorpusFormatError';
  }
}

/** The format for a file name, from its extension (case-insensitive). */
export function detectFormat(fileName: string): CorpusFormat {
  const ext = /\.([a-z0-9]+)$/i.exec(fileName)?.[1]?.toLowerCase();
  switch (ext) {
    case 'txt':
    case 'text':
      return 'txt';
    case 'md':
    case 'markdown':
      return 'md';
    case 'jsonl':
    case 'ndjson':
      return 'jsonl';
    case 'tsv':
      return 'tsv';
    default:
      throw new UnsupportedCorpusFormatError(fileName);
  }
}

/** The file name without folders and without its extension: the stem used in titles. */
function fileStem(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.[^.]+$/, '') || base;
}

// ---------------------------------------------------------------------------------------------
// Bytes to lines

/** A line as the splitter hands it on: its bytes, or null when it was longer than the limit. */
interface RawLine {
  lineNo: number;
  bytes: Uint8Array | null;
}

const NEWLINE = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines at `\n` (a trailing `\r` is dropped), keeping at most
 * `maxLineBytes` of a pending line in memory: a longer line is dropped as it streams past and handed
 * on as `bytes: null`.
 */
export class ByteLineSplitter {
  private parts: Uint8Array[] = [];
  private pendingBytes = 0;
  private oversize = false;
  private lineNo = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Complete lines in `chunk` (with what was pending before it). */
  push(chunk: Uint8Array): RawLine[] {
    const out: RawLine[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(NEWLINE, pos);
      const end = nl < 0 ? chunk.length : nl;
      this.append(chunk.subarray(pos, end));
      if (nl < 0) break;
      out.push(this.takeLine());
      pos = nl + 1;
    }
    return out;
  }

  /** The last line, if the stream did not end with a newline. */
  finish(): RawLine[] {
    return this.pendingBytes > 0 || this.oversize ? [this.takeLine()] : [];
  }

  private append(piece: Uint8Array): void {
    if (piece.length === 0 || this.oversize) return;
    if (this.pendingBytes + piece.length > this.maxLineBytes + 1) {
      // +1 leaves room for a '\r' that is not part of the record.
      this.oversize = true;
      this.parts = [];
      this.pendingBytes = 0;
      return;
    }
    // Copy: the caller may reuse the chunk's buffer.
    this.parts.push(piece.slice());
    this.pendingBytes += piece.length;
  }

  private takeLine(): RawLine {
    const lineNo = ++this.lineNo;
    if (this.oversize) {
      this.oversize = false;
      return { lineNo, bytes: null };
    }
    let bytes: Uint8Array;
    if (this.parts.length === 1) bytes = this.parts[0];
    else {
      bytes = new Uint8Array(this.pendingBytes);
      let at = 0;
      for (const p of this.parts) {
        bytes.set(p, at);
        at += p.length;
      }
    }
    this.parts = [];
    this.pendingBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > this.maxLineBytes) return { lineNo, bytes: null };
    return { lineNo, bytes };
  }
}

// ---------------------------------------------------------------------------------------------
// Lines to records, one parser per format

/** A decoded line, or why it could not be decoded. */
type Line = { lineNo: number; text: string } | { lineNo: number; text: null; reason: string };

interface RecordParser {
  line(l: Line, out: ParseBatch): void;
  end(out: ParseBatch): void;
}

function tooLarge(maxRecordBytes: number): string {
  return `record larger than ${formatBytes(maxRecordBytes)}`;
}

function formatBytes(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MB`;
  if (n >= 1 << 10 && n % (1 << 10) === 0) return `${n / (1 << 10)} KB`;
  return `${n} bytes`;
}

/** Collapses runs of whitespace to one space and trims. */
function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * A block-of-lines record (a txt paragraph, an md section) being collected. Invalid lines or an
 * oversize record poison it: it is then reported once, at the first bad line, and skipped.
 */
class LineBlock {
  lines: string[] = [];
  startLine = 0;
  chars = 0;
  bad: BadRecord | null = null;

  constructor(private readonly maxRecordBytes: number) {}

  get empty(): boolean {
    return this.startLine === 0;
  }

  add(l: Line, what: string): void {
    if (this.startLine === 0) this.startLine = l.lineNo;
    if (this.bad) return;
    if (l.text === null) {
      this.bad = { line: l.lineNo, reason: `${l.reason}; the ${what} starting at line ${this.startLine} was skipped` };
      this.lines = [];
      return;
    }
    // UTF-16 length is a cheap bound: a character is at most 3 UTF-8 bytes per UTF-16 unit.
    this.chars += l.text.length + 1;
    if (this.chars > this.maxRecordBytes) {
      this.bad = { line: this.startLine, reason: `${what} larger than ${formatBytes(this.maxRecordBytes)}` };
      this.lines = [];
      return;
    }
    this.lines.push(l.text);
  }

  reset(): void {
    this.lines = [];
    this.startLine = 0;
    this.chars = 0;
    this.bad = null;
  }
}

class TxtParser implements RecordParser {
  private block: LineBlock;
  private paragraph = 0;
  private readonly stem: string;

  constructor(fileName: string, maxRecordBytes: number) {
    this.block = new LineBlock(maxRecordBytes);
    this.stem = fileStem(fileName);
  }

  line(l: Line, out: ParseBatch): void {
    if (l.text !== null && l.text.trim() === '') this.flush(out);
    else this.block.add(l, 'paragraph');
  }

  end(out: ParseBatch): void {
    this.flush(out);
  }

  private flush(out: ParseBatch): void {
    if (this.block.empty) return;
    this.paragraph++;
    if (this.block.bad) out.bad.push(this.block.bad);
    else {
      const text = squash(this.block.lines.join(' '));
      out.passages.push({ title: `${this.stem}, paragraph ${this.paragraph}`, text, line: this.block.startLine });
    }
    this.block.reset();
  }
}

/** Strips inline markdown: images and links keep their text, emphasis and code marks go. */
export function stripInlineMarkdown(s: string): string {
  return (
    s
      .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1')
      .replace(/<\/?[a-zA-Z][^>]*>/g, '')
      .replace(/`+([^`]*)`+/g, '$1')
      .replace(/\*\*(?=\S)(.+?)(?<=\S)\*\*/g, '$1')
      .replace(/\*(?=\S)(.+?)(?<=\S)\*/g, '$1')
      // Underscores mark emphasis only at word edges: snake_case stays as it is.
      .replace(/(?<![\p{L}\p{N}_])__(?=\S)(.+?)(?<=\S)__(?![\p{L}\p{N}_])/gu, '$1')
      .replace(/(?<![\p{L}\p{N}_])_(?=\S)(.+?)(?<=\S)_(?![\p{L}\p{N}_])/gu, '$1')
      .replace(/~~(.+?)~~/g, '$1')
  );
}

class MdParser implements RecordParser {
  private block: LineBlock;
  private readonly stem: string;
  private title: string;
  private titleLine = 0;
  private titleLevel = 0;
  private inFence: string | null = null;
  private inFrontMatter = false;
  private lastBlank = true;
  /** Line of the last text line added to the section (a setext heading takes it as its line). */
  private lastContentLine = 0;

  constructor(fileName: string, maxRecordBytes: number) {
    this.block = new LineBlock(maxRecordBytes);
    this.stem = fileStem(fileName);
    this.title = this.stem;
  }

  line(l: Line, out: ParseBatch): void {
    if (l.text === null) {
      this.block.add(l, 'section');
      this.lastBlank = false;
      return;
    }
    const raw = l.text;
    // YAML front matter at the very top is metadata, not text.
    if (l.lineNo === 1 && raw.trim() === '---') {
      this.inFrontMatter = true;
      return;
    }
    if (this.inFrontMatter) {
      if (raw.trim() === '---' || raw.trim() === '...') this.inFrontMatter = false;
      return;
    }
    // Fenced code is not prose: skipped.
    const fence = /^\s{0,3}(`{3,}|~{3,})/.exec(raw);
    if (this.inFence) {
      if (fence && fence[1][0] === this.inFence[0] && fence[1].length >= this.inFence.length) this.inFence = null;
      return;
    }
    if (fence) {
      this.inFence = fence[1];
      return;
    }
    const atx = /^\s{0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/.exec(raw);
    if (atx) {
      this.startSection(out, squash(stripInlineMarkdown(atx[2] ?? '')), atx[1].length, l.lineNo);
      this.lastBlank = false;
      return;
    }
    // Setext heading: one line of text directly followed by === or ---.
    const setext = /^\s{0,3}(=+|-+)\s*$/.exec(raw);
    if (setext && !this.lastBlank && this.block.lines.length > 0 && !this.block.bad) {
      const heading = this.block.lines.pop()!;
      const headingLine = this.lastContentLine;
      if (this.block.lines.length === 0) this.block.reset();
      this.startSection(out, squash(stripInlineMarkdown(heading)), setext[1][0] === '=' ? 1 : 2, headingLine);
      this.lastBlank = false;
      return;
    }
    if (raw.trim() === '') {
      this.lastBlank = true;
      return;
    }
    // A thematic break (---, ***, ___) separates nothing we keep.
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(raw)) {
      this.lastBlank = true;
      return;
    }
    const text = raw
      .replace(/^\s{0,3}>\s?/, '')
      .replace(/^\s*(?:[-*+]|\d+[.)])\s+/, '')
      .replace(/^\s*\|/, '')
      .replace(/\|\s*$/, '');
    this.lastContentLine = l.lineNo;
    this.block.add({ lineNo: l.lineNo, text: stripInlineMarkdown(text) }, 'section');
    this.lastBlank = false;
  }

  end(out: ParseBatch): void {
    this.flush(out, 0);
  }

  private startSection(out: ParseBatch, title: string, level: number, lineNo: number): void {
    this.flush(out, level);
    this.title = title || this.stem;
    this.titleLine = lineNo;
    this.titleLevel = level;
  }

  /** Ends the current section; `nextLevel` is the level of the heading that follows (0 at the end). */
  private flush(out: ParseBatch, nextLevel: number): void {
    const b = this.block;
    if (b.bad) out.bad.push(b.bad);
    else if (!b.empty) {
      const text = squash(b.lines.join(' '));
      if (text) out.passages.push({ title: this.title, text, line: this.titleLine || b.startLine });
      else out.bad.push({ line: this.titleLine || b.startLine, reason: 'empty section' });
    } else if (this.titleLine > 0) {
      // A heading with nothing under it. A parent heading directly followed by a deeper one is
      // normal structure, not a bad record.
      const isParent = nextLevel > this.titleLevel;
      if (!isParent) out.bad.push({ line: this.titleLine, reason: 'empty section: a heading with no text under it' });
    }
    b.reset();
    this.titleLine = 0;
  }
}

class JsonlParser implements RecordParser {
  line(l: Line, out: ParseBatch): void {
    if (l.text === null) {
      out.bad.push({ line: l.lineNo, reason: l.reason });
      return;
    }
    const s = l.text.trim();
    if (s === '') return; // blank lines separate nothing; not a record
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      out.bad.push({ line: l.lineNo, reason: `invalid JSON (${(e as Error).message})` });
      return;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      out.bad.push({ line: l.lineNo, reason: 'not a JSON object' });
      return;
    }
    const o = v as Record<string, unknown>;
    let title: unknown = o.title;
    let text: unknown = o.text;
    if (text === undefined && o.contents !== undefined) {
      text = o.contents;
      if (typeof text === 'string' && title === undefined) {
        const nl = text.indexOf('\n');
        if (nl > 0) {
          title = text
            .slice(0, nl)
            .trim()
            .replace(/^"(.*)"$/, '$1');
          text = text.slice(nl + 1);
        }
      }
    }
    if (text === undefined) {
      out.bad.push({ line: l.lineNo, reason: 'missing field "text" (expected {"title", "text"} or {"contents"})' });
      return;
    }
    if (typeof text !== 'string') {
      out.bad.push({ line: l.lineNo, reason: 'field "text" is not a string' });
      return;
    }
    if (title !== undefined && title !== null && typeof title !== 'string') {
      out.bad.push({ line: l.lineNo, reason: 'field "title" is not a string' });
      return;
    }
    const body = squash(text);
    if (!body) {
      out.bad.push({ line: l.lineNo, reason: 'empty text' });
      return;
    }
    out.passages.push({ title: squash((title as string | null | undefined) ?? ''), text: body, line: l.lineNo });
  }

  end(): void {}
}

/** Splits one TSV line into fields; quoted fields may hold tabs and doubled quotes. Null when a quote is not closed. */
export function splitTsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const q = line.indexOf('"', j);
        if (q < 0) return null;
        value += line.slice(j, q);
        if (line[q + 1] === '"') {
          value += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      // Text after the closing quote and before the tab is kept as it is (lenient).
      const tab = line.indexOf('\t', j);
      value += line.slice(j, tab < 0 ? line.length : tab);
      fields.push(value);
      if (tab < 0) return fields;
      i = tab + 1;
    } else {
      const tab = line.indexOf('\t', i);
      fields.push(line.slice(i, tab < 0 ? line.length : tab));
      if (tab < 0) return fields;
      i = tab + 1;
    }
  }
}

class TsvParser implements RecordParser {
  /** Column positions; null until the first line has been read. */
  private cols: { text: number; title: number; count: number } | null = null;

  line(l: Line, out: ParseBatch): void {
    if (l.text === null) {
      out.bad.push({ line: l.lineNo, reason: l.reason });
      if (!this.cols) this.cols = { text: 1, title: 2, count: 3 };
      return;
    }
    if (l.text.trim() === '') return;
    const fields = splitTsvLine(l.text);
    if (!fields) {
      out.bad.push({ line: l.lineNo, reason: 'a quoted field is not closed (a " without its closing ")' });
      return;
    }
    if (!this.cols) {
      const names = fields.map((f) => f.trim().toLowerCase());
      const text = names.indexOf('text');
      if (text >= 0) {
        this.cols = { text, title: names.indexOf('title'), count: fields.length };
        return;
      }
      // No header: DPR's column order.
      this.cols = { text: 1, title: 2, count: 3 };
    }
    const c = this.cols;
    if (fields.length !== c.count) {
      out.bad.push({ line: l.lineNo, reason: `expected ${c.count} tab-separated fields, found ${fields.length}` });
      return;
    }
    const text = squash(fields[c.text]);
    if (!text) {
      out.bad.push({ line: l.lineNo, reason: 'empty text' });
      return;
    }
    out.passages.push({ title: c.title >= 0 ? squash(fields[c.title]) : '', text, line: l.lineNo });
  }

  end(): void {}
}

// ---------------------------------------------------------------------------------------------

/**
 * The streaming parser: feed it the file's bytes in chunks of any size with `push`, then call
 * `finish`. Memory stays bounded by the largest record (at most `maxRecordBytes`) plus one chunk.
 */
export class CorpusParser {
  readonly format: CorpusFormat;
  private readonly splitter: ByteLineSplitter;
  private readonly records: RecordParser;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly maxRecordBytes: number;
  private first = true;
  /** Bytes pushed so far. */
  bytes = 0;
  /** Lines seen so far. */
  lines = 0;

  constructor(opts: CorpusParserOptions) {
    this.format = opts.format;
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.splitter = new ByteLineSplitter(this.maxRecordBytes);
    this.records = makeRecordParser(opts.format, opts.fileName, this.maxRecordBytes);
  }

  push(chunk: Uint8Array): ParseBatch {
    this.bytes += chunk.length;
    return this.consume(this.splitter.push(chunk), false);
  }

  finish(): ParseBatch {
    return this.consume(this.splitter.finish(), true);
  }

  private consume(raw: RawLine[], end: boolean): ParseBatch {
    const out: ParseBatch = { passages: [], bad: [] };
    for (const r of raw) {
      this.lines = r.lineNo;
      this.records.line(this.decode(r), out);
    }
    if (end) this.records.end(out);
    return out;
  }

  private decode(r: RawLine): Line {
    const first = this.first;
    this.first = false;
    if (r.bytes === null) return { lineNo: r.lineNo, text: null, reason: tooLarge(this.maxRecordBytes) };
    let bytes = r.bytes;
    // A UTF-8 byte order mark at the start of the file is not text.
    if (first && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    try {
      return { lineNo: r.lineNo, text: this.decoder.decode(bytes) };
    } catch {
      return { lineNo: r.lineNo, text: null, reason: 'invalid UTF-8' };
    }
  }
}

function makeRecordParser(format: CorpusFormat, fileName: string, maxRecordBytes: number): RecordParser {
  switch (format) {
    case 'txt':
      return new TxtParser(fileName, maxRecordBytes);
    case 'md':
      return new MdParser(fileName, maxRecordBytes);
    case 'jsonl':
      return new JsonlParser();
    case 'tsv':
      return new TsvParser();
  }
}

/** Parses a whole byte array at once (tests and small files). */
export function parseCorpusBytes(bytes: Uint8Array, opts: CorpusParserOptions): ParseBatch {
  const p = new CorpusParser(opts);
  const a = p.push(bytes);
  const b = p.finish();
  return { passages: [...a.passages, ...b.passages], bad: [...a.bad, ...b.bad] };
}
