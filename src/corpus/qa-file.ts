// Open-QA question files for fine-tuning and evaluation (issue #34): NQ-open's jsonl, one
// {"question": "...", "answer": ["...", ...]} per line (the bundled qa-train.jsonl / qa-dev.jsonl), and
// DPR's QA tsv, one `question<TAB>["a", "b"]` per line (the answers a Python-style list in JSON). A
// line that is neither is a QaFileError that names the file and the line.
import type { QaItem } from './corpus-format';

/** A question file that cannot be read; the message names the file, the line and what is wrong. */
export class QaFileError extends Error {
  constructor(file: string, line: number, detail: string) {
    super(`${file}, line ${line}: ${detail}`);
    this.name = 'QaFileError';
  }
}

function answersOf(x: unknown): string[] | null {
  return Array.isArray(x) && x.length > 0 && x.every((a) => typeof a === 'string') ? (x as string[]) : null;
}

/** DPR's answer column: a JSON list of strings; also Python's repr with single quotes (['a', "b's"]). */
function parseAnswerList(cell: string): unknown {
  try {
    return JSON.parse(cell);
  } catch {
    // Python's list repr: 'x' strings become JSON strings (an escaped \' inside stays a quote).
    const json = cell.replace(/'((?:[^'\\]|\\.)*)'/g, (_m, s: string) => JSON.stringify(s.replace(/\\'/g, "'")));
    return JSON.parse(json);
  }
}

/**
 * The questions of a file: DPR's tsv when the name ends in .tsv, or when the first non-empty line is not
 * a JSON object; NQ-open jsonl otherwise. Blank lines are skipped.
 */
export function parseQaFile(text: string, file = 'qa.jsonl'): QaItem[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const first = lines.find((l) => l.trim() !== '') ?? '';
  const tsv = file.endsWith('.tsv') || !first.trimStart().startsWith('{');
  const out: QaItem[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = i + 1;
    if (tsv) {
      const tab = line.indexOf('\t');
      if (tab < 0) throw new QaFileError(file, at, 'expected question<TAB>["answer", ...] (DPR\'s QA tsv), found no tab');
      const question = line.slice(0, tab).trim();
      if (question === '') throw new QaFileError(file, at, 'the question is empty');
      let parsed: unknown;
      try {
        parsed = parseAnswerList(line.slice(tab + 1).trim());
      } catch {
        throw new QaFileError(file, at, `the answers "${line.slice(tab + 1, tab + 61)}" are not a list like ["a", "b"]`);
      }
      const answer = answersOf(parsed);
      if (!answer) throw new QaFileError(file, at, 'the answers must be a non-empty list of strings, like ["a", "b"]');
      out.push({ question, answer });
      return;
    }
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch (e) {
      throw new QaFileError(file, at, `invalid JSON (${(e as Error).message})`);
    }
    if (typeof x !== 'object' || x === null || Array.isArray(x))
      throw new QaFileError(file, at, 'expected a JSON object {"question": "...", "answer": ["...", ...]}');
    const o = x as Record<string, unknown>;
    if (typeof o.question !== 'string' || o.question.trim() === '')
      throw new QaFileError(file, at, 'field "question" must be a non-empty string');
    const answer = answersOf(o.answer);
    if (!answer) throw new QaFileError(file, at, 'field "answer" must be a non-empty list of strings');
    out.push({ question: o.question, answer });
  });
  return out;
}
