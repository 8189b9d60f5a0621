// Checkpoints on disk for the CLIs (`npm run train`, `npm run eval`, the warm-start build): PATH.json
// (header) + PATH.bin (buffers) in src/model/checkpoint.ts's realm-checkpoint-1 format, and the
// model's vocabulary as vocab.txt in the same folder. `loadInit` is what `--init PATH` does: the
// checkpoint, its architecture, and the vocabulary to tokenize the corpus with when one lies beside it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint } from '../src/model/checkpoint';
import type { RealmCheckpoint } from '../src/model/trainer';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { vocabToText } from '../src/corpus/corpus-format';

/** PATH given as PATH, PATH.json or PATH.bin: the path without the extension. */
export function checkpointBase(path: string): string {
  return path.replace(/\.(json|bin)$/, '');
}

/** Reads PATH.json + PATH.bin; a missing file is an error that names it. */
export function readCheckpoint(path: string): RealmCheckpoint {
  const base = checkpointBase(path);
  for (const f of [`${base}.json`, `${base}.bin`])
    if (!existsSync(f)) throw new Error(`${f} is missing: a checkpoint is PATH.json + PATH.bin, as npm run train writes them`);
  return decodeCheckpoint(readFileSync(`${base}.json`, 'utf8'), readFileSync(`${base}.bin`));
}

/** The vocab.txt in the checkpoint's folder, or null when there is none. */
export function checkpointVocabFile(path: string): string | null {
  const f = join(dirname(checkpointBase(path)), 'vocab.txt');
  return existsSync(f) ? f : null;
}

/** SHA-256 of a vocabulary as vocab.txt spells it. */
export function vocabSha256(vocab: readonly string[]): string {
  return createHash('sha256').update(vocabToText(vocab), 'utf8').digest('hex');
}

/**
 * Writes PATH.json + PATH.bin and, beside them, the model's vocab.txt (refused when a different
 * vocab.txt is already there: two models with different vocabularies do not share a folder; null:
 * a model without a wordpiece vocabulary, the synthetic world's). Returns the bytes of PATH.bin.
 */
export function writeCheckpoint(path: string, c: RealmCheckpoint, vocab: readonly string[] | null): number {
  const base = checkpointBase(path);
  mkdirSync(dirname(base), { recursive: true });
  const vocabFile = join(dirname(base), 'vocab.txt');
  const text = vocab ? vocabToText(vocab) : null;
  if (text !== null && existsSync(vocabFile) && readFileSync(vocabFile, 'utf8') !== text)
    throw new Error(`${vocabFile} holds another vocabulary than this model's: write the checkpoint to another folder`);
  const { header, data } = encodeCheckpoint(c);
  writeFileSync(`${base}.json`, header);
  writeFileSync(`${base}.bin`, data);
  if (text !== null) writeFileSync(vocabFile, text);
  return data.byteLength;
}

export interface InitCheckpoint {
  checkpoint: RealmCheckpoint;
  /** The model's tokenizer (vocab.txt beside the checkpoint), or null: the corpus's own is used. */
  tokenizer: WordPieceTokenizer | null;
  vocabFile: string | null;
}

/** `--init PATH`: the checkpoint and, when a vocab.txt lies in its folder, the model's tokenizer. */
export function loadInit(path: string): InitCheckpoint {
  const checkpoint = readCheckpoint(path);
  const vocabFile = checkpointVocabFile(path);
  const tokenizer = vocabFile ? WordPieceTokenizer.fromText(readFileSync(vocabFile, 'utf8')) : null;
  return { checkpoint, tokenizer, vocabFile };
}
