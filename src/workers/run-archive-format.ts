// The run archive's format, shared by the writer (src/app/run-archive.ts) and the reader worker
// (run-archive-reader.ts): its name and version, the manifest types, the errors an import can end in,
// JSON that keeps NaN, ±Infinity and -0, and the zip CRC-32. Layout:
//   manifest.json            format, version, run and corpus ids, and every other entry with its size and CRC-32
//   run.json                 the run record: settings (config, refresh policy, ...), status, step, final metrics
//   metrics.jsonl            the run log, one {seq, kind, record} per line: steps, refreshes, builds, evals, and the inspector's pin (pin, pin-point)
//   checkpoint/manifest.json the latest checkpoint: step, phase, RNG state, index version, and for every weight
//                            and optimiser slot its name, shape, dtype and .bin entry
//   checkpoint/weights/NNNN.bin, checkpoint/optimizer/NNNN.bin   raw little-endian float32 buffers
//   vocab.json               the corpus vocabulary the run was trained with (wordpieces in id order)
//   finetune/manifest.json, finetune/weights/NNNN.bin, finetune/optimizer/NNNN.bin
//                            the run's Open-QA fine-tuned checkpoint (phase finetune, the span head's
//                            weights beside the encoders'), laid out as checkpoint/; only when it has one
import type { CheckpointRecord, RunLogRecord, RunRecord } from '../storage/db';

export const RUN_ARCHIVE_FORMAT = 'realm-webgpu-run';
export const RUN_ARCHIVE_VERSION = 1;
export const RUN_ARCHIVE_SUFFIX = '.realm.zip';
/** Refuse archives that would inflate past this (a zip bomb, or a file that is not ours). */
export const MAX_UNPACKED_BYTES = 2 ** 31;

export type RunArchiveProblem = 'not-a-zip' | 'foreign' | 'newer-version' | 'missing-entry' | 'corrupt-entry' | 'too-large';

/** A file that is not a run archive this app can read, or one that is damaged. Nothing was stored. */
export class RunArchiveError extends Error {
  constructor(
    readonly problem: RunArchiveProblem,
    /** What is wrong, without the advice (the worker sends this back; the message is rebuilt from it). */
    readonly detail: string,
  ) {
    super(`${detail} Nothing was imported. ${ADVICE[problem]}`);
    this.name = 'RunArchiveError';
  }
}

const ADVICE: Record<RunArchiveProblem, string> = {
  'not-a-zip': 'Pick a .realm.zip file exported from the Runs panel.',
  foreign: 'Pick a .realm.zip file exported from the Runs panel; other zip files cannot be imported.',
  'newer-version': 'Open it with a newer version of this app.',
  'missing-entry': 'The file is incomplete: export the run again.',
  'corrupt-entry': 'The file is damaged: export the run again, or copy it again.',
  'too-large': 'The file is too large to import in a browser tab.',
};

export interface EntryInfo {
  path: string;
  bytes: number;
  crc32: number;
}

export interface RunArchiveManifest {
  format: typeof RUN_ARCHIVE_FORMAT;
  version: number;
  runId: string;
  corpusId: string;
  exportedAt: string;
  /** Step of the exported checkpoint, or null when the run had none. */
  checkpointStep: number | null;
  entries: EntryInfo[];
}

export interface BufferInfo {
  name: string;
  shape: number[];
  dtype: 'float32';
  path: string;
  bytes: number;
}

export interface CheckpointManifest {
  step: number;
  createdAt: number;
  phase: string;
  rngState: number[];
  indexVersion: number;
  extra?: Record<string, unknown>;
  weights: BufferInfo[];
  optimizer: BufferInfo[];
}

/** The contents of a run archive, checked. */
export interface RunArchive {
  manifest: RunArchiveManifest;
  run: RunRecord;
  logs: RunLogRecord[];
  checkpoint: CheckpointRecord | null;
  vocab: { corpusId: string; tokens: string[] } | null;
  /** The run's Open-QA fine-tuned checkpoint (RealmStore.getFinetuneCheckpoint), when it has one. */
  finetune: CheckpointRecord | null;
}

export const archiveFileName = (runId: string) => `${runId.replace(/[^\w.-]+/g, '_')}${RUN_ARCHIVE_SUFFIX}`;

// ---- JSON that keeps NaN, ±Infinity and -0 (warm-up steps log NaN for the REALM-only metrics) ----
const FLOAT_TAG = '$float';
const SPECIAL = new Set(['NaN', 'Infinity', '-Infinity', '-0']);

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)))
      return { [FLOAT_TAG]: Object.is(v, -0) ? '-0' : String(v) };
    return v;
  });
}

export function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tag = (v as Record<string, unknown>)[FLOAT_TAG];
      if (keys.length === 1 && typeof tag === 'string' && SPECIAL.has(tag)) return tag === '-0' ? -0 : Number(tag);
    }
    return v;
  });
}

// ---- CRC-32 (IEEE 802.3, the zip polynomial): fflate writes one per entry but does not check it on unzip ----
let crcTable: Uint32Array | null = null;
export function crc32(data: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  const t = crcTable;
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
