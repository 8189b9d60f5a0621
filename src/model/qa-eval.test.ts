import { describe, expect, it } from 'vitest';
import { CLS_ID, SEP_ID, SPECIAL_TOKENS, WordPieceTokenizer } from '../corpus/tokenizer';
import { readerInput } from './knowledge-encoder';
import { answerPieces, containsAnswer, exactMatch, matchingSpans, normalizeAnswer, predictAnswer } from './qa-eval';
import { MASKED_SPAN_SCORE, spanCandidates, spanMask } from './span-reader';

describe('normalizeAnswer (SQuAD / ORQA)', () => {
  it.each([
    ['The Beatles', 'beatles'], // a leading article
    ['the  Beatles!', 'beatles'], // punctuation and doubled spaces
    ['An apple a day', 'apple day'],
    ['  New   York\t\n', 'new york'], // extra whitespace of every kind
    ['Theodore Roosevelt', 'theodore roosevelt'], // "the" inside a word stays
    ['Catherine the Great', 'catherine great'], // "The" inside a name goes, as in SQuAD
    ['Anne', 'anne'],
    ['U.S.', 'us'],
    ['Jay-Z', 'jayz'], // the hyphen is punctuation, no space left behind
    ["don't", 'dont'],
    ['1,000', '1000'],
    ['"the" end.', 'end'],
    ['THE', ''],
    ['a.k.a. the', 'aka'],
    ['αthe', 'αthe'], // a Greek letter is a word character: no article here
    ['the_end', 'theend'], // "_" is in Python's string.punctuation: removed before articles are looked for
    ['the—end', '—end'], // only ASCII punctuation goes: the em dash stays, and bounds the article
    ['war—the—peace', 'war— —peace'], // an article becomes a space, not nothing
  ])('%j -> %j', (input, want) => {
    expect(normalizeAnswer(input)).toBe(want);
  });

  it('NFD: a precomposed accent equals the decomposed one; accents themselves are kept, as in ORQA', () => {
    expect(normalizeAnswer('Café')).toBe(normalizeAnswer('Cafe\u0301'));
    expect(normalizeAnswer('Café')).not.toBe(normalizeAnswer('Cafe'));
    // ORQA's quirk, kept: after NFD the "a" of "Å" is followed by a combining ring, which Python's \b
    // does not count as a word character, so that "a" is removed as an article. Both sides of a
    // comparison normalise alike, so exact match is unaffected.
    expect(normalizeAnswer('Ångström')).toBe('\u030angstro\u0308m');
    expect(exactMatch('ångström', ['Ångström'])).toBe(true);
  });
});

describe('exactMatch', () => {
  it('is the best over the reference answers', () => {
    expect(exactMatch('the Beatles', ['Rolling Stones', 'The Beatles.'])).toBe(true);
    expect(exactMatch('Beatles band', ['The Beatles'])).toBe(false);
    expect(exactMatch('Café de Flore', ['cafe\u0301 de flore'])).toBe(true);
    expect(exactMatch('anything', [])).toBe(false);
    expect(exactMatch('', ['the'])).toBe(true); // both normalise to "", as the official script says
  });
});

const VOCAB = [
  ...SPECIAL_TOKENS,
  ...['the', 'beatles', 'were', 'a', 'band', 'from', 'liverpool', 'who', 'cafe', 'de', 'flore', 'is', 'in', 'paris', 'where'],
  ...['.', ',', '!', '?', '"', 'band', '##s'].filter((p, i, all) => all.indexOf(p) === i && p !== 'band'),
];
const tok = new WordPieceTokenizer(VOCAB);

/** A reader input for a question and a document given as text, with the document's token arrays. */
function read(question: string, title: string, body: string, maxLen = 64) {
  const query = [CLS_ID, ...tok.encode(question), SEP_ID];
  const doc = [CLS_ID, ...tok.encode(title), SEP_ID, ...tok.encode(body), SEP_ID];
  return { readerIds: readerInput(query, doc, maxLen), body, queryLength: query.length, titleLength: tok.encode(title).length };
}

const spanText = (ids: ArrayLike<number>, s: number, e: number) => tok.decode(Array.from(ids).slice(s, e + 1));

