// A stored run as one zip file (`<runId>.realm.zip`), and back. The layout and the checks on import are
// described in src/workers/run-archive-format.ts and run-archive-reader.ts: an archive is read and checked
// in a worker before anything is written, and a stored run is never overwritten.
import { strToU8, zipSync, type Zippable } from 'fflate';
import { RunExistsError, type CheckpointRecord, type RealmStore } from '../storage/db';
import {
  crc32,
  RUN_ARCHIVE_FORMAT,
  RUN_ARCHIVE_VERSION,
  toJson,
  type BufferInfo,
  type CheckpointManifest,
  type RunArchive,
  type RunArchiveManifest,
} from '../workers/run-archive-format';
import { readRunArchiveOffThread } from '../workers/run-archive-reader-client';

export {
  archiveFileName,
  RUN_ARCHIVE_SUFFIX,
  RUN_ARCHIVE_VERSION,
  RunArchiveError,
  type RunArchiveProblem,
} from '../workers/run-archive-format';

/** A run has nothing to export (it is gone, or was never saved). */
export class RunNotFoundError extends Error {
  constructor(runId: string) {
    super(`Run ${runId} is not in this browser's storage any more, so it cannot be exported. Refresh the list of runs.`);
    this.name = 'RunNotFoundError';
  }
}

// ---- export ----

/** Packs a stored run (record, log, latest checkpoint, vocabulary, fine-tuned checkpoint) into the bytes of one zip file. */
export async function exportRunArchive(store: RealmStore, runId: string, now = new Date()): Promise<Uint8Array> {
  const run = await store.getRun(runId);
  if (!run) throw new RunNotFoundError(runId);
  const [logs, checkpoint, corpusVocab, runVocab, finetune] = await Promise.all([
    store.getRunLogs(runId),
    store.latestCheckpoint(runId),
    store.getVocab(run.corpusId),
    store.getRunVocab(runId),
    store.getFinetuneCheckpoint(runId),
  ]);
  // The vocabulary kept with an imported run is the one it was trained with; else the corpus's own.
  const tokens = runVocab ?? corpusVocab?.tokens;

  const files = new Map<string, { data: Uint8Array; store: boolean }>();
  const add = (path: string, data: Uint8Array, storeOnly = false) => files.set(path, { data, store: storeOnly });
  add('run.json', strToU8(toJson(run)));
  add('metrics.jsonl', strToU8(logs.map((l) => toJson({ seq: l.seq, kind: l.kind, record: l.record }) + '\n').join('')));
  if (tokens) add('vocab.json', strToU8(JSON.stringify({ corpusId: run.corpusId, tokens })));
  // A checkpoint under `root`: its manifest, and each buffer stored as is (float data barely compresses,
  // so export and import stay fast).
  const addCheckpoint = (root: string, c: CheckpointRecord) => {
    const buffers = (dir: string, ws: CheckpointRecord['weights']): BufferInfo[] =>
      ws.map((w, i) => {
        const path = `${root}/${dir}/${String(i).padStart(4, '0')}.bin`;
        add(path, new Uint8Array(w.data), true);
        return { name: w.name, shape: [...w.shape], dtype: 'float32', path, bytes: w.data.byteLength };
      });
    const cm: CheckpointManifest = {
      step: c.step,
      createdAt: c.createdAt,
      phase: c.phase,
      rngState: c.rngState,
      indexVersion: c.indexVersion,
      ...(c.extra !== undefined ? { extra: c.extra } : {}),
      weights: buffers('weights', c.weights),
      optimizer: buffers('optimizer', c.optimizer),
    };
    add(`${root}/manifest.json`, strToU8(toJson(cm)));
  };
  if (checkpoint) addCheckpoint('checkpoint', checkpoint);
  if (finetune) addCheckpoint('finetune', finetune);
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

// ---- import ----

export interface ImportResult {
  runId: string;
  /** The id in the archive, when the run was stored under a new id because that one was taken. */
  renamedFrom: string | null;
  corpusId: string;
  /** Whether the run's corpus is ready in this browser (only then can the run resume). */
  corpusPresent: boolean;
  /**
   * Whether the archived vocabulary equals that corpus's vocabulary here; null when either is missing, or
   * when the run started from a warm start: it reads the corpus with its model's own vocabulary (kept
   * with the run), so the corpus's vocabulary does not bear on it.
   */
  vocabMatches: boolean | null;
  step: number;
  checkpointStep: number | null;
  /** Steps of the Open-QA fine-tuned checkpoint that came with the run, or null. */
  finetuneStep: number | null;
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
    finetune: a.finetune ? { ...a.finetune, runId: id } : null,
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
  let archive = await readRunArchiveOffThread(bytes);
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
        finetune: archive.finetune ?? undefined,
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
  const ownVocabulary = archive.run.config.warmStart !== undefined;
  const vocabMatches =
    archive.vocab && corpusVocab && !ownVocabulary
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
    finetuneStep: archive.finetune?.step ?? null,
  };
}
