import 'fake-indexeddb/auto';
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RealmStore, RunExistsError, type CheckpointRecord, type RunLogRecord, type RunRecord } from '../storage/db';
import { makeConfig } from '../model/config';
import { modelWeightShapes } from '../model/weight-shapes';
import { crc32, fromJson, toJson, type RunArchiveManifest } from '../workers/run-archive-format';
import { readRunArchive } from '../workers/run-archive-reader';
import { describeImport } from './runs-view';
import {
  RUN_ARCHIVE_VERSION,
  RunArchiveError,
  RunNotFoundError,
  archiveFileName,
  exportRunArchive,
  importRunArchive,
} from './run-archive';

let store: RealmStore;
let n = 0;
beforeEach(async () => {
  store = await RealmStore.open(`archive-db-${n++}`);
});
afterEach(() => store.close());

/** Deterministic pseudo-random floats, so the buffers are not all zeros. */
function floats(count: number, seed: number): ArrayBuffer {
  const a = new Float32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 3;
  }
  return a.buffer;
}

const RUN_ID = 'run-abc';
const CORPUS = 'bundled:tiny';
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', '##s', 'paris', 'é'];
/** A real (very small) model config: the archive's checkpoint must hold exactly this model's weights. */
const CONFIG = makeConfig('tiny', {
  vocabSize: VOCAB.length,
  hidden: 8,
  heads: 2,
  intermediate: 8,
  layers: 1,
  retrieverDim: 4,
  seed: 3,
});
const SHAPES = [...modelWeightShapes(CONFIG)];
const size = (shape: number[]) => shape.reduce((a, d) => a * d, 1);

function runRecord(): RunRecord {
  return {
    id: RUN_ID,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_100_000,
    corpusId: CORPUS,
    config: {
      runId: RUN_ID,
      corpusId: CORPUS,
      config: CONFIG,
      policy: 'async',
      checkpointEvery: 2,
      evalEvery: 0,
    },
    status: 'done',
    step: 6,
    finalMetrics: { loss: 4.25, mlmAccuracy: 0.125, clozeAccuracy: 0, recallAt5: 0.5 },
  };
}

function logs(): RunLogRecord[] {
  const out: RunLogRecord[] = [];
  for (let step = 1; step <= 6; step++) {
    out.push({
      runId: RUN_ID,
      seq: out.length,
      kind: 'step',
      // The warm-up phases log NaN for the REALM-only metrics: the archive must keep them.
      record: {
        phase: step <= 2 ? 'ict' : 'mlm',
        step,
        loss: 6 - step / 3,
        meanPNull: NaN,
        retrievalEntropy: step > 4 ? Infinity : -0,
        time: 1e12 + step,
      },
    });
  }
  out.push({
    runId: RUN_ID,
    seq: out.length,
    kind: 'eval',
    record: { step: 6, clozeAccuracy: 0, clozeAccuracyNullOnly: 0, recallAt5: 0.5, time: 1 },
  });
  out.push({
    runId: RUN_ID,
    seq: out.length,
    kind: 'refresh',
    record: { version: 1, snapshotStep: 4, swapStep: 5, chunks: 10, nested: { list: [1, 2] } },
  });
  return out;
}

function checkpoint(step: number): CheckpointRecord {
  return {
    runId: RUN_ID,
    step,
    createdAt: 1_700_000_050_000 + step,
    phase: 'mlm',
    weights: SHAPES.map(([name, shape], i) => ({ name, shape, data: floats(size(shape), step + i) })),
    optimizer: [
      { name: `${SHAPES[0][0]}/m`, shape: SHAPES[0][1], data: floats(size(SHAPES[0][1]), step + 2) },
      { name: `${SHAPES[0][0]}/t`, shape: [1], data: Float32Array.of(step).buffer },
    ],
    rngState: [12345, 678, 9, 10],
    indexVersion: 1,
    extra: { config: { hidden: 32, retrievalTemperature: 1 } },
  };
}

