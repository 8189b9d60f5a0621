// A shipped warm start (public/warmstart/<name>/, made by `npm run build:warmstart`): REALM's starting
// point as the paper's is (a pre-trained reader, an ICT-trained retriever, BERT's one vocabulary).
//
//   manifest.json     WarmStartManifest: preset, config, vocabulary hash, data, steps, seed, wall time,
//                     the metrics at the end, and each file's size and SHA-256
//   checkpoint.json   realm-checkpoint-1 header (weights only, float16; see checkpoint.ts)
//   checkpoint.bin    the weights
//   vocab.txt         the model's WordPiece vocabulary, one piece per line, id = line number
//
// `openWarmStart` checks every file against the manifest before anything is used, so a truncated or
// altered download is refused with the file's name, never trained on. Pure: the caller reads the
// bytes (fetch in the page, fs in Node).
import type { NamedWeights } from './bert';
import { decodeCheckpoint } from './checkpoint';
import type { RealmCheckpoint } from './trainer';
import type { RealmConfig } from './config';

export const WARM_START_FILES = ['manifest.json', 'checkpoint.json', 'checkpoint.bin', 'vocab.txt'] as const;

/** Recall@k of one retriever on a bundled corpus's held-out cloze sentences. */
export interface RetrievalRecall {
  /** Share whose gold passage (its own, read and searched without the sentence) is in the top k; null for none. */
  gold: number | null;
  /** Share with a passage holding the answer (normalised substring on word boundaries) in the top k. */
  answer: number | null;
}

/** What the warm start does on one bundled corpus (`npm run eval` on its cloze.jsonl). */
export interface CorpusRecall {
  corpus: string;
  passages: number;
  queries: number;
  k: number;
  dense: RetrievalRecall;
  bm25: RetrievalRecall;
  chance: RetrievalRecall;
  /** Cloze exact match with retrieval (k documents and the null one) and with the null document alone. */
  exactMatch: number | null;
  exactMatchNullOnly: number | null;
}

export interface WarmStartManifest {
  format: 'realm-warmstart-1';
  preset: string;
  /** The config the warm start trained with (a run takes its model sizes and vocabulary from it). */
  config: RealmConfig;
  vocabulary: { file: string; pieces: number; hash: string; source: string };
  /** What the warm start learned from and what was kept out (warmstart-text.ts's report). */
  data: Record<string, unknown>;
  steps: { ict: number; mlm: number };
  seed: number;
  wallTimeSeconds: number;
  backend: string;
  metrics: { ictRecallAt1: number; ictRecallAt5: number; corpora: CorpusRecall[] };
  files: Record<string, { bytes: number; sha256: string }>;
}

/** A warm start that cannot be used (a missing, truncated or altered file); the message names it. */
export class WarmStartError extends Error {
  constructor(message: string) {
    super(`${message}. Reload the page to fetch the warm start again, or start the run cold.`);
    this.name = 'WarmStartError';
  }
}

export interface WarmStart {
  manifest: WarmStartManifest;
  config: RealmConfig;
  /** The model's vocabulary (tokenize a corpus with it before training from these weights). */
  vocab: string[];
  weights: NamedWeights;
  /** The decoded checkpoint (weights only), for initArchitecture / initModelWeights. */
  checkpoint: RealmCheckpoint;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Checks the files against the manifest and decodes them. */
export async function openWarmStart(files: {
  manifest: string;
  checkpointHeader: Uint8Array;
  checkpointData: Uint8Array;
  vocab: Uint8Array;
}): Promise<WarmStart> {
  let manifest: WarmStartManifest;
  try {
    manifest = JSON.parse(files.manifest) as WarmStartManifest;
  } catch {
    throw new WarmStartError('manifest.json is not JSON');
  }
  if (manifest.format !== 'realm-warmstart-1' || !manifest.files || !manifest.config)
    throw new WarmStartError(`manifest.json is not a warm start manifest (format ${String(manifest.format)})`);
  const named: [string, Uint8Array][] = [
    ['checkpoint.json', files.checkpointHeader],
    ['checkpoint.bin', files.checkpointData],
    ['vocab.txt', files.vocab],
  ];
  for (const [name, bytes] of named) {
    const want = manifest.files[name];
    if (!want) throw new WarmStartError(`manifest.json lists no ${name}`);
    if (bytes.byteLength !== want.bytes)
      throw new WarmStartError(`${name} has ${bytes.byteLength} bytes where the manifest says ${want.bytes}`);
    if ((await sha256Hex(bytes)) !== want.sha256) throw new WarmStartError(`${name} does not match its SHA-256 in the manifest`);
  }
  const text = new TextDecoder();
  const checkpoint = decodeCheckpoint(text.decode(files.checkpointHeader), files.checkpointData);
  const vocab = text
    .decode(files.vocab)
    .split('\n')
    .filter((l, i, all) => l !== '' || i < all.length - 1);
  if (vocab.length !== manifest.vocabulary.pieces)
    throw new WarmStartError(`vocab.txt has ${vocab.length} pieces where the manifest says ${manifest.vocabulary.pieces}`);
  return { manifest, config: manifest.config, vocab, weights: checkpoint.weights, checkpoint };
}
