// What `npm run finetune` and `npm run eval:qa` share: the tfjs backend, a checkpoint with the
// vocabulary to read it with, the evidence passages of its corpus folder, and the question files
// (NQ-open jsonl or DPR tsv, src/corpus/qa-file.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-wasm';
import type { QaItem } from '../src/corpus/corpus-format';
import { parseQaFile } from '../src/corpus/qa-file';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { checkpointConfig } from '../src/model/checkpoint';
import { withConfigDefaults, type RealmConfig } from '../src/model/config';
import { qaEvidence, type QaEvidence } from '../src/model/qa-retrieval';
import type { RealmCheckpoint } from '../src/model/trainer';
import { CliArgsError } from './cli-args';
import { checkpointVocabFile, readCheckpoint } from './checkpoint-files';
import { loadCorpusDir } from './corpus-loader';

/** A checkpoint given as PATH (PATH.json + PATH.bin) or as the folder npm run finetune --out wrote (DIR/checkpoint). */
export function checkpointPath(path: string): string {
  return existsSync(path) && statSync(path).isDirectory() ? join(path, 'checkpoint') : path;
}

export interface QaSetup {
  path: string;
  checkpoint: RealmCheckpoint;
  config: RealmConfig;
  tokenizer: WordPieceTokenizer;
  corpusDir: string;
  evidence: QaEvidence;
}

/** The checkpoint at `path`, its vocabulary, and the evidence: the passages of `corpus` (default: the checkpoint's corpus). */
export function loadQaSetup(path: string, corpus?: string): QaSetup {
  const at = checkpointPath(path);
  const checkpoint = readCheckpoint(at);
  const config = withConfigDefaults(checkpointConfig(checkpoint));
  const corpusDir = corpus ?? (checkpoint.extra?.corpus as string | undefined);
  if (!corpusDir || corpusDir.startsWith('synthetic'))
    throw new CliArgsError('give the corpus folder whose passages are the evidence: --corpus DIR');
  const vocabFile = checkpointVocabFile(at) ?? join(corpusDir, 'vocab.txt');
  const tokenizer = WordPieceTokenizer.fromText(readFileSync(vocabFile, 'utf8'));
  if (tokenizer.size !== config.vocabSize)
    throw new CliArgsError(
      `${vocabFile} has ${tokenizer.size} pieces but the model reads ${config.vocabSize}: put the model's vocab.txt beside the checkpoint`,
    );
  const { passages } = loadCorpusDir(corpusDir, tokenizer);
  return { path: at, checkpoint, config, tokenizer, corpusDir, evidence: qaEvidence(passages, tokenizer, config.maxDocLength) };
}

/** The questions of a file (NQ-open jsonl or DPR's tsv); a missing or empty file is an error. */
export function readQaFile(file: string): QaItem[] {
  if (!existsSync(file)) throw new CliArgsError(`${file} does not exist`);
  const items = parseQaFile(readFileSync(file, 'utf8'), file);
  if (items.length === 0) throw new CliArgsError(`${file} holds no questions`);
  return items;
}