async function storeRun() {
  await store.putCorpus({ id: CORPUS, name: 'tiny', source: 'bundled:tiny', status: 'ready', createdAt: 0, stats: {} });
  await store.putVocab({ corpusId: CORPUS, tokens: VOCAB });
  await store.putRun(runRecord());
  await store.appendRunLogs(logs());
  await store.putCheckpoint(checkpoint(4));
  await store.putCheckpoint(checkpoint(6));
}

const bytesOf = (b: ArrayBuffer) => Array.from(new Uint8Array(b));

/** Rewrites an archive: `edit` changes the unpacked files; the manifest is then re-listed unless `keepManifest`. */
function rezip(zip: Uint8Array, edit: (files: Record<string, Uint8Array>) => void, keepManifest = false): Uint8Array {
  const files = unzipSync(zip);
  edit(files);
  if (!keepManifest && files['manifest.json']) {
    const m = JSON.parse(strFromU8(files['manifest.json'])) as RunArchiveManifest;
    m.entries = Object.keys(files)
      .filter((p) => p !== 'manifest.json')
      .map((path) => ({ path, bytes: files[path].byteLength, crc32: crc32(files[path]) }));
    files['manifest.json'] = strToU8(JSON.stringify(m));
  }
  return zipSync(files as Zippable);
}

async function expectProblem(p: Promise<unknown> | (() => unknown), problem: string, message?: RegExp) {
  const promise = typeof p === 'function' ? Promise.resolve().then(p) : p;
  const e = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RunArchiveError);
  expect((e as RunArchiveError).problem).toBe(problem);
  expect((e as Error).message).toMatch(/Nothing was imported/);
  if (message) expect((e as Error).message).toMatch(message);
}

