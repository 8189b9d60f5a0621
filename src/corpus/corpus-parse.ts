// Parsing a user's corpus file into passages, streaming: bytes go in chunk by chunk (a chunk may end
// in the middle of a line or of a UTF-8 character), passages and bad records come out. Pure TS: no
// DOM, no storage, so the same code runs in the import worker, on the main thread, and in Node tests.
//
// Formats (chosen by file extension, see `detectFormat`):
// - txt:   paragraphs separated by blank lines; title = file name + paragraph number.
// - md:    ATX (`# Title`) and setext (`Title` / `===`) headings become the titles of the text under
//          them; light markdown (emphasis, links, list bullets, code) is stripped from the text;
//          fenced code and YAML front matter are skipped. A fence or front matter that is never
//          closed ends at the end of its section (the next heading) or of its YAML, with a bad record.
// - jsonl: one JSON object per line, `{title, text}` (title optional) or `{contents}` (Pyserini style,
//          the first line of `contents` is the title when there is more than one line); an `id` or
//          `doc_id` field is kept as the passage's `docId`.
// - tsv:   DPR style `id \t text \t title`, with or without a header row naming the columns (a header is
//          told by its shape: identifier-like names, one of them a known column); fields may be quoted
//          with `"` and a doubled `""` inside a quoted field stands for one quote.
// `\n`, `\r\n` and a lone `\r` all end a line, in every format.
//
// Bad records (invalid JSON, missing fields, invalid UTF-8, NUL bytes, empty records, records larger
// than `maxRecordBytes`, unclosed fences and front matter) are skipped and reported with their 1-based
// line number and a reason: nothing is dropped without one. A file that cannot be read as a whole
// (mostly binary or not UTF-8; a TSV header without a `text` column) throws a typed error instead.

export type CorpusFormat = 'txt' | 'md' | 'jsonl' | 'tsv';

