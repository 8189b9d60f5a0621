// npm run bench:tokenizer: encoding speed of the WordPiece tokenizer with the default corpus's trained
// vocabulary, side by side in one run with two baselines, and the trainer's time on the same text.
//
//   ours                 WordPieceTokenizer.encode: BERT normalisation + greedy longest-match with a
//                        Map of pieces and a per-word cache
//   ours, offsets        encodeWithOffsets: the same without the cache, plus offsets into the text
//   naive greedy         the same normalisation and greedy longest-match, but each candidate piece is
//                        looked up with vocab.indexOf (a linear scan of the 8192 pieces), from the
//                        longest substring down: what a first implementation would do
//   split + Map          text.toLowerCase().split(/\s+/) and one Map lookup per word: not a tokenizer
//                        (no punctuation, no subwords), a floor on the cost of touching every word
//
// Speeds are wordpieces per second of the wordpieces that `ours` produces for the same text.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePassages, parseVocab } from '../src/corpus/corpus-format';
import { basicWords, UNK_ID, WordPieceTokenizer } from '../src/corpus/tokenizer';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'corpus', 'default');
const passages = parsePassages(fs.readFileSync(path.join(root, 'passages.jsonl'), 'utf8'));
const vocab = parseVocab(fs.readFileSync(path.join(root, 'vocab.txt'), 'utf8'));
const texts = passages.map((p) => `${p.title} ${p.text}`);
const chars = texts.reduce((a, t) => a + t.length, 0);

function naiveEncode(text: string): number[] {
  const out: number[] = [];
  for (const word of basicWords(text)) {
    const chars_ = Array.from(word);
    if (chars_.length > 100) {
      out.push(UNK_ID);
      continue;
    }
    const ids: number[] = [];
    let start = 0;
    let ok = true;
    while (start < chars_.length) {
      let found = -1;
      let end = chars_.length;
      for (; end > start; end--) {
        const sub = chars_.slice(start, end).join('');
        found = vocab.indexOf(start > 0 ? `##${sub}` : sub);
        if (found >= 0) break;
      }
      if (found < 0) {
        ok = false;
        break;
      }
      ids.push(found);
      start = end;
    }
    out.push(...(ok ? ids : [UNK_ID]));
  }
  return out;
}

function splitAndMap(map: Map<string, number>, text: string): number {
  let n = 0;
  for (const w of text.toLowerCase().split(/\s+/)) if (map.get(w) !== undefined) n++;
  return n;
}

/** Runs `fn` over `items` at least once and for at least `minMs`; returns seconds per pass. */
function time(items: string[], fn: (t: string) => unknown, minMs = 2000): number {
  let passes = 0;
  const t0 = performance.now();
  do {
    for (const t of items) fn(t);
    passes++;
  } while (performance.now() - t0 < minMs);
  return (performance.now() - t0) / 1000 / passes;
}

const tok = new WordPieceTokenizer(vocab);
const pieces = texts.reduce((a, t) => a + tok.encode(t).length, 0);
// The naive baseline is slow: time it on a slice, and check it gives the same ids.
const slice = texts.slice(0, 300);
const slicePieces = slice.reduce((a, t) => a + tok.encode(t).length, 0);
for (const t of slice) {
  const a = tok.encode(t).join(',');
  if (naiveEncode(t).join(',') !== a) throw new Error(`the naive baseline disagrees with the tokenizer on "${t.slice(0, 60)}"`);
}
const map = new Map(vocab.map((p, i) => [p, i]));

const rows: { name: string; pps: number }[] = [];
rows.push({ name: 'ours: encode (Map + word cache)', pps: pieces / time(texts, (t) => tok.encode(t)) });
rows.push({ name: 'ours: encodeWithOffsets (no cache)', pps: pieces / time(texts, (t) => tok.encodeWithOffsets(t)) });
rows.push({ name: 'naive greedy (vocab.indexOf scans)', pps: slicePieces / time(slice, naiveEncode) });
rows.push({ name: 'split + Map (floor, not a tokenizer)', pps: pieces / time(texts, (t) => splitAndMap(map, t)) });

const t0 = performance.now();
const trained = WordPieceTokenizer.train(texts, { vocabSize: 8192 });
const trainSeconds = (performance.now() - t0) / 1000;

const naive = rows[2].pps;
console.log(
  `\nTokenizer benchmark: ${passages.length} passages of public/corpus/default (${(chars / 1e6).toFixed(2)} M characters, ${pieces} wordpieces), vocabulary ${vocab.length}; Node ${process.version}\n`,
);
console.log('| encoder | wordpieces/s | vs naive |');
console.log('| --- | --- | --- |');
for (const r of rows) console.log(`| ${r.name} | ${Math.round(r.pps).toLocaleString('en')} | ${(r.pps / naive).toFixed(1)}x |`);
console.log(
  `\nTraining ${trained.size} pieces on the same ${(chars / 1e6).toFixed(2)} M characters: ${trainSeconds.toFixed(1)} s`,
);
