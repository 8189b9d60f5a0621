import { describe, expect, it } from 'vitest';
import { parseQaFile, QaFileError } from './qa-file';

describe('parseQaFile', () => {
  it("reads NQ-open jsonl (the bundled qa-dev.jsonl's format), skipping blank lines", () => {
    const text =
      '{"question": "who wrote hamlet", "answer": ["Shakespeare", "William Shakespeare"]}\r\n\n{"question":"q2","answer":["a"]}\n';
    expect(parseQaFile(text, 'dev.jsonl')).toEqual([
      { question: 'who wrote hamlet', answer: ['Shakespeare', 'William Shakespeare'] },
      { question: 'q2', answer: ['a'] },
    ]);
  });

  it("reads DPR's QA tsv, JSON lists and Python's list repr alike", () => {
    const text = 'who got the first nobel prize in physics\t["Wilhelm Conrad Röntgen"]\nwhere is it\t[\'Paris\', "l\'Île"]\n';
    expect(parseQaFile(text, 'nq-test.qa.csv')).toEqual([
      { question: 'who got the first nobel prize in physics', answer: ['Wilhelm Conrad Röntgen'] },
      { question: 'where is it', answer: ['Paris', "l'Île"] },
    ]);
    expect(parseQaFile('{"question": "x"}\t["y"]\n', 'a.tsv')).toEqual([{ question: '{"question": "x"}', answer: ['y'] }]);
  });

  it('names the file and the line of a malformed one', () => {
    const cases: [string, string, RegExp][] = [
      [
        '{"question":"a","answer":["b"]}\n{"question": "c", "answer": "d"}\n',
        'dev.jsonl',
        /^dev\.jsonl, line 2: field "answer" must be a non-empty list of strings$/,
      ],
      ['{"question":"a","answer":["b"]}\n\n{oops\n', 'dev.jsonl', /^dev\.jsonl, line 3: invalid JSON/],
      ['{"question":"","answer":["b"]}\n', 'dev.jsonl', /line 1: field "question" must be a non-empty string/],
      ['{"question":"a","answer":[]}\n', 'dev.jsonl', /line 1: field "answer" must be a non-empty list/],
      ['["a"]\n', 'dev.jsonl', /line 1: .*no tab/], // not an object: read as tsv, which it is not either
      [
        'q1\t["a"]\nq2 ["b"]\n',
        'dev.tsv',
        /^dev\.tsv, line 2: expected question<TAB>\["answer", \.\.\.\] \(DPR's QA tsv\), found no tab$/,
      ],
      ['q1\tParis\n', 'dev.tsv', /^dev\.tsv, line 1: the answers "Paris" are not a list like \["a", "b"\]$/],
      ['q1\t[1, 2]\n', 'dev.tsv', /line 1: the answers must be a non-empty list of strings/],
      ['\t["a"]\n', 'dev.tsv', /line 1: the question is empty/],
    ];
    for (const [text, file, message] of cases) {
      let error: unknown;
      try {
        parseQaFile(text, file);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(QaFileError);
      expect((error as Error).message).toMatch(message);
    }
  });
});
