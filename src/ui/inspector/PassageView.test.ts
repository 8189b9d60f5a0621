// Safety: corpus text is rendered as text, never as HTML.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { WordPieceTokenizer } from '../../corpus/tokenizer';
import type { CandidateInspection, MaskInspection } from '../../model/inspection';
import type { ChunkRecord } from '../../storage/db';
import { CandidateTable } from './CandidateTable';
import { answerRanges, answersRanges, markedPieces, mergeRanges } from './highlight';
import { PassageDialog } from './PassageDialog';
import { PassageView } from './PassageView';
import { Predictions } from './Predictions';

const IMG = '<img src=x onerror=alert(1)>';
const SCRIPT = '<script>alert(1)</script>';

describe('PassageView', () => {
  it('shows a passage holding <img onerror> and <script> literally: escaped text, no element', () => {
    const text = `Paris ${IMG} is the capital ${SCRIPT} of France.`;
    const at = text.indexOf('France');
    const html = renderToStaticMarkup(createElement(PassageView, { title: `T ${SCRIPT}`, text, textRanges: [[at, at + 6]] }));
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<mark>France</mark>');
    // The text comes back whole once the markup is stripped and the entities decoded.
    const plain = html
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    expect(plain).toBe(`T ${SCRIPT}${text}`);
  });

  it('marks an answer that sits inside HTML-like text as text too', () => {
    const tok = new WordPieceTokenizer([
      '[PAD]',
      '[UNK]',
      '[CLS]',
      '[SEP]',
      '[MASK]',
      '<',
      '>',
      'img',
      'src',
      '=',
      'x',
      'onerror',
      'alert',
      '(',
      ')',
      '1',
      'script',
      '/',
    ]);
    const text = `before ${IMG} after`;
    const ranges = answerRanges(tok, text, tok.encode('alert(1)'));
    expect(ranges).toHaveLength(1);
    expect(text.slice(...ranges[0])).toBe('alert(1)');
    const html = renderToStaticMarkup(createElement(PassageView, { title: '', text, textRanges: ranges }));
    expect(html).toContain('<mark>alert(1)</mark>');
    expect(html).not.toMatch(/<img/i);
  });
});

/** No element from the corpus: the only tags are the ones the component itself writes. */
function expectOnlyOwnTags(html: string) {
  expect(html).not.toMatch(/<img/i);
  expect(html).not.toMatch(/<script/i);
  expect(html).not.toMatch(/<[^>]*\sonerror=/i); // no tag carries an event handler
}