describe('run archive', () => {
  it('JSON keeps NaN, ±Infinity and -0, and leaves ordinary values alone', () => {
    const v = { a: NaN, b: [Infinity, -Infinity, -0, 0, 1.5], c: 'NaN', d: { $float: 'x' } };
    const back = fromJson(toJson(v)) as typeof v;
    expect(back.a).toBeNaN();
    expect(back.b.map((x) => (Object.is(x, -0) ? '-0' : x))).toEqual([Infinity, -Infinity, '-0', 0, 1.5]);
    expect(back.c).toBe('NaN');
    expect(back.d).toEqual({ $float: 'x' });
  });

  it('computes the standard CRC-32', () => {
    expect(crc32(strToU8('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('names the download after the run', () => {
    expect(archiveFileName('run-lx3')).toBe('run-lx3.realm.zip');
    expect(archiveFileName('a/b c')).toBe('a_b_c.realm.zip');
  });

  it('exports the documented layout: manifest, run, metrics, latest checkpoint, vocabulary', async () => {
    await storeRun();
    const zip = await exportRunArchive(store, RUN_ID, new Date('2025-01-02T03:04:05Z'));
    const files = unzipSync(zip);
    const bin = (dir: string, n: number) =>
      Array.from({ length: n }, (_, i) => `checkpoint/${dir}/${String(i).padStart(4, '0')}.bin`);
    expect(Object.keys(files).sort()).toEqual(
      [
        'checkpoint/manifest.json',
        ...bin('optimizer', 2),
        ...bin('weights', SHAPES.length),
        'manifest.json',
        'metrics.jsonl',
        'run.json',
        'vocab.json',
      ].sort(),
    );
    const m = JSON.parse(strFromU8(files['manifest.json'])) as RunArchiveManifest;
    expect(m).toMatchObject({
      format: 'realm-webgpu-run',
      version: RUN_ARCHIVE_VERSION,
      runId: RUN_ID,
      corpusId: CORPUS,
      checkpointStep: 6,
      exportedAt: '2025-01-02T03:04:05.000Z',
    });
    expect(m.entries).toHaveLength(6 + SHAPES.length);
    expect(strFromU8(files['metrics.jsonl']).trim().split('\n')).toHaveLength(logs().length);
    const ck = JSON.parse(strFromU8(files['checkpoint/manifest.json'])) as {
      step: number;
      weights: { name: string; shape: number[]; dtype: string; path: string }[];
    };
    expect(ck.step).toBe(6);
    expect(ck.weights[0]).toMatchObject({
      name: 'embed_input/token_embedding',
      shape: [9, 8],
      dtype: 'float32',
      path: 'checkpoint/weights/0000.bin',
    });
    expect(bytesOf(files['checkpoint/weights/0000.bin'].slice().buffer)).toEqual(bytesOf(checkpoint(6).weights[0].data));
    expect(JSON.parse(strFromU8(files['vocab.json']))).toEqual({ corpusId: CORPUS, tokens: VOCAB });
  });

  it('round-trips: export, delete, import gives back the same record, logs and checkpoint bytes', async () => {
    await storeRun();
    const run = await store.getRun(RUN_ID);
    const storedLogs = await store.getRunLogs(RUN_ID);
    const latest = (await store.latestCheckpoint(RUN_ID))!;
    const zip = await exportRunArchive(store, RUN_ID);
    await store.deleteRun(RUN_ID);
    expect(await store.getRun(RUN_ID)).toBeUndefined();

    const result = await importRunArchive(store, zip);
    expect(result).toEqual({
      runId: RUN_ID,
      renamedFrom: null,
      corpusId: CORPUS,
      corpusPresent: true,
      vocabMatches: true,
      step: 6,
      checkpointStep: 6,
      finetuneStep: null,
    });
    expect(await store.getRun(RUN_ID)).toEqual(run);
    const back = await store.getRunLogs(RUN_ID);
    expect(back).toEqual(storedLogs);
    expect((back[0].record as { meanPNull: number }).meanPNull).toBeNaN();
    expect(Object.is((back[0].record as { retrievalEntropy: number }).retrievalEntropy, -0)).toBe(true);
    const ck = (await store.latestCheckpoint(RUN_ID))!;
    expect(await store.checkpointSteps(RUN_ID)).toEqual([6]);
    const { weights, optimizer, ...rest } = ck;
    const { weights: w0, optimizer: o0, ...rest0 } = latest;
    expect(rest).toEqual(rest0);
    for (const [a, b] of [
      [weights, w0],
      [optimizer, o0],
    ]) {
      expect(a.map((w) => [w.name, w.shape])).toEqual(b.map((w) => [w.name, w.shape]));
      a.forEach((w, i) => expect(bytesOf(w.data)).toEqual(bytesOf(b[i].data)));
    }
    // The vocabulary travels with the run, and a second export gives the same entries.
    expect(await store.getRunVocab(RUN_ID)).toEqual(VOCAB);
    const again = unzipSync(await exportRunArchive(store, RUN_ID));
    const first = unzipSync(zip);
    for (const path of Object.keys(first).filter((p) => p !== 'manifest.json')) expect(again[path]).toEqual(first[path]);
  });

  it('round-trips a fine-tuned run (spanReader: its span head, phase finetune); refuses one that lacks the head', async () => {
    const config = { ...CONFIG, spanReader: true };
    const shapes = [...modelWeightShapes(config)];
    expect(shapes.filter(([name]) => name.startsWith('span/'))).toHaveLength(8);
    const tuned = (drop: string | null): CheckpointRecord => ({
      ...checkpoint(6),
      phase: 'finetune',
      weights: shapes
        .filter(([name]) => name !== drop)
        .map(([name, shape], i) => ({ name, shape, data: floats(size(shape), i) })),
    });
    await store.putCorpus({ id: CORPUS, name: 'tiny', source: 'bundled:tiny', status: 'ready', createdAt: 0, stats: {} });
    await store.putVocab({ corpusId: CORPUS, tokens: VOCAB });
    const record = runRecord();
    await store.putRun({ ...record, config: { ...record.config, config } });
    await store.putCheckpoint(tuned(null));
    const zip = await exportRunArchive(store, RUN_ID);
    await store.deleteRun(RUN_ID);
    expect(await importRunArchive(store, zip)).toMatchObject({ runId: RUN_ID, checkpointStep: 6 });
    const back = (await store.latestCheckpoint(RUN_ID))!;
    expect(back.phase).toBe('finetune');
    expect(back.weights.map((w) => w.name)).toEqual(shapes.map(([name]) => name));
    // The same run without one span weight: another architecture than its config's.
    await store.putCheckpoint({ ...tuned('span/output/kernel'), step: 7 });
    const cut = await exportRunArchive(store, RUN_ID);
    await store.deleteRun(RUN_ID);
    await expectProblem(
      importRunArchive(store, cut),
      'corrupt-entry',
      /lacks 1 of the model's weights \(first: span\/output\/kernel\)/,
    );
  });

  it("carries a run's Open-QA fine-tuned checkpoint beside its pre-training one, and refuses a damaged one", async () => {
    const spanShapes = [...modelWeightShapes({ ...CONFIG, spanReader: true })];
    const finetuned = (phase = 'finetune'): CheckpointRecord => ({
      ...checkpoint(40),
      phase,
      weights: spanShapes.map(([name, shape], i) => ({ name, shape, data: floats(size(shape), 100 + i) })),
      extra: { config: { hidden: 32 }, pageFinetune: { settings: { steps: 40, k: 3, evalEvery: 0 } } },
    });
    await storeRun();
    await store.putFinetuneCheckpoint(finetuned());
    const zip = await exportRunArchive(store, RUN_ID);
    expect(Object.keys(unzipSync(zip))).toContain('finetune/manifest.json');
    await store.deleteRun(RUN_ID);
    expect(await store.getFinetuneCheckpoint(RUN_ID)).toBeUndefined();
    expect(await importRunArchive(store, zip)).toMatchObject({ checkpointStep: 6, finetuneStep: 40 });
    const back = (await store.getFinetuneCheckpoint(RUN_ID))!;
    expect(back.extra).toEqual(finetuned().extra);
    back.weights.forEach((w, i) => expect(bytesOf(w.data)).toEqual(bytesOf(finetuned().weights[i].data)));
    expect((await store.latestCheckpoint(RUN_ID))!.phase).toBe('mlm'); // pre-training resumes from its own
    // Imported as a copy, the fine-tuned checkpoint follows the new id.
    const copy = await importRunArchive(store, zip, { ifExists: 'copy' });
    expect((await store.getFinetuneCheckpoint(copy.runId))?.runId).toBe(copy.runId);

    // A fine-tuned checkpoint that is not one, or lacks the span head, is refused and nothing is stored.
    await store.deleteRun(RUN_ID);
    const otherPhase = rezip(zip, (files) => {
      const m = JSON.parse(strFromU8(files['finetune/manifest.json'])) as { phase: string };
      files['finetune/manifest.json'] = strToU8(JSON.stringify({ ...m, phase: 'realm' }));
    });
    await expectProblem(importRunArchive(store, otherPhase), 'corrupt-entry', /finetune\/manifest.json has the phase "realm"/);
    const noHead = rezip(zip, (files) => {
      const m = JSON.parse(strFromU8(files['finetune/manifest.json'])) as { weights: { name: string }[] };
      m.weights = m.weights.filter((w) => !w.name.startsWith('span/'));
      files['finetune/manifest.json'] = strToU8(JSON.stringify(m));
    });
    await expectProblem(
      importRunArchive(store, noHead),
      'corrupt-entry',
      /finetune\/manifest.json lacks 8 of the model's weights/,
    );
    expect(await store.getRun(RUN_ID)).toBeUndefined();
  });

  it('exports a run with no checkpoint yet, and imports it back', async () => {
    await store.putRun({ ...runRecord(), status: 'running', step: 1 });
    const zip = await exportRunArchive(store, RUN_ID);
    expect(Object.keys(unzipSync(zip))).not.toContain('checkpoint/manifest.json');
    await store.deleteRun(RUN_ID);
    const r = await importRunArchive(store, zip);
    expect(r).toMatchObject({ checkpointStep: null, corpusPresent: false, vocabMatches: null });
    expect(await store.latestCheckpoint(RUN_ID)).toBeUndefined();
  });

  it('refuses to export a run that is not stored', async () => {
    await expect(exportRunArchive(store, 'nope')).rejects.toBeInstanceOf(RunNotFoundError);
  });

  it('never overwrites a stored run: fails by default, or imports a copy under a new id', async () => {
    await storeRun();
    const zip = await exportRunArchive(store, RUN_ID);
    // Work done since the export must survive.
    await store.putRun({ ...runRecord(), step: 8 });
    await expect(importRunArchive(store, zip)).rejects.toBeInstanceOf(RunExistsError);
    expect((await store.getRun(RUN_ID))?.step).toBe(8);

    const copy = await importRunArchive(store, zip, { ifExists: 'copy' });
    expect(copy).toMatchObject({ runId: `${RUN_ID}-copy`, renamedFrom: RUN_ID, step: 6 });
    const rec = (await store.getRun(`${RUN_ID}-copy`))!;
    expect(rec.config.runId).toBe(`${RUN_ID}-copy`);
    expect(rec.step).toBe(6);
    expect((await store.getRunLogs(`${RUN_ID}-copy`)).map((l) => l.runId)).toEqual(logs().map(() => `${RUN_ID}-copy`));
    expect((await store.latestCheckpoint(`${RUN_ID}-copy`))?.runId).toBe(`${RUN_ID}-copy`);
    const copy2 = await importRunArchive(store, zip, { ifExists: 'copy' });
    expect(copy2.runId).toBe(`${RUN_ID}-copy2`);
    expect((await store.getRun(RUN_ID))?.step).toBe(8);
    expect(await store.getRunLogs(RUN_ID)).toHaveLength(logs().length);
  });

  it('imports a run whose corpus is not in this browser, and says its vocabulary cannot be compared', async () => {
    await storeRun();
    const zip = await exportRunArchive(store, RUN_ID);
    await store.deleteRun(RUN_ID);
    await store.deleteCorpus(CORPUS);
    const r = await importRunArchive(store, zip);
    expect(r).toMatchObject({ corpusPresent: false, vocabMatches: null });
    const [summary] = await store.listRunSummaries();
    expect(summary).toMatchObject({ corpus: 'missing', hasOwnVocab: true, checkpointStep: 6 });
    // It is still exportable, with the vocabulary it was trained with.
    const files = unzipSync(await exportRunArchive(store, RUN_ID));
    expect(JSON.parse(strFromU8(files['vocab.json'])).tokens).toEqual(VOCAB);
  });

  it('notices a corpus of the same id with another vocabulary', async () => {
    await storeRun();
    const zip = await exportRunArchive(store, RUN_ID);
    await store.deleteRun(RUN_ID);
    await store.putVocab({ corpusId: CORPUS, tokens: [...VOCAB.slice(0, -1), 'other'] });
    expect((await importRunArchive(store, zip)).vocabMatches).toBe(false);
  });

  it("does not hold a warm run's model vocabulary against the corpus's: it reads the corpus with its own", async () => {
    const model = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', '##s'];
    await storeRun();
    const run = runRecord();
    await store.putRun({
      ...run,
      config: {
        ...run.config,
        warmStart: { url: 'warmstart/mini/', preset: 'mini', vocabHash: 'h', vocabPieces: 7, vocabSha256: 's' },
      },
    });
    await store.putRunVocab(RUN_ID, model);
    const zip = await exportRunArchive(store, RUN_ID);
    await store.deleteRun(RUN_ID);
    const r = await importRunArchive(store, zip);
    expect(r.vocabMatches).toBeNull();
    expect(describeImport(r, 'warm.realm.zip').kind).toBe('ok');
    expect(await store.getRunVocab(RUN_ID)).toEqual(model); // kept with the run, for resuming
  });

  describe('malformed files', () => {
    let zip: Uint8Array;
    beforeEach(async () => {
      await storeRun();
      zip = await exportRunArchive(store, RUN_ID);
      await store.deleteRun(RUN_ID);
    });
    afterEach(async () => {
      // Nothing of a rejected archive was stored.
      expect(await store.listRuns()).toEqual([]);
      expect(await store.getRunLogs(RUN_ID)).toEqual([]);
    });

    it('rejects a file that is not a zip', async () => {
      await expectProblem(importRunArchive(store, strToU8('{"not": "a zip"}')), 'not-a-zip', /not a zip file/);
      await expectProblem(importRunArchive(store, new Uint8Array(0)), 'not-a-zip');
    });

    it('rejects a truncated zip', async () => {
      await expectProblem(importRunArchive(store, zip.slice(0, Math.floor(zip.length / 2))), 'not-a-zip');
    });

    it('rejects a foreign zip (no manifest, or another manifest)', async () => {
      await expectProblem(importRunArchive(store, zipSync({ 'readme.txt': strToU8('hello') })), 'foreign', /no manifest\.json/);
      await expectProblem(importRunArchive(store, zipSync({ 'manifest.json': strToU8('{"name":"x"}') })), 'foreign');
      await expectProblem(
        importRunArchive(store, zipSync({ 'manifest.json': strToU8('not json') })),
        'corrupt-entry',
        /not valid JSON/,
      );
    });

    it('rejects an archive from a newer format version', async () => {
      const bad = rezip(
        zip,
        (f) => {
          const m = JSON.parse(strFromU8(f['manifest.json'])) as RunArchiveManifest;
          f['manifest.json'] = strToU8(JSON.stringify({ ...m, version: RUN_ARCHIVE_VERSION + 1 }));
        },
        true,
      );
      await expectProblem(importRunArchive(store, bad), 'newer-version', /newer version/);
    });

    it('detects a damaged checkpoint buffer by its checksum', async () => {
      const bad = rezip(
        zip,
        (f) => {
          const b = f['checkpoint/weights/0000.bin'].slice();
          b[5] ^= 0x40;
          f['checkpoint/weights/0000.bin'] = b;
        },
        true,
      );
      await expectProblem(
        importRunArchive(store, bad),
        'corrupt-entry',
        /checkpoint\/weights\/0000\.bin does not match its checksum/,
      );
    });

    it('detects a missing entry', async () => {
      const bad = rezip(zip, (f) => delete f['checkpoint/optimizer/0001.bin'], true);
      await expectProblem(importRunArchive(store, bad), 'missing-entry', /0001\.bin/);
      // Even with a manifest re-listed without it, the checkpoint still needs it.
      const relisted = rezip(zip, (f) => delete f['checkpoint/optimizer/0001.bin']);
      await expectProblem(importRunArchive(store, relisted), 'missing-entry', /optimizer\/0001\.bin/);
      const noRun = rezip(zip, (f) => delete f['run.json']);
      await expectProblem(importRunArchive(store, noRun), 'missing-entry', /run\.json/);
    });

    it('rejects a buffer whose size does not fit its shape', async () => {
      const bad = rezip(zip, (f) => {
        f['checkpoint/weights/0001.bin'] = f['checkpoint/weights/0001.bin'].slice(0, 12);
      });
      await expectProblem(
        importRunArchive(store, bad),
        'corrupt-entry',
        /holds 12 bytes, but embed_input\/position_embedding of shape \[128, 8\] needs 4096/,
      );
    });

    it('rejects a malformed run record or log line, and entries not in the manifest', async () => {
      const badRun = rezip(zip, (f) => {
        f['run.json'] = strToU8(JSON.stringify({ ...runRecord(), status: 'exploded' }));
      });
      await expectProblem(importRunArchive(store, badRun), 'corrupt-entry', /unknown status/);
      const otherRun = rezip(zip, (f) => {
        f['run.json'] = strToU8(JSON.stringify({ ...runRecord(), id: 'someone-else' }));
      });
      await expectProblem(importRunArchive(store, otherRun), 'corrupt-entry', /manifest says run-abc/);
      const badLog = rezip(zip, (f) => {
        f['metrics.jsonl'] = strToU8(strFromU8(f['metrics.jsonl']) + '{"seq": 0, "kind": "step", "record": {}}\n');
      });
      await expectProblem(importRunArchive(store, badLog), 'corrupt-entry', /repeats log record 0/);
      const notJson = rezip(zip, (f) => {
        f['metrics.jsonl'] = strToU8('{"seq": 0, "kind": "st');
      });
      await expectProblem(importRunArchive(store, notJson), 'corrupt-entry', /not JSON \(line 1\)/);
      const extra = rezip(
        zip,
        (f) => {
          f['evil.js'] = strToU8('alert(1)');
        },
        true,
      );
      await expectProblem(importRunArchive(store, extra), 'corrupt-entry', /evil\.js is not listed/);
    });

    /** Rewrites one JSON entry of the archive (the manifest re-listed with its new size and CRC). */
    const editJson = (path: string, edit: (v: Record<string, unknown>) => void) =>
      rezip(zip, (f) => {
        const v = fromJson(strFromU8(f[path])) as Record<string, unknown>;
        edit(v);
        f[path] = strToU8(toJson(v));
      });
    const settingsOf = (run: Record<string, unknown>) => run.config as Record<string, unknown>;
    const checkpointOf = (v: Record<string, unknown>) =>
      v as { weights: { shape: number[]; name: string }[]; optimizer: { shape: number[]; name: string }[]; rngState: number[] };

    it('refuses a run whose config this app cannot train: empty, out of bounds, unknown policy', async () => {
      const empty = editJson('run.json', (r) => (settingsOf(r).config = {}));
      await expectProblem(
        importRunArchive(store, empty),
        'corrupt-entry',
        /cannot train \(hidden \(undefined\) must be a number\)/,
      );
      const noSettings = editJson('run.json', (r) => (r.config = {}));
      await expectProblem(importRunArchive(store, noSettings), 'corrupt-entry', /has no model config/);
      const huge = editJson('run.json', (r) => (settingsOf(r).config = { ...CONFIG, hidden: 1e9 }));
      await expectProblem(importRunArchive(store, huge), 'corrupt-entry', /hidden \(1000000000\) must be between 1 and 4096/);
      const policy = editJson('run.json', (r) => (settingsOf(r).policy = 'whenever'));
      await expectProblem(importRunArchive(store, policy), 'corrupt-entry', /unknown refresh policy "whenever"/);
      const ckpt = editJson('run.json', (r) => (settingsOf(r).checkpointEvery = 1e15));
      await expectProblem(importRunArchive(store, ckpt), 'corrupt-entry', /invalid checkpointEvery/);
    });

    it('checks every checkpoint buffer against the model the config builds', async () => {
      const ck = (edit: (c: ReturnType<typeof checkpointOf>) => void) =>
        editJson('checkpoint/manifest.json', (v) => edit(checkpointOf(v)));
      // The same bytes under another shape ([8, 1] for the projection LayerNorm's [4] would be [4, 1]).
      const reshaped = ck((c) => (c.weights[c.weights.length - 1].shape = [c.weights[c.weights.length - 1].shape[0], 1]));
      await expectProblem(
        importRunArchive(store, reshaped),
        'corrupt-entry',
        /the shape \[\d+, 1\]; the run's config needs \[\d+\]/,
      );
      const unknown = ck((c) => (c.weights[0].name = 'reader/secret_layer'));
      await expectProblem(
        importRunArchive(store, unknown),
        'corrupt-entry',
        /a weight reader\/secret_layer that the run's model does not have/,
      );
      const lacking = ck((c) => void c.weights.pop());
      await expectProblem(importRunArchive(store, lacking), 'corrupt-entry', /lacks 1 of the model's weights/);
      const slot = ck((c) => (c.optimizer[0].name = 'embed_input/token_embedding/w'));
      await expectProblem(importRunArchive(store, slot), 'corrupt-entry', /an optimiser slot embed_input\/token_embedding\/w/);
      const rng = ck((c) => (c.rngState = [1, 2, 3]));
      await expectProblem(importRunArchive(store, rng), 'corrupt-entry', /no valid RNG state/);
      for (const bad of [NaN, Infinity]) {
        const poisoned = rezip(zip, (f) => {
          const w = new Float32Array(f['checkpoint/weights/0003.bin'].slice().buffer);
          w[5] = bad;
          f['checkpoint/weights/0003.bin'] = new Uint8Array(w.buffer);
        });
        await expectProblem(
          importRunArchive(store, poisoned),
          'corrupt-entry',
          /0003\.bin holds a value that is not a finite number \(.*, element 5\)/,
        );
      }
    });

    it('refuses a vocabulary larger than the config', async () => {
      const big = editJson('vocab.json', (v) => (v.tokens = [...VOCAB, 'extra']));
      await expectProblem(importRunArchive(store, big), 'corrupt-entry', /10 wordpieces, more than the config's vocabSize \(9\)/);
    });

    it('refuses entries named like object keys (__proto__), listed or not', async () => {
      // fflate cannot write an entry named __proto__: write 'zzproto__' and rename it in place (both headers).
      const renamedZip = zipSync({ ...unzipSync(zip), zzproto__: strToU8('{"polluted": true}') });
      const text = Array.from(renamedZip, (c) => String.fromCharCode(c)).join('');
      for (let at = text.indexOf('zzproto__'); at >= 0; at = text.indexOf('zzproto__', at + 1)) renamedZip.set(strToU8('__'), at);
      await expectProblem(importRunArchive(store, renamedZip), 'corrupt-entry', /__proto__ is not listed in the manifest/);
      const listed = rezip(
        zip,
        (f) => {
          const m = JSON.parse(strFromU8(f['manifest.json'])) as RunArchiveManifest;
          m.entries.push({ path: '__proto__', bytes: 1, crc32: 0 });
          f['manifest.json'] = strToU8(JSON.stringify(m));
        },
        true,
      );
      await expectProblem(
        importRunArchive(store, listed),
        'corrupt-entry',
        /an entry with a name no run archive has \("__proto__"\)/,
      );
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    /** The offset of `name`'s record in the zip's central directory. */
    function centralRecord(bytes: Uint8Array, name: string): number {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const eocd = bytes.length - 22; // fflate writes no comment
      let at = view.getUint32(eocd + 16, true);
      for (let i = 0; i < view.getUint16(eocd + 10, true); i++) {
        const n = view.getUint16(at + 28, true);
        if (strFromU8(bytes.subarray(at + 46, at + 46 + n)) === name) return at;
        at += 46 + n + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
      }
      throw new Error(`no ${name} in the zip`);
    }

    it('refuses sizes and counts from the zip directory before inflating anything', async () => {
      // An entry declaring 1 GiB: refused from the directory, so nothing of that size is allocated.
      const lying = zip.slice();
      new DataView(lying.buffer).setUint32(centralRecord(lying, 'run.json') + 24, 2 ** 30, true);
      await expectProblem(
        importRunArchive(store, lying),
        'corrupt-entry',
        /run\.json has 1073741824 bytes where the manifest says/,
      );
      const bigManifest = zip.slice();
      new DataView(bigManifest.buffer).setUint32(centralRecord(bigManifest, 'manifest.json') + 24, 2 ** 30, true);
      await expectProblem(importRunArchive(store, bigManifest), 'too-large', /manifest\.json unpacks to 1073741824 bytes/);
      // An unlisted entry that claims 300 MiB and holds garbage: inflating it would fail as "not a zip";
      // it is refused as unlisted, so it was never inflated.
      const files = unzipSync(zip);
      const junk = zipSync({ ...files, 'junk.bin': [new Uint8Array(4096).fill(7), { level: 6 }] } as Zippable);
      new DataView(junk.buffer).setUint32(centralRecord(junk, 'junk.bin') + 24, 300 * 2 ** 20, true);
      await expectProblem(importRunArchive(store, junk), 'corrupt-entry', /junk\.bin is not listed in the manifest/);
      // 128 bytes whose end-of-directory record claims the zip64 maximum of entries.
      const claim = new Uint8Array(128);
      const v = new DataView(claim.buffer);
      claim.set([0x50, 0x4b, 3, 4]);
      const eocd = 128 - 22;
      v.setUint32(eocd, 0x06054b50, true);
      v.setUint16(eocd + 8, 0xffff, true);
      v.setUint16(eocd + 10, 0xffff, true);
      v.setUint32(eocd + 12, 0xffffffff, true);
      v.setUint32(eocd + 16, 0xffffffff, true);
      await expectProblem(importRunArchive(store, claim), 'too-large', /zip64/);
      v.setUint32(eocd + 12, 60, true);
      v.setUint32(eocd + 16, 0, true);
      v.setUint16(eocd + 8, 60_000, true);
      v.setUint16(eocd + 10, 60_000, true);
      await expectProblem(importRunArchive(store, claim), 'too-large', /claims 60000 entries/);
    });

    it('reads a good archive without storing anything', () => {
      const a = readRunArchive(zip);
      expect(a.run.id).toBe(RUN_ID);
      expect(a.checkpoint?.weights).toHaveLength(SHAPES.length);
    });
  });
});
