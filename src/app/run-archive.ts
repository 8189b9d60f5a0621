// A stored run as one zip file (`<runId>.realm.zip`), and back. Layout:
//   manifest.json            format, version, run and corpus ids, and every other entry with its size and CRC-32
//   run.json                 the run record: settings (config, refresh policy, ...), status, step, final metrics
//   metrics.jsonl            the run log, one {seq, kind, record} per line: steps, refreshes, builds, evals, and the inspector's pin (pin, pin-point)
//   checkpoint/manifest.json the latest checkpoint: step, phase, RNG state, index version, and for every weight
//                            and optimiser slot its name, shape, dtype and .bin entry
//   checkpoint/weights/NNNN.bin, checkpoint/optimizer/NNNN.bin   raw little-endian float32 buffers
//   vocab.json               the corpus vocabulary the run was trained with (wordpieces in id order)
// Import checks the manifest and every entry before writing anything, and never overwrites a stored run.
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { RunExistsError, type CheckpointRecord, type RealmStore, type RunLogRecord, type RunRecord } from '../storage/db';

const RUN_ARCHIVE_FORMAT = 'realm-webgpu-run';
export const RUN_ARCHIVE_VERSION = 1;
export const RUN_ARCHIVE_SUFFIX = '.realm.zip';
/** Refuse archives that would inflate past this (a zip bomb, or a file that is not ours). */
const MAX_UNPACKED_BYTES = 2 ** 31;

export type RunArchiveProblem = 'not-a-zip' | 'foreign' | 'newer-version' | 'missing-entry' | 'corrupt-entry' | 'too-large';