/** One passage as found in the file, before it is cut into blocks. */
export interface ParsedPassage {
  title: string;
  text: string;
  /** 1-based line where the record starts. */
  line: number;
  /** The record's own id (jsonl `id` or `doc_id`), when it has one: its blocks keep it as `docId`. */
  docId?: string;
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

/**
 * The file is not UTF-8 text (binary data, a document format, or text in another encoding): it is
 * refused as a whole, before anything is stored.
 */
export class UnreadableCorpusError extends Error {
  constructor(fileName: string, detail: string, hint: string) {
    super(`"${fileName}" cannot be imported: ${detail}. Nothing was imported. ${hint}`);
    this.name = 'UnreadableCorpusError';
  }
}

/** A TSV file's first row is a header, but none of its columns is `text`. */
export class TsvHeaderError extends Error {
  constructor(fileName: string, columns: string[]) {
    super(
      `The first row of "${fileName}" is a header naming the columns ${columns.map((c) => `"${c}"`).join(', ')}, ` +
        'but none of them is "text", so the passages cannot be found. Rename the column that holds the passages to ' +
        '"text" (and the titles\' column to "title"), or remove the header row if the columns are id, text, title in that order.',
    );
    this.name = 'TsvHeaderError';
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
 * Splits a byte stream into lines. `\n`, `\r\n` and a lone `\r` (old Mac files) all end a line, also
 * when a chunk ends between the `\r` and the `\n`. At most `maxLineBytes` of a pending line are kept
 * in memory: a longer line is dropped as it streams past and handed on as `bytes: null`.
 */
export class ByteLineSplitter {
  private parts: Uint8Array[] = [];
  private pendingBytes = 0;
  private oversize = false;
  private lineNo = 0;
  /** The last line ended with a `\r`: a `\n` right after it belongs to the same line end. */
  private afterCR = false;

  constructor(private readonly maxLineBytes: number) {}

  /** Complete lines in `chunk` (with what was pending before it). */
  push(chunk: Uint8Array): RawLine[] {
    const out: RawLine[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== NEWLINE && b !== CR) continue;
      if (b === NEWLINE && this.afterCR && i === start) {
        // The \n of a \r\n whose \r ended the previous line.
        this.afterCR = false;
        start = i + 1;
        continue;
      }
      this.append(chunk.subarray(start, i));
      out.push(this.takeLine());
      this.afterCR = b === CR;
      start = i + 1;
    }
    if (start < chunk.length) {
      this.append(chunk.subarray(start));
      this.afterCR = false;
    }
    return out;
  }

  /** The last line, if the stream did not end with a line end. */
  finish(): RawLine[] {
    this.afterCR = false;
    return this.pendingBytes > 0 || this.oversize ? [this.takeLine()] : [];
  }

  private append(piece: Uint8Array): void {
    if (piece.length === 0 || this.oversize) return;
    if (this.pendingBytes + piece.length > this.maxLineBytes) {
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

/** "line 3" or "lines 3-7". */
function lineSpan(from: number, to: number): string {
  return from === to ? `line ${from}` : `lines ${from}-${to}`;
}

const FENCE = /^\s{0,3}(`{3,}|~{3,})/;
const ATX_HEADING = /^\s{0,3}#{1,6}(?:\s|$)/;
/** A line of YAML front matter: `key: value`, an indented continuation, or a list item. */
const YAML_LINE = /^(?:\s+\S|[A-Za-z0-9_"'][^:]*:(?:\s|$)|-(?:\s|$))/;

class MdParser implements RecordParser {
  private block: LineBlock;
  private readonly stem: string;
  private title: string;
  private titleLine = 0;
  private titleLevel = 0;
  /** The open code fence: its marker and line. */
  private fence: { marker: string; line: number } | null = null;
  /** Inside YAML front matter (opened by `---` on line 1). */
  private inFrontMatter = false;
  /**
   * Lines held back until it is known what they are: the front matter's (until its closing `---`),
   * or an open fence's from the first heading-like line on (until the fence closes). Bounded by
   * `maxRecordBytes`; past that, the front matter or fence is taken as not closed.
   */
  private held: Line[] = [];
  private heldChars = 0;
  private lastBlank = true;
  /** Line of the last text line added to the section (a setext heading takes it as its line). */
  private lastContentLine = 0;
  private lastLine = 0;

  constructor(
    fileName: string,
    private readonly maxRecordBytes: number,
  ) {
    this.block = new LineBlock(maxRecordBytes);
    this.stem = fileStem(fileName);
    this.title = this.stem;
  }

  line(l: Line, out: ParseBatch): void {
    this.lastLine = Math.max(this.lastLine, l.lineNo);
    if (this.inFrontMatter) this.frontMatterLine(l, out);
    else if (this.fence) this.fenceLine(l, out);
    else this.contentLine(l, out);
  }

  private hold(l: Line): boolean {
    this.held.push(l);
    this.heldChars += (l.text?.length ?? 0) + 1;
    return this.heldChars > this.maxRecordBytes;
  }

  private takeHeld(): Line[] {
    const held = this.held;
    this.held = [];
    this.heldChars = 0;
    return held;
  }

  private frontMatterLine(l: Line, out: ParseBatch): void {
    if (l.text !== null && (l.text.trim() === '---' || l.text.trim() === '...')) {
      this.inFrontMatter = false;
      // Metadata, not text; a line that could not be read is still reported.
      for (const h of this.takeHeld())
        if (h.text === null) out.bad.push({ line: h.lineNo, reason: `${h.reason} (in the front matter)` });
      return;
    }
    if (this.hold(l)) this.frontMatterNotClosed(out);
  }

  /**
   * Front matter without its closing `---`: it is taken to end at the first line that is not YAML
   * (a blank line, a heading, prose), and the rest is read as Markdown.
   */
  private frontMatterNotClosed(out: ParseBatch): void {
    this.inFrontMatter = false;
    const held = this.takeHeld();
    let n = 0;
    while (n < held.length && held[n].text !== null && YAML_LINE.test(held[n].text!)) n++;
    if (n === held.length) {
      out.bad.push({
        line: 1,
        reason:
          `front matter not closed: the "---" on line 1 has no closing "---", and ${lineSpan(1, held[n - 1]?.lineNo ?? 1)} ` +
          'all look like front matter, so no text was read from them. Add a line "---" where the front matter ends.',
      });
      return;
    }
    out.bad.push({
      line: 1,
      reason:
        `front matter not closed: the "---" on line 1 has no closing "---"; it was taken to end at line ${held[n].lineNo - 1} ` +
        `and the text from line ${held[n].lineNo} on was read. Add a line "---" where the front matter ends.`,
    });
    for (const h of held.slice(n)) this.line(h, out);
  }

  private fenceLine(l: Line, out: ParseBatch): void {
    const f = this.fence!;
    const close = l.text === null ? null : FENCE.exec(l.text);
    if (close && close[1][0] === f.marker[0] && close[1].length >= f.marker.length) {
      this.fence = null;
      // The heading-like lines were code after all; a line that could not be read still spoils its section.
      for (const h of this.takeHeld()) if (h.text === null) this.block.add(h, 'section');
      return;
    }
    if (this.held.length > 0) {
      if (this.hold(l)) this.fenceNotClosed(out);
      return;
    }
    if (l.text === null) {
      this.block.add(l, 'section');
      this.lastBlank = false;
      return;
    }
    // A heading inside a fence may be a code comment (`# install`), or the next section of a file
    // whose fence was never closed: held until the fence closes or is found not to.
    if (ATX_HEADING.test(l.text) && this.hold(l)) this.fenceNotClosed(out);
  }

  /**
   * A code fence without its closing fence ends at the end of its section: the first heading after
   * it. Without one, the rest of the file was code.
   */
  private fenceNotClosed(out: ParseBatch): void {
    const f = this.fence!;
    this.fence = null;
    const held = this.takeHeld();
    const what = `code fence not closed: the ${f.marker} on line ${f.line} has no closing ${f.marker}`;
    if (held.length === 0) {
      out.bad.push({
        line: f.line,
        reason: `${what}, so the rest of the file (${lineSpan(f.line, this.lastLine)}) was skipped as code`,
      });
      return;
    }
    out.bad.push({
      line: f.line,
      reason: `${what}; it was taken to end at the next heading, on line ${held[0].lineNo} (${lineSpan(f.line, held[0].lineNo - 1)} skipped as code)`,
    });
    for (const h of held) this.line(h, out);
  }

  private contentLine(l: Line, out: ParseBatch): void {
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
    // Fenced code is not prose: skipped.
    const fence = FENCE.exec(raw);
    if (fence) {
      this.fence = { marker: fence[1], line: l.lineNo };
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
    // A front matter or fence still open at the end was not closed (replaying its held lines may open another).
    while (this.inFrontMatter || this.fence) {
      if (this.inFrontMatter) this.frontMatterNotClosed(out);
      else this.fenceNotClosed(out);
    }
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
    const p: ParsedPassage = { title: squash((title as string | null | undefined) ?? ''), text: body, line: l.lineNo };
    const docId = o.doc_id ?? o.id;
    if (typeof docId === 'string' || typeof docId === 'number') p.docId = String(docId);
    out.passages.push(p);
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

/** A header cell: an identifier-like column name (no spaces, not a number). */
const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
/** Column names of passage files (DPR, BEIR, MS MARCO, Pyserini); a header names at least one of them. */
const KNOWN_COLUMNS = new Set([
  'id',
  '_id',
  'pid',
  'docid',
  'doc_id',
  'text',
  'title',
  'passage',
  'contents',
  'content',
  'body',
  'url',
  'source',
]);

/**
 * The column names when `fields` has the shape of a header row: every field an identifier-like name,
 * no name twice, and at least one a known passage-file column. A data row has a numeric id or prose
 * with spaces, so a passage that happens to read "text" does not make its row a header.
 */
export function tsvHeaderNames(fields: string[]): string[] | null {
  const names = fields.map((f) => f.trim());
  if (!names.every((n) => COLUMN_NAME.test(n))) return null;
  const lower = names.map((n) => n.toLowerCase());
  if (new Set(lower).size !== lower.length) return null;
  if (!lower.some((n) => KNOWN_COLUMNS.has(n))) return null;
  return lower;
}

class TsvParser implements RecordParser {
  /** Column positions; null until the first line has been read. */
  private cols: { text: number; title: number; count: number } | null = null;

  constructor(private readonly fileName: string) {}

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
      const names = tsvHeaderNames(fields);
      if (names) {
        const text = names.indexOf('text');
        if (text < 0)
          throw new TsvHeaderError(
            this.fileName,
            fields.map((f) => f.trim()),
          );
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
 * A file whose lines are more than this fraction (by bytes) invalid UTF-8 or binary (NUL bytes) is
 * refused as a whole: it is not a text file, and a list of thousands of bad lines would not say so.
 */
export const MAX_UNREADABLE_FRACTION = 0.5;
/** The file is first judged once this many bytes of lines are read, so a large binary file is refused early. */
export const EARLY_CHECK_BYTES = 1 << 20;

/**
 * The streaming parser: feed it the file's bytes in chunks of any size with `push`, then call
 * `finish`. Memory stays bounded by the largest record (at most `maxRecordBytes`) plus one chunk.
 * Throws `UnreadableCorpusError` (binary data, UTF-16, another encoding) or `TsvHeaderError` when the
 * file as a whole cannot be read; those are thrown the same way whatever the chunking.
 */
export class CorpusParser {
  readonly format: CorpusFormat;
  private readonly fileName: string;
  private readonly splitter: ByteLineSplitter;
  private readonly records: RecordParser;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly maxRecordBytes: number;
  private first = true;
  /** Bytes in lines read as text, and in lines refused as invalid UTF-8 or binary. */
  private readableBytes = 0;
  private unreadableBytes = 0;
  private nulBytes = 0;
  private checkedEarly = false;
  /** Bytes pushed so far. */
  bytes = 0;
  /** Lines seen so far. */
  lines = 0;

  constructor(opts: CorpusParserOptions) {
    this.format = opts.format;
    this.fileName = opts.fileName;
    this.maxRecordBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.splitter = new ByteLineSplitter(this.maxRecordBytes);
    this.records = makeRecordParser(opts.format, opts.fileName, this.maxRecordBytes);
  }

  push(chunk: Uint8Array): ParseBatch {
    this.bytes += chunk.length;
    const out = this.consume(this.splitter.push(chunk), false);
    if (!this.checkedEarly && this.readableBytes + this.unreadableBytes >= EARLY_CHECK_BYTES) {
      this.checkedEarly = true;
      this.checkReadable(true);
    }
    return out;
  }

  finish(): ParseBatch {
    const out = this.consume(this.splitter.finish(), true);
    this.checkReadable(false);
    return out;
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
    if (first && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)))
      throw new UnreadableCorpusError(
        this.fileName,
        'it is UTF-16 text (it starts with a UTF-16 byte order mark), and only UTF-8 is read',
        'Save it as UTF-8 (in most editors: Save As, encoding UTF-8) and import it again.',
      );
    // A UTF-8 byte order mark at the start of the file is not text.
    if (first && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      this.unreadableBytes += bytes.length;
      return { lineNo: r.lineNo, text: null, reason: 'invalid UTF-8' };
    }
    if (text.includes('\0')) {
      this.unreadableBytes += bytes.length;
      this.nulBytes += text.split('\0').length - 1;
      return { lineNo: r.lineNo, text: null, reason: 'NUL bytes: binary data, not text' };
    }
    this.readableBytes += bytes.length;
    return { lineNo: r.lineNo, text };
  }

  /** Refuses the file when most of what was read so far is not UTF-8 text. */
  private checkReadable(early: boolean): void {
    const total = this.readableBytes + this.unreadableBytes;
    if (total === 0 || this.unreadableBytes <= total * MAX_UNREADABLE_FRACTION) return;
    const pct = Math.floor((100 * this.unreadableBytes) / total);
    const where = early ? `of the first ${Math.floor(total / (1 << 20))} MB read` : 'of it';
    const nuls = this.nulBytes >= this.unreadableBytes * 0.25;
    throw new UnreadableCorpusError(
      this.fileName,
      `${pct}% ${where} is not UTF-8 text (${nuls ? 'lines with NUL bytes' : 'invalid UTF-8 or NUL bytes'}), so it is binary data or text in another encoding`,
      nuls
        ? 'If it is text, it is probably UTF-16: save it as UTF-8. If it is a document (PDF, Word, e-book) or an archive, save its text as a .txt file first.'
        : 'If it is a document (PDF, Word, e-book) or an archive, save its text as a .txt file first; if it is text in another encoding (Latin-1, Windows-1252), save it as UTF-8.',
    );
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
      return new TsvParser(fileName);
  }
}

/** Parses a whole byte array at once (tests and small files). */
export function parseCorpusBytes(bytes: Uint8Array, opts: CorpusParserOptions): ParseBatch {
  const p = new CorpusParser(opts);
  const a = p.push(bytes);
  const b = p.finish();
  return { passages: [...a.passages, ...b.passages], bad: [...a.bad, ...b.bad] };
}