describe('inspector views with hostile corpus text', () => {
  const text = `Paris ${IMG} is the capital ${SCRIPT} of France.`;
  const chunk: ChunkRecord = { corpusId: 'c', seq: 3, id: 'p3', title: `<b>bold</b> ${SCRIPT}`, text };
  const cand = (z: number, row: number | null): CandidateInspection => ({
    z,
    row,
    docId: row === null ? null : 'p3',
    score: 1,
    pz: z === 0 ? 0.25 : 0.75,
    pTarget: [0.5],
    utility: z === 0 ? 0 : 0.4,
    staleRank: z || null,
    currentRank: z || null,
    agrees: z ? true : null,
  });

  it('the candidate table shows a passage title and text literally', () => {
    const at = text.indexOf('France');
    const html = renderToStaticMarkup(
      createElement(CandidateTable, {
        rows: [
          { candidate: cand(0, null), passage: null, titleRanges: [], textRanges: [] },
          { candidate: cand(1, 3), passage: chunk, titleRanges: [], textRanges: [[at, at + 6]] },
        ],
        maskLabels: ['<i>x</i>'],
        onOpen: () => {},
      }),
    );
    expectOnlyOwnTags(html);
    expect(html).not.toContain('<b>bold</b>');
    expect(html).not.toContain('<i>x</i>');
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<mark>France</mark>');
    expect(html.match(/data-testid="inspector-row"/g)).toHaveLength(2);
  });

  it("marks the gold passage (the sentence's own) and only it", () => {
    const rows = [
      { candidate: cand(0, null), passage: null, titleRanges: [], textRanges: [] },
      { candidate: cand(1, 3), passage: chunk, titleRanges: [], textRanges: [] },
      { candidate: { ...cand(2, 4), docId: 'p4' }, passage: { ...chunk, id: 'p4' }, titleRanges: [], textRanges: [] },
    ];
    const render = (goldDocId: string | null) =>
      renderToStaticMarkup(createElement(CandidateTable, { rows, maskLabels: ['x'], onOpen: () => {}, goldDocId }));
    const marked = render('p4');
    expect(marked.match(/data-gold="true"/g)).toHaveLength(1);
    expect(marked.match(/data-testid="inspector-gold"/g)).toHaveLength(1);
    // The mark is on the third row, p4's.
    const gold = marked.split('data-testid="inspector-row"')[3];
    expect(gold).toContain('data-gold="true"');
    expect(gold).toContain('gold: the sentence');
    for (const none of [null, 'elsewhere']) expect(render(none)).not.toContain('data-gold');
  });

  it('the full-passage dialog and the predictions (vocabulary pieces come from the corpus) escape too', () => {
    const dialog = renderToStaticMarkup(
      createElement(PassageDialog, {
        passage: { title: chunk.title, text, titleRanges: [], textRanges: [], detail: SCRIPT },
        onClose: () => {},
      }),
    );
    expectOnlyOwnTags(dialog);
    expect(dialog).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', IMG, SCRIPT];
    const mask: MaskInspection = {
      position: 1,
      target: 5,
      inWindow: true,
      pMarginal: 0.6,
      pNullOnly: 0.1,
      top: [
        { id: 5, p: 0.6 },
        { id: 6, p: 0.3 },
      ],
      topNullOnly: [{ id: 6, p: 0.9 }],
    };
    const pred = renderToStaticMarkup(createElement(Predictions, { masks: [mask], vocab }));
    expectOnlyOwnTags(pred);
    expect(pred).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });
});

describe('answerRanges', () => {
  const tok = new WordPieceTokenizer([
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    'new',
    'york',
    'is',
    'in',
    'the',
    'state',
    'of',
    '.',
    'news',
    '##paper',
    'yo',
  ]);
  it('finds every whole-word occurrence, case-insensitively, with offsets into the original text', () => {
    const text = 'New York is in the State of NEW  YORK.';
    const r = answerRanges(tok, text, tok.encode('new york'));
    expect(r.map((x) => text.slice(...x))).toEqual(['New York', 'NEW  YORK']);
  });
  it('does not mark a word that only starts with the answer', () => {
    expect(answerRanges(tok, 'the newspaper', tok.encode('news'))).toEqual([]);
    expect(answerRanges(tok, 'the news', tok.encode('news'))).toEqual([[4, 8]]);
  });
  it('marks several answers at once, merging ranges that overlap or touch', () => {
    expect(
      mergeRanges([
        [6, 8],
        [0, 2],
        [1, 3],
        [3, 4],
      ]),
    ).toEqual([
      [0, 4],
      [6, 8],
    ]);
    const text = 'New York is in the state of New York.';
    const r = answersRanges(tok, text, [tok.encode('york'), tok.encode('new york'), tok.encode('state')]);
    expect(r.map((x) => text.slice(...x))).toEqual(['New York', 'state', 'New York']);
  });
  it('splits text into plain and marked pieces that join back to the text', () => {
    const pieces = markedPieces('abcdef', [
      [1, 2],
      [4, 6],
    ]);
    expect(pieces).toEqual([
      { text: 'a', marked: false },
      { text: 'b', marked: true },
      { text: 'cd', marked: false },
      { text: 'ef', marked: true },
    ]);
  });
});