/** A file that is not a run archive this app can read, or one that is damaged. Nothing was stored. */
export class RunArchiveError extends Error {
  constructor(
    readonly problem: RunArchiveProblem,
    detail: string,
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

/** A run has nothing to export (it is gone, or was never saved). */
export class RunNotFoundError extends Error {
  constructor(runId: string) {
    super(`Run ${runId} is not in this browser's storage any more, so it cannot be exported. Refresh the list of runs.`);
    this.name = 'RunNotFoundError';
  }
}

interface EntryInfo {
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

interface BufferInfo {
  name: string;
  shape: number[];
  dtype: 'float32';
  path: string;
  bytes: number;
}

interface CheckpointManifest {
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
interface RunArchive {
  manifest: RunArchiveManifest;
  run: RunRecord;
  logs: RunLogRecord[];
  checkpoint: CheckpointRecord | null;
  vocab: { corpusId: string; tokens: string[] } | null;
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

// ---- export ----

/** Packs a stored run (record, log, latest checkpoint, vocabulary) into the bytes of one zip file. */
export async function exportRunArchive(store: RealmStore, runId: string, now = new Date()): Promise<Uint8Array> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  const [logs, checkpoint, corpusVocab, runVocab] = await Promise.all([
    store.getRunLogs(runId),
    store.latestCheckpoint(runId),
    store.getVocab(run.corpusId),
    store.getRunVocab(runId),
  ]);
  // The vocabulary kept with an imported run is the one it was trained with; else the corpus's own.
  const tokens = runVocab ?? corpusVocab?.tokens;

  const files = new Map<string, { data: Uint8Array; store: boolean }>();
  const add = (path: string, data: Uint8Array, storeOnly = false) => files.set(path, { data, store: storeOnly });
  add('run.json', strToU8(toJson(run)));
  add('metrics.jsonl', strToU8(logs.map((l) => toJson({ seq: l.seq, kind: l.kind, record: l.record }) + '\n').join('')));
  if (tokens) add('vocab.json', strToU8(JSON.stringify({ corpusId: run.corpusId, tokens })));
  if (checkpoint) {
    const buffers = (dir: string, ws: CheckpointRecord['weights']): BufferInfo[] =>
      ws.map((w, i) => {
        const path = `checkpoint/${dir}/${String(i).padStart(4, '0')}.bin`;
        // Float data barely compresses; store it as is, so export and import stay fast.
        add(path, new Uint8Array(w.data), true);
        return { name: w.name, shape: [...w.shape], dtype: 'float32', path, bytes: w.data.byteLength };
      });
    const cm: CheckpointManifest = {
      step: checkpoint.step,
      createdAt: checkpoint.createdAt,
      phase: checkpoint.phase,
      rngState: checkpoint.rngState,
      indexVersion: checkpoint.indexVersion,
      ...(checkpoint.extra !== undefined ? { extra: checkpoint.extra } : {}),
      weights: buffers('weights', checkpoint.weights),
      optimizer: buffers('optimizer', checkpoint.optimizer),
    };
    add('checkpoint/manifest.json', strToU8(toJson(cm)));
  }
  const manifest: RunArchiveManifest = {
    format: RUN_ARCHIVE_FORMAT,
    version: RUN_ARCHIVE_VERSION,
    runId: run.id,
    corpusId: run.corpusId,
    exportedAt: now.toISOString(),
    checkpointStep: checkpoint?.step ?? null,
    entries: [...files].map(([path, f]) => ({ path, bytes: f.data.byteLength, crc32: crc32(f.data) })),
  };
  const zippable: Zippable = { 'manifest.json': strToU8(JSON.stringify(manifest, null, 1)) };
  for (const [path, f] of files) zippable[path] = [f.data, { level: f.store ? 0 : 6 }];
  return zipSync(zippable, { mtime: now });
}

// ---- reading and checking ----

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => Number.isInteger(v) && (v as number) >= min;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const RUN_STATUSES: readonly RunRecord['status'][] = ['running', 'paused', 'stopped', 'done', 'failed'];

function corrupt(path: string, what: string): never {
  throw new RunArchiveError('corrupt-entry', `In this run archive, ${path} ${what}.`);
}

function parseJsonEntry(path: string, data: Uint8Array): unknown {
  try {
    return fromJson(strFromU8(data));
  } catch {
    return corrupt(path, 'is not valid JSON');
  }
}

function unzip(bytes: Uint8Array): Record<string, Uint8Array> {
  if (bytes.length < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new RunArchiveError('not-a-zip', 'This file is not a zip file.');
  }
  let total = 0;
  try {
    return unzipSync(bytes, {
      filter: (f) => {
        total += f.originalSize;
        if (total > MAX_UNPACKED_BYTES)
          throw new RunArchiveError('too-large', `This archive unpacks to more than ${MAX_UNPACKED_BYTES / 2 ** 30} GiB.`);
        // Folder entries and macOS resource forks, added when a zip is re-packed by hand, are skipped.
        return !f.name.endsWith('/') && !f.name.startsWith('__MACOSX/');
      },
    });
  } catch (e) {
    if (e instanceof RunArchiveError) throw e;
    throw new RunArchiveError('not-a-zip', `This file could not be unpacked as a zip file (${(e as Error).message}).`);
  }
}

function checkManifest(m: unknown): RunArchiveManifest {
  if (!isObject(m) || m.format !== RUN_ARCHIVE_FORMAT) {
    throw new RunArchiveError(
      'foreign',
      'This zip file is not a run exported by this app (its manifest.json is not a REALM run manifest).',
    );
  }
  if (!isInt(m.version, 1)) corrupt('manifest.json', 'has no valid format version');
  if (m.version > RUN_ARCHIVE_VERSION) {
    throw new RunArchiveError(
      'newer-version',
      `This run archive has format version ${m.version}; this app reads version ${RUN_ARCHIVE_VERSION}.`,
    );
  }
  if (typeof m.runId !== 'string' || m.runId === '' || typeof m.corpusId !== 'string')
    corrupt('manifest.json', 'lacks the run or corpus id');
  if (!(m.checkpointStep === null || isInt(m.checkpointStep))) corrupt('manifest.json', 'has an invalid checkpoint step');
  if (!Array.isArray(m.entries)) corrupt('manifest.json', 'does not list its entries');
  const seen = new Set<string>();
  for (const e of m.entries as unknown[]) {
    if (!isObject(e) || typeof e.path !== 'string' || !isInt(e.bytes) || !isInt(e.crc32))
      corrupt('manifest.json', 'lists an entry without path, size or CRC');
    if (seen.has(e.path) || e.path === 'manifest.json') corrupt('manifest.json', `lists ${e.path} twice`);
    seen.add(e.path);
  }
  return m as unknown as RunArchiveManifest;
}

function checkRun(v: unknown, manifest: RunArchiveManifest): RunRecord {
  const path = 'run.json';
  if (!isObject(v)) return corrupt(path, 'is not a run record');
  if (v.id !== manifest.runId) corrupt(path, `is for run ${String(v.id)}, but the manifest says ${manifest.runId}`);
  if (v.corpusId !== manifest.corpusId) corrupt(path, 'names another corpus than the manifest');
  if (!isFiniteNumber(v.createdAt) || !isFiniteNumber(v.updatedAt)) corrupt(path, 'has no valid dates');
  if (!isObject(v.config)) corrupt(path, 'has no config');
  if (!RUN_STATUSES.includes(v.status as RunRecord['status'])) corrupt(path, `has an unknown status "${String(v.status)}"`);
  if (!isInt(v.step)) corrupt(path, 'has no valid step');
  if (v.finalMetrics !== undefined) {
    if (!isObject(v.finalMetrics) || Object.values(v.finalMetrics).some((x) => typeof x !== 'number'))
      corrupt(path, 'has invalid final metrics');
  }
  return v as unknown as RunRecord;
}

function checkLogs(data: Uint8Array, runId: string): RunLogRecord[] {
  const path = 'metrics.jsonl';
  const seqs = new Set<number>();
  const logs: RunLogRecord[] = [];
  strFromU8(data)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      let v: unknown;
      try {
        v = fromJson(line);
      } catch {
        corrupt(path, `has a line that is not JSON (line ${i + 1})`);
      }
      if (!isObject(v) || !isInt(v.seq) || typeof v.kind !== 'string' || !isObject(v.record)) {
        corrupt(path, `has a line that is not a {seq, kind, record} log record (line ${i + 1})`);
      }
      if (seqs.has(v.seq)) corrupt(path, `repeats log record ${v.seq} (line ${i + 1})`);
      seqs.add(v.seq);
      logs.push({ runId, seq: v.seq, kind: v.kind, record: v.record });
    });
  return logs;
}

function checkCheckpoint(v: unknown, files: Record<string, Uint8Array>, runId: string): CheckpointRecord {
  const path = 'checkpoint/manifest.json';
  if (!isObject(v)) return corrupt(path, 'is not a checkpoint manifest');
  if (!isInt(v.step) || !isFiniteNumber(v.createdAt) || typeof v.phase !== 'string' || !isFiniteNumber(v.indexVersion)) {
    corrupt(path, 'lacks the step, phase, date or index version');
  }
  if (!Array.isArray(v.rngState) || !v.rngState.every(isFiniteNumber)) corrupt(path, 'has no valid RNG state');
  if (v.extra !== undefined && !isObject(v.extra)) corrupt(path, 'has invalid extra fields');
  const buffers = (key: 'weights' | 'optimizer'): CheckpointRecord['weights'] => {
    const list = v[key];
    if (!Array.isArray(list)) return corrupt(path, `does not list the ${key}`);
    const names = new Set<string>();
    return list.map((b: unknown) => {
      if (
        !isObject(b) ||
        typeof b.name !== 'string' ||
        !Array.isArray(b.shape) ||
        !b.shape.every((d) => isInt(d)) ||
        typeof b.path !== 'string'
      ) {
        return corrupt(path, `has an invalid ${key} entry`);
      }
      if (names.has(b.name)) corrupt(path, `lists the ${key} buffer ${b.name} twice`);
      names.add(b.name);
      if (b.dtype !== 'float32') corrupt(path, `gives ${b.name} the dtype ${String(b.dtype)}; only float32 is supported`);
      const data = files[b.path];
      if (!data)
        throw new RunArchiveError(
          'missing-entry',
          `The checkpoint buffer ${b.path} (${b.name}) is missing from this run archive.`,
        );
      const expected = 4 * (b.shape as number[]).reduce((a, d) => a * d, 1);
      if (data.byteLength !== expected || b.bytes !== expected)
        corrupt(
          b.path,
          `holds ${data.byteLength} bytes, but ${b.name} of shape [${(b.shape as number[]).join(', ')}] needs ${expected}`,
        );
      return { name: b.name, shape: b.shape as number[], data: data.slice().buffer };
    });
  };
  return {
    runId,
    step: v.step as number,
    createdAt: v.createdAt as number,
    phase: v.phase as string,
    weights: buffers('weights'),
    optimizer: buffers('optimizer'),
    rngState: v.rngState as number[],
    indexVersion: v.indexVersion as number,
    ...(v.extra !== undefined ? { extra: v.extra as Record<string, unknown> } : {}),
  };
}

function checkVocab(v: unknown, corpusId: string): { corpusId: string; tokens: string[] } {
  if (!isObject(v) || !Array.isArray(v.tokens) || !v.tokens.every((t) => typeof t === 'string'))
    return corrupt('vocab.json', 'is not a vocabulary');
  if (v.corpusId !== corpusId) corrupt('vocab.json', 'belongs to another corpus than the run');
  return { corpusId, tokens: v.tokens as string[] };
}

/** Unpacks and checks a run archive without storing anything; throws RunArchiveError on any problem. */
export function readRunArchive(bytes: Uint8Array): RunArchive {
  const files = unzip(bytes);
  const manifestBytes = files['manifest.json'];
  if (!manifestBytes) {
    throw new RunArchiveError('foreign', 'This zip file has no manifest.json, so it is not a run exported by this app.');
  }
  const manifest = checkManifest(parseJsonEntry('manifest.json', manifestBytes));
  const listed = new Set(manifest.entries.map((e) => e.path));
  for (const name of Object.keys(files)) {
    if (name !== 'manifest.json' && !listed.has(name)) corrupt(name, 'is not listed in the manifest');
  }
  for (const e of manifest.entries) {
    const data = files[e.path];
    if (!data)
      throw new RunArchiveError('missing-entry', `The entry ${e.path} listed in the manifest is missing from this run archive.`);
    if (data.byteLength !== e.bytes) corrupt(e.path, `has ${data.byteLength} bytes where the manifest says ${e.bytes}`);
    if (crc32(data) !== e.crc32) corrupt(e.path, 'does not match its checksum');
  }
  for (const required of ['run.json', 'metrics.jsonl']) {
    if (!files[required]) throw new RunArchiveError('missing-entry', `This run archive has no ${required}.`);
  }
  const run = checkRun(parseJsonEntry('run.json', files['run.json']), manifest);
  const logs = checkLogs(files['metrics.jsonl'], run.id);
  const ckBytes = files['checkpoint/manifest.json'];
  const checkpoint = ckBytes ? checkCheckpoint(parseJsonEntry('checkpoint/manifest.json', ckBytes), files, run.id) : null;
  if ((checkpoint?.step ?? null) !== manifest.checkpointStep) {
    if (!checkpoint)
      throw new RunArchiveError(
        'missing-entry',
        `The checkpoint at step ${manifest.checkpointStep} is missing from this run archive.`,
      );
    corrupt(
      'checkpoint/manifest.json',
      `is for step ${checkpoint.step}, but the manifest says ${String(manifest.checkpointStep)}`,
    );
  }
  const vocab = files['vocab.json'] ? checkVocab(parseJsonEntry('vocab.json', files['vocab.json']), run.corpusId) : null;
  return { manifest, run, logs, checkpoint, vocab };
}

// ---- import ----

export interface ImportResult {
  runId: string;
  /** The id in the archive, when the run was stored under a new id because that one was taken. */
  renamedFrom: string | null;
  corpusId: string;
  /** Whether the run's corpus is ready in this browser (only then can the run resume). */
  corpusPresent: boolean;
  /** Whether the archived vocabulary equals that corpus's vocabulary here; null when either is missing. */
  vocabMatches: boolean | null;
  step: number;
  checkpointStep: number | null;
}

/** A free id for a copy of `runId`: `<runId>-copy`, `<runId>-copy2`, ... */
async function freeRunId(store: RealmStore, runId: string): Promise<string> {
  for (let i = 1; ; i++) {
    const id = `${runId}-copy${i === 1 ? '' : i}`;
    if (!(await store.getRun(id))) return id;
  }
}

/** The same run under another id: the record, its settings, logs and checkpoint all carry the new id. */
function renamed(a: RunArchive, id: string): RunArchive {
  const config = typeof a.run.config.runId === 'string' ? { ...a.run.config, runId: id } : a.run.config;
  return {
    ...a,
    run: { ...a.run, id, config },
    logs: a.logs.map((l) => ({ ...l, runId: id })),
    checkpoint: a.checkpoint ? { ...a.checkpoint, runId: id } : null,
  };
}

/**
 * Checks an archive and stores its run in one transaction. When a run with the same id is stored,
 * `ifExists: 'fail'` (the default) throws RunExistsError and stores nothing; 'copy' stores it under a
 * new id. Never overwrites stored work.
 */
export async function importRunArchive(
  store: RealmStore,
  bytes: Uint8Array,
  opts: { ifExists?: 'fail' | 'copy' } = {},
): Promise<ImportResult> {
  let archive = readRunArchive(bytes);
  const originalId = archive.run.id;
  let renamedFrom: string | null = null;
  for (let attempt = 0; ; attempt++) {
    if (renamedFrom === null && opts.ifExists === 'copy' && (await store.getRun(archive.run.id))) {
      archive = renamed(archive, await freeRunId(store, originalId));
      renamedFrom = originalId;
    }
    try {
      await store.putRunBundle({
        run: archive.run,
        logs: archive.logs,
        checkpoints: archive.checkpoint ? [archive.checkpoint] : [],
        vocab: archive.vocab?.tokens,
      });
      break;
    } catch (e) {
      // Another tab took the id between the check and the write: pick the next free one.
      if (!(e instanceof RunExistsError) || opts.ifExists !== 'copy' || attempt >= 3) throw e;
      archive = renamed(archive, await freeRunId(store, originalId));
      renamedFrom = originalId;
    }
  }
  const [corpus, corpusVocab] = await Promise.all([store.getCorpus(archive.run.corpusId), store.getVocab(archive.run.corpusId)]);
  const vocabMatches =
    archive.vocab && corpusVocab
      ? archive.vocab.tokens.length === corpusVocab.tokens.length &&
        archive.vocab.tokens.every((t, i) => t === corpusVocab.tokens[i])
      : null;
  return {
    runId: archive.run.id,
    renamedFrom,
    corpusId: archive.run.corpusId,
    corpusPresent: corpus?.status === 'ready',
    vocabMatches,
    step: archive.run.step,
    checkpointStep: archive.checkpoint?.step ?? null,
  };
}
