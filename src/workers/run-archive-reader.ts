// Reads and checks a run archive (`<runId>.realm.zip`, layout in run-archive-format.ts) without storing
// anything, in the run-archive-reader worker so that no file can block the page. Nothing is trusted:
//   1. the zip's central directory is walked first (entry count, sizes, names; run-archive-zip.ts);
//   2. manifest.json is inflated alone, and every other entry must be listed there with the size the
//      directory declares: an unlisted entry, or a size that differs, is refused before it is inflated;
//   3. the JSON entries are inflated and checked: the run's config through validateConfig (the bounds the
//      URL has), the refresh policy and intervals, the log lines, the vocabulary against the config;
//   4. every checkpoint buffer is checked against the model that config builds (name, shape, bytes; the
//      AdamW slots by the weight they belong to) before the buffers are inflated; then their checksums,
//      and every value must be finite. A fine-tuned checkpoint is checked the same way against the
//      model with ORQA's span head.
import * as Comlink from 'comlink';
import { strFromU8 } from 'fflate';
import { RealmConfigError, validateConfig, withConfigDefaults, type RealmConfig } from '../model/config';
import { modelWeightShapes, optimizerSlotShape } from '../model/weight-shapes';
import type { CheckpointRecord, RunLogRecord, RunRecord } from '../storage/db';
import {
  crc32,
  fromJson,
  RUN_ARCHIVE_FORMAT,
  RUN_ARCHIVE_VERSION,
  RunArchiveError,
  type RunArchive,
  type RunArchiveManifest,
  type RunArchiveProblem,
} from './run-archive-format';
import { REFRESH_POLICIES } from './refresh-policy';
import { inflateEntries, listZipEntries, MAX_ZIP_ENTRIES, type ZipEntry } from './run-archive-zip';

const MiB = 2 ** 20;
/** The most each JSON entry may unpack to (a BERT-base run's log of a million steps is about 300 MiB). */
const JSON_CAPS: Record<string, number> = {
  'manifest.json': 16 * MiB,
  'run.json': 4 * MiB,
  'checkpoint/manifest.json': 16 * MiB,
  'vocab.json': 64 * MiB,
  'metrics.jsonl': 512 * MiB,
  'finetune/manifest.json': 16 * MiB,
};
/** The largest checkpointEvery / evalEvery a stored run can have. */
const MAX_INTERVAL = 10_000_000;
/** Entry paths: plain names in folders, never an object's own keys. */
const SAFE_PATH = /^[\w.-]+(?:\/[\w.-]+)*$/;
const FORBIDDEN_SEGMENT = /(?:^|\/)(?:__proto__|constructor|prototype)(?:\/|$)/;
// 'finetune': Open-QA fine-tuning (src/model/qa-finetune.ts), whose model has the span head of a spanReader config.
const PHASES = ['ict', 'mlm', 'realm', 'done', 'finetune'];

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min = 0): v is number => Number.isInteger(v) && (v as number) >= min;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const RUN_STATUSES: readonly RunRecord['status'][] = ['running', 'paused', 'stopped', 'done', 'failed'];

function corrupt(path: string, what: string): never {
  throw new RunArchiveError('corrupt-entry', `In this run archive, ${path} ${what}.`);
}

function missing(detail: string): never {
  throw new RunArchiveError('missing-entry', detail);
}