describe('answer spans of a document', () => {
  it('marks the body spans with the answer or the normalised answer, never the question or title', () => {
    const d = read('who were the beatles?', 'the beatles', 'The Beatles were a band from Liverpool.');
    const c = spanCandidates(d.readerIds.length);
    const pieces = answerPieces(tok, ['The Beatles']);
    expect(pieces.map((p) => tok.decode(p)).sort()).toEqual(['beatles', 'the beatles']);
    const m = matchingSpans(d.readerIds, c, pieces);
    const found = [...m].flatMap((x, i) => (x ? [[c.starts[i], c.ends[i]]] : []));
    const bodyStart = d.queryLength + d.titleLength + 1;
    // "the beatles" and "beatles" at the start of the body; the question and the title hold them too but are never marked.
    expect(found).toEqual([
      [bodyStart + 1, bodyStart + 1],
      [bodyStart, bodyStart + 1],
    ]);
    expect(found.map(([s, e]) => spanText(d.readerIds, s, e))).toEqual(['beatles', 'the beatles']);
    const mask = spanMask(d.readerIds, c);
    for (let i = 0; i < m.length; i++) if (m[i]) expect(mask[i]).toBe(1);
  });

  it('never marks an answer that crosses the [SEP] between title and body, or is cut off', () => {
    // The title ends with "the", the body starts with "beatles": "the [SEP] beatles" is no match for
    // "the beatles" (only the body's "beatles" for the normalised answer).
    const d = read('who?', 'band the', 'beatles were a band');
    const c = spanCandidates(d.readerIds.length);
    const exact = matchingSpans(d.readerIds, c, [tok.encode('the beatles')]);
    expect([...exact].some((x) => x)).toBe(false);
    expect(containsAnswer(d.readerIds, [tok.encode('the beatles')])).toBe(false);
    // A body cut by readerInput before the answer ends: no span, and the document does not contain it.
    const cut = read('who?', 'band', 'a band from liverpool', 10); // [CLS] who ? [SEP] band [SEP] a band from [SEP]
    expect(spanText(cut.readerIds, 6, 9)).toBe('a band from [SEP]');
    const lv = [tok.encode('from liverpool')];
    expect([...matchingSpans(cut.readerIds, spanCandidates(10), lv)].some((x) => x)).toBe(false);
    expect(containsAnswer(cut.readerIds, lv)).toBe(false);
    expect(containsAnswer(cut.readerIds, [tok.encode('band from')])).toBe(true);
    expect(containsAnswer(cut.readerIds, [[tok.idOf('from'), SEP_ID]])).toBe(false); // runs into the closing [SEP]
    // Only in the title or the question: not contained.
    const inTitle = read('where is paris', 'paris', 'the band');
    expect(containsAnswer(inTitle.readerIds, answerPieces(tok, ['Paris']))).toBe(false);
  });
});

describe('predictAnswer', () => {
  const docs = [
    read('where is the cafe de flore?', 'cafe de flore', 'Café de Flore  is in  Paris.'),
    read('where is the cafe de flore?', 'the beatles', 'The Beatles were a band.'),
  ];
  const length = Math.max(...docs.map((d) => d.readerIds.length));
  const c = spanCandidates(length);
  const at = (s: number, e: number) => [...c.starts].findIndex((x, i) => x === s && c.ends[i] === e);

  it('takes the best body span over all documents and returns its original text', () => {
    const logits = docs.map(() => new Float32Array(c.starts.length).fill(-1));
    const body0 = docs[0].queryLength + docs[0].titleLength + 1;
    logits[0][at(body0, body0 + 2)] = 3; // "Café de Flore"
    logits[0][at(body0 + 4, body0 + 5)] = 2.5; // "in Paris"
    logits[1][at(1, 3)] = 50; // in the question: masked, never chosen
    logits[0][at(body0 - 2, body0 - 1)] = 40 + MASKED_SPAN_SCORE; // the title, as spanLogits scores it
    const p = predictAnswer(tok, docs, c, logits)!;
    expect(p).toMatchObject({ doc: 0, start: body0, end: body0 + 2, score: 3, text: 'Café de Flore' });
    expect(docs[0].body.slice(p.charStart, p.charEnd)).toBe('Café de Flore');
    expect(exactMatch(p.text, ['cafe\u0301 de flore'])).toBe(true);
    // The second document's span wins when it scores higher, and the text keeps the original case.
    const body1 = docs[1].queryLength + docs[1].titleLength + 1;
    logits[1][at(body1, body1 + 1)] = 4;
    expect(predictAnswer(tok, docs, c, logits)).toMatchObject({ doc: 1, text: 'The Beatles' });
    // A span across the doubled spaces keeps them, as the original does.
    logits[0][at(body0 + 3, body0 + 5)] = 9;
    expect(predictAnswer(tok, docs, c, logits)!.text).toBe('is in  Paris');
  });

  it('gives null when no document has a body, and refuses logits or text that do not fit', () => {
    const empty = [{ readerIds: readerInput([CLS_ID, 20, SEP_ID], [CLS_ID, SEP_ID, SEP_ID], 64), body: '' }];
    const ce = spanCandidates(empty[0].readerIds.length);
    expect(predictAnswer(tok, empty, ce, [new Float32Array(ce.starts.length)])).toBeNull();
    const logits = docs.map(() => new Float32Array(c.starts.length));
    expect(() => predictAnswer(tok, docs, c, logits.slice(0, 1))).toThrow(/1 rows of span logits for 2 documents/);
    expect(() => predictAnswer(tok, docs, c, [logits[0], new Float32Array(3)])).toThrow(/3 span logits/);
    const wrongText = [{ ...docs[0], body: 'The Beatles were a band.' }];
    expect(() => predictAnswer(tok, wrongText, c, logits.slice(0, 1))).toThrow(/not the tokenizer's encoding/);
  });
});