function parseJsonEntry(path: string, data: Uint8Array): unknown {
  try {
    return fromJson(strFromU8(data));
  } catch {
    return corrupt(path, 'is not valid JSON');
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
  if (m.entries.length > MAX_ZIP_ENTRIES) corrupt('manifest.json', `lists more than ${MAX_ZIP_ENTRIES} entries`);
  const seen = new Set<string>();
  for (const e of m.entries as unknown[]) {
    if (!isObject(e) || typeof e.path !== 'string' || !isInt(e.bytes) || !isInt(e.crc32))
      corrupt('manifest.json', 'lists an entry without path, size or CRC');
    if (!SAFE_PATH.test(e.path) || FORBIDDEN_SEGMENT.test(e.path))
      corrupt('manifest.json', `lists an entry with a name no run archive has (${JSON.stringify(e.path).slice(0, 80)})`);
    if (seen.has(e.path) || e.path === 'manifest.json') corrupt('manifest.json', `lists ${e.path} twice`);
    seen.add(e.path);
  }
  return m as unknown as RunArchiveManifest;
}

/** run.json's settings: a config this app can train, a known refresh policy, sane intervals. */
function checkSettings(v: unknown, corpusId: string): RealmConfig {
  const path = 'run.json';
  if (!isObject(v)) return corrupt(path, 'has no run settings');
  if (!isObject(v.config)) return corrupt(path, 'has no model config');
  const config = withConfigDefaults(v.config as unknown as RealmConfig);
  try {
    validateConfig(config);
  } catch (e) {
    if (e instanceof RealmConfigError) corrupt(path, `has a config this app cannot train (${e.message})`);
    throw e;
  }
  if (!(REFRESH_POLICIES as readonly unknown[]).includes(v.policy))
    corrupt(path, `has an unknown refresh policy "${String(v.policy)}"`);
  for (const key of ['checkpointEvery', 'evalEvery'] as const) {
    const n = v[key];
    if (!isInt(n) || n > MAX_INTERVAL) corrupt(path, `has an invalid ${key} (${String(n)})`);
  }
  if (v.corpusId !== undefined && v.corpusId !== corpusId) corrupt(path, 'names another corpus in its settings');
  return config;
}

function checkRun(v: unknown, manifest: RunArchiveManifest): { run: RunRecord; config: RealmConfig } {
  const path = 'run.json';
  if (!isObject(v)) return corrupt(path, 'is not a run record');
  if (v.id !== manifest.runId) corrupt(path, `is for run ${String(v.id)}, but the manifest says ${manifest.runId}`);
  if (v.corpusId !== manifest.corpusId) corrupt(path, 'names another corpus than the manifest');
  if (!isFiniteNumber(v.createdAt) || !isFiniteNumber(v.updatedAt)) corrupt(path, 'has no valid dates');
  if (!RUN_STATUSES.includes(v.status as RunRecord['status'])) corrupt(path, `has an unknown status "${String(v.status)}"`);
  if (!isInt(v.step)) corrupt(path, 'has no valid step');
  if (v.finalMetrics !== undefined) {
    if (!isObject(v.finalMetrics) || Object.values(v.finalMetrics).some((x) => typeof x !== 'number'))
      corrupt(path, 'has invalid final metrics');
  }
  const config = checkSettings(v.config, manifest.corpusId);
  return { run: v as unknown as RunRecord, config };
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

function checkVocab(v: unknown, corpusId: string, config: RealmConfig): { corpusId: string; tokens: string[] } {
  if (!isObject(v) || !Array.isArray(v.tokens) || !v.tokens.every((t) => typeof t === 'string'))
    return corrupt('vocab.json', 'is not a vocabulary');
  if (v.corpusId !== corpusId) corrupt('vocab.json', 'belongs to another corpus than the run');
  if (v.tokens.length > config.vocabSize)
    corrupt('vocab.json', `has ${v.tokens.length} wordpieces, more than the config's vocabSize (${config.vocabSize})`);
  return { corpusId, tokens: v.tokens as string[] };
}

interface PlannedBuffer {
  name: string;
  shape: number[];
  path: string;
}

/** A checkpoint's manifest (`path`) against the model of `config`; says which entries hold which buffer. */
function checkCheckpointManifest(
  path: string,
  v: unknown,
  config: RealmConfig,
  listed: ReadonlyMap<string, { bytes: number }>,
): { head: Omit<CheckpointRecord, 'weights' | 'optimizer' | 'runId'>; weights: PlannedBuffer[]; optimizer: PlannedBuffer[] } {
  if (!isObject(v)) return corrupt(path, 'is not a checkpoint manifest');
  if (!isInt(v.step) || !isFiniteNumber(v.createdAt) || typeof v.phase !== 'string' || !isInt(v.indexVersion)) {
    corrupt(path, 'lacks the step, phase, date or index version');
  }
  if (!PHASES.includes(v.phase as string)) corrupt(path, `has an unknown phase "${String(v.phase)}"`);
  if (!Array.isArray(v.rngState) || v.rngState.length !== 4 || !v.rngState.every((x) => isInt(x) && x < 2 ** 32))
    corrupt(path, 'has no valid RNG state (four 32-bit words)');
  if (v.extra !== undefined && !isObject(v.extra)) corrupt(path, 'has invalid extra fields');
  const model = modelWeightShapes(config);
  const plan = (key: 'weights' | 'optimizer'): PlannedBuffer[] => {
    const list = v[key];
    if (!Array.isArray(list)) return corrupt(path, `does not list the ${key}`);
    const names = new Set<string>();
    return list.map((b: unknown) => {
      if (!isObject(b) || typeof b.name !== 'string' || !Array.isArray(b.shape) || typeof b.path !== 'string')
        return corrupt(path, `has an invalid ${key} entry`);
      const name = b.name.slice(0, 200);
      if (names.has(name)) corrupt(path, `lists the ${key} buffer ${name} twice`);
      names.add(name);
      if (b.dtype !== 'float32') corrupt(path, `gives ${name} the dtype ${String(b.dtype)}; only float32 is supported`);
      const expected = key === 'weights' ? model.get(name) : optimizerSlotShape(model, name);
      if (!expected)
        corrupt(path, `lists ${key === 'weights' ? 'a weight' : 'an optimiser slot'} ${name} that the run's model does not have`);
      const shape = b.shape as unknown[];
      if (shape.length !== expected.length || shape.some((d, i) => d !== expected[i]))
        corrupt(
          path,
          `gives ${name} the shape [${shape.map(String).join(', ')}]; the run's config needs [${expected.join(', ')}]`,
        );
      const entry = listed.get(b.path);
      if (!entry) missing(`The checkpoint buffer ${b.path} (${name}) is missing from this run archive.`);
      const bytes = 4 * expected.reduce((a, d) => a * d, 1);
      if (entry.bytes !== bytes || b.bytes !== bytes)
        corrupt(b.path, `holds ${entry.bytes} bytes, but ${name} of shape [${expected.join(', ')}] needs ${bytes}`);
      return { name, shape: expected, path: b.path };
    });
  };
  const weights = plan('weights');
  const absent = [...model.keys()].filter((n) => !weights.some((w) => w.name === n));
  if (absent.length > 0) corrupt(path, `lacks ${absent.length} of the model's weights (first: ${absent[0]})`);
  return {
    head: {
      step: v.step as number,
      createdAt: v.createdAt as number,
      phase: v.phase as string,
      rngState: v.rngState as number[],
      indexVersion: v.indexVersion as number,
      ...(v.extra !== undefined ? { extra: v.extra as Record<string, unknown> } : {}),
    },
    weights,
    optimizer: plan('optimizer'),
  };
}

/** Inflates `names` and checks each against the manifest's checksum. */
function inflateChecked(bytes: Uint8Array, names: string[], manifest: ReadonlyMap<string, { crc32: number }>) {
  const files = inflateEntries(bytes, new Set(names));
  for (const name of names) {
    const data = files.get(name);
    if (!data) missing(`The entry ${name} could not be read from this run archive.`);
    if (crc32(data) !== manifest.get(name)!.crc32) corrupt(name, 'does not match its checksum');
  }
  return files;
}

/** Unpacks and checks a run archive without storing anything; throws RunArchiveError on any problem. */
export function readRunArchive(bytes: Uint8Array): RunArchive {
  const entries = new Map<string, ZipEntry>(listZipEntries(bytes).map((e) => [e.name, e]));
  const sizeCap = (name: string) => {
    const e = entries.get(name);
    if (e && e.size > JSON_CAPS[name]) throw new RunArchiveError('too-large', `Its ${name} unpacks to ${e.size} bytes.`);
  };
  if (!entries.has('manifest.json'))
    throw new RunArchiveError('foreign', 'This zip file has no manifest.json, so it is not a run exported by this app.');
  sizeCap('manifest.json');
  const manifestBytes = inflateEntries(bytes, new Set(['manifest.json'])).get('manifest.json');
  if (!manifestBytes) missing('The manifest.json of this run archive could not be read.');
  const manifest = checkManifest(parseJsonEntry('manifest.json', manifestBytes));
  const listed = new Map(manifest.entries.map((e) => [e.path, e]));
  // Every entry is listed, with the size the zip declares, before anything else is inflated.
  for (const [name, e] of entries) {
    if (name === 'manifest.json') continue;
    const l = listed.get(name);
    if (!l) corrupt(name.slice(0, 200), 'is not listed in the manifest');
    if (e.size !== l.bytes) corrupt(name, `has ${e.size} bytes where the manifest says ${l.bytes}`);
  }
  for (const e of manifest.entries)
    if (!entries.has(e.path)) missing(`The entry ${e.path} listed in the manifest is missing from this run archive.`);
  for (const required of ['run.json', 'metrics.jsonl'])
    if (!entries.has(required)) missing(`This run archive has no ${required}.`);
  const jsonNames = Object.keys(JSON_CAPS).filter((n) => n !== 'manifest.json' && entries.has(n));
  jsonNames.forEach(sizeCap);
  const json = inflateChecked(bytes, jsonNames, listed);
  const { run, config } = checkRun(parseJsonEntry('run.json', json.get('run.json')!), manifest);
  const logs = checkLogs(json.get('metrics.jsonl')!, run.id);
  const vocabBytes = json.get('vocab.json');
  const vocab = vocabBytes ? checkVocab(parseJsonEntry('vocab.json', vocabBytes), run.corpusId, config) : null;
  // The checkpoint (and a fine-tuned one) under `root`, its buffers checked against the model of `c`.
  const readCheckpoint = (root: string, c: RealmConfig): CheckpointRecord | null => {
    const path = `${root}/manifest.json`;
    const ck = json.get(path);
    if (!ck) return null;
    const plan = checkCheckpointManifest(path, parseJsonEntry(path, ck), c, listed);
    const all = [...plan.weights, ...plan.optimizer];
    const bins = inflateChecked(
      bytes,
      all.map((b) => b.path),
      listed,
    );
    const buffers = (list: PlannedBuffer[]): CheckpointRecord['weights'] =>
      list.map((b) => {
        const data = bins.get(b.path)!;
        const floats = new Float32Array(data.slice().buffer);
        for (let i = 0; i < floats.length; i++)
          if (!Number.isFinite(floats[i])) corrupt(b.path, `holds a value that is not a finite number (${b.name}, element ${i})`);
        return { name: b.name, shape: b.shape, data: floats.buffer };
      });
    return { runId: run.id, ...plan.head, weights: buffers(plan.weights), optimizer: buffers(plan.optimizer) };
  };
  const checkpoint = readCheckpoint('checkpoint', config);
  // Fine-tuning's model is the run's with ORQA's span head (spanReader); its phase says so.
  const finetune = readCheckpoint('finetune', { ...config, spanReader: true });
  if (finetune && finetune.phase !== 'finetune')
    corrupt('finetune/manifest.json', `has the phase "${finetune.phase}"; a fine-tuned checkpoint's is "finetune"`);
  if ((checkpoint?.step ?? null) !== manifest.checkpointStep) {
    if (!checkpoint) missing(`The checkpoint at step ${manifest.checkpointStep} is missing from this run archive.`);
    corrupt(
      'checkpoint/manifest.json',
      `is for step ${checkpoint.step}, but the manifest says ${String(manifest.checkpointStep)}`,
    );
  }
  return { manifest, run, logs, checkpoint, vocab, finetune };
}

/** What the worker answers: the archive (its buffers transferred), or why it was refused. */
export type RunArchiveReading =
  | { ok: true; archive: RunArchive }
  | { ok: false; problem: RunArchiveProblem; detail: string }
  | { ok: false; problem: null; detail: string };

/** The run-archive reader worker's API (Comlink). */
export class RunArchiveReader {
  read(bytes: Uint8Array): RunArchiveReading {
    try {
      const archive = readRunArchive(bytes);
      const buffers = [archive.checkpoint, archive.finetune].flatMap((c) =>
        [...(c?.weights ?? []), ...(c?.optimizer ?? [])].map((w) => w.data),
      );
      return Comlink.transfer({ ok: true, archive }, buffers);
    } catch (e) {
      if (e instanceof RunArchiveError) return { ok: false, problem: e.problem, detail: e.detail };
      return { ok: false, problem: null, detail: e instanceof Error ? e.message : String(e) };
    }
  }
}
