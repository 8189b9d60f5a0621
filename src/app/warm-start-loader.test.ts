// The warm-start loading flow of a page run, in Node on the cpu backend with a real (fake-indexeddb)
// store: a warm start folder made here as build:warmstart makes one (float16 weights only, a manifest
// with each file's size and SHA-256), served by a fetch stand-in. A run started from it takes its
// architecture, weights and vocabulary; a missing or altered file is refused with WarmStartError
// before anything stored changes.
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { tagSalientSpans } from '../corpus/salient';
import { basicWords, WordPieceTokenizer } from '../corpus/tokenizer';
import { decodeCheckpoint, encodeCheckpoint } from '../model/checkpoint';
import type { Progress } from '../model/progress';
import { RealmTrainer } from '../model/trainer';
import { WarmStartError, type WarmStartManifest } from '../model/warm-start';
import { RealmStore } from '../storage/db';
import { microConfig } from '../testing/micro-config';
import { loadRunData } from './run-data';
import { createRun, resumeRun, type LaunchEvents } from './run-launcher';
import { runSettingsFromUrl } from './run-settings';
import type { Runtime } from './runtime';
import { fetchWarmStart, fetchWarmStartVocab } from './warm-start-loader';

const BASE = 'http://app.test/warmstart/fixture/';
const CORPUS = 'bundled:test';
const PLACES = ['Paris', 'Berlin', 'Madrid', 'Rome', 'Vienna', 'Lisbon', 'Prague', 'Dublin'];
const TEXTS = PLACES.map(
  (p, i) => `${p} is a city in Europe. The river near ${p} flows north. It was founded in ${1100 + i * 37}.`,
);

let store: RealmStore;
/** The warm start's files by name (the manifest last, as the build writes it). */
let files: Record<string, Uint8Array>;
let warmVocab: string[];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A fetch over `served` (a name missing from it answers 404). */
function fetchOver(served: Record<string, Uint8Array>) {
  return (url: string) => {
    const name = url.startsWith(BASE) ? url.slice(BASE.length) : '';
    const body = served[name];
    return Promise.resolve(body ? new Response(body.slice()) : new Response('not found', { status: 404 }));
  };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  store = await RealmStore.open();
  // The corpus as the importer stores it, with its own (small) vocabulary.
  const corpusVocab = WordPieceTokenizer.train(TEXTS, { vocabSize: 40, minFrequency: 1 }).vocab;
  await store.putChunks(
    TEXTS.map((text, seq) => ({
      corpusId: CORPUS,
      seq,
      id: `p${seq}`,
      title: PLACES[seq],
      text,
      spans: tagSalientSpans(text).map((s) => ({ start: s.start, end: s.end, type: s.type })),
    })),
  );
  await store.putVocab({ corpusId: CORPUS, tokens: corpusVocab });
  await store.putCorpus({ id: CORPUS, name: 'test', source: CORPUS, status: 'ready', createdAt: 0, stats: {} });
  await store.setActiveCorpus(CORPUS);
  // The model's vocabulary: a larger one that cannot spell 'lisbon' (so some words fall to [UNK]).
  warmVocab = WordPieceTokenizer.train(
    TEXTS.map((t) => t.replaceAll('Lisbon', 'Porto')),
    { vocabSize: 120, minFrequency: 1 },
  ).vocab;
  expect(warmVocab).not.toEqual(corpusVocab);
  const config = microConfig({ vocabSize: warmVocab.length }, { ictSteps: 1, mlmSteps: 1, realmSteps: 0, seed: 7 });
  const data = await loadRunData(store, CORPUS, config, warmVocab);
  const trainer = new RealmTrainer({ config, data });
  await trainer.step(); // weights that are not the initialisation of a fresh model with seed 7
  const { header, data: bin } = encodeCheckpoint(
    { ...(await trainer.checkpoint('warmstart')), optimizer: [] },
    { float16: true },
  );
  trainer.dispose();
  files = { 'checkpoint.json': utf8(header), 'checkpoint.bin': bin, 'vocab.txt': utf8(`${warmVocab.join('\n')}\n`) };
  const manifest: WarmStartManifest = {
    format: 'realm-warmstart-1',
    preset: 'micro',
    config,
    vocabulary: { file: 'vocab.txt', pieces: warmVocab.length, hash: 'test-vocab', source: 'this test' },
    data: {},
    steps: { ict: 1, mlm: 0 },
    seed: 7,
    wallTimeSeconds: 0,
    backend: 'cpu',
    metrics: { ictRecallAt1: 0, ictRecallAt5: 0, corpora: [] },
    files: Object.fromEntries(Object.entries(files).map(([n, b]) => [n, { bytes: b.byteLength, sha256: sha256(b) }])),
  };
  files['manifest.json'] = utf8(JSON.stringify(manifest));
});

afterEach(() => vi.unstubAllGlobals());
afterAll(() => store.close());

/** A runtime whose index builder is never reached (the runs here do not train). */
const runtime = (): Runtime =>
  ({ store, builder: { build: () => Promise.reject(new Error('no build here')), cancel: () => {} } }) as unknown as Runtime;

describe('fetching a warm start', () => {
  it('fetches the four files with progress in bytes and decodes them', async () => {
    const progress: Progress[] = [];
    const w = await fetchWarmStart(BASE, (p) => progress.push(p), fetchOver(files));
    expect(w.vocab).toEqual(warmVocab);
    expect(w.config.vocabSize).toBe(warmVocab.length);
    const total = ['checkpoint.json', 'checkpoint.bin', 'vocab.txt'].reduce((n, f) => n + files[f].byteLength, 0);
    expect(progress.at(-1)).toMatchObject({ task: 'warm-start', unit: 'bytes', done: total, total });
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
  });

  it('refuses a missing, truncated or altered file with a message that names it', async () => {
    const without = { ...files };
    delete without['vocab.txt'];
    await expect(fetchWarmStart(BASE, undefined, fetchOver(without))).rejects.toThrow(
      /vocab\.txt is missing: .*fixture\/vocab\.txt answered HTTP 404/,
    );
    const altered = files['checkpoint.bin'].slice();
    altered[1234] ^= 0x40;
    const bad = fetchWarmStart(BASE, undefined, fetchOver({ ...files, 'checkpoint.bin': altered }));
    await expect(bad).rejects.toBeInstanceOf(WarmStartError);
    await expect(bad).rejects.toThrow(/checkpoint\.bin does not match its SHA-256 in the manifest\. Reload the page/);
    const cut = files['checkpoint.bin'].slice(0, 1000);
    await expect(fetchWarmStart(BASE, undefined, fetchOver({ ...files, 'checkpoint.bin': cut }))).rejects.toThrow(
      /checkpoint\.bin has 1000 bytes where the manifest says/,
    );
    await expect(fetchWarmStart(BASE, undefined, fetchOver({ ...files, 'manifest.json': utf8('{oops') }))).rejects.toThrow(
      /manifest\.json is not JSON/,
    );
  });
});

describe('a page run from the warm start', () => {
  it("takes the warm start's architecture, weights and vocabulary, and stores them as its step-0 checkpoint", async () => {
    vi.stubGlobal('fetch', fetchOver(files));
    const settings = runSettingsFromUrl('?preset=tiny&start=warm&realm=3&ckpt=1');
    expect([settings.config.ictSteps, settings.config.mlmSteps]).toEqual([0, 0]);
    const shown: string[] = [];
    const events: LaunchEvents = {
      warmStartProgress: (p) => shown.push(`${p.done}/${p.total}`),
      coverage: (c) => shown.push(`unk ${c.unkWords}/${c.words} ${c.source}`),
    };
    const before = tf.memory().numTensors;
    const run = await createRun(runtime(), settings, events, () => {}, BASE);
    const warm = decodeCheckpoint(new TextDecoder().decode(files['checkpoint.json']), files['checkpoint.bin']);
    const c = run.settings.config;
    const saved = warm.extra!.config as typeof c;
    for (const k of ['hidden', 'layers', 'heads', 'intermediate', 'retrieverDim', 'vocabSize'] as const)
      expect(c[k], k).toBe(saved[k]);
    expect(c.vocabSize).toBe(warmVocab.length);
    expect([c.ictSteps, c.mlmSteps, c.realmSteps]).toEqual([0, 0, 3]);
    expect(run.settings.warmStart).toMatchObject({ url: BASE, vocabHash: 'test-vocab', vocabPieces: warmVocab.length });
    // The first weights are the warm start's (its float16 values), every one of them.
    const got = new Map((await run.realmTrainer.model.getWeights()).map((w) => [w.name, w]));
    expect(got.size).toBeGreaterThan(0);
    const values = (b: ArrayBuffer) => Array.from(new Float32Array(b));
    for (const w of warm.weights) {
      expect(got.get(w.name)!.shape, w.name).toEqual(w.shape);
      expect(values(got.get(w.name)!.data), w.name).toEqual(values(w.data));
    }
    expect(values(warm.weights[0].data).length).toBeGreaterThan(0);
    expect(await store.checkpointSteps(run.settings.runId)).toEqual([0]);
    // Progress was shown, and the [UNK] share of the corpus under the model's vocabulary counted ('lisbon').
    expect(shown.some((s) => /^\d+\/\d+$/.test(s))).toBe(true);
    // 'Lisbon' (a title and twice in its text) is the only word the model's vocabulary cannot spell.
    const words = [...PLACES, ...TEXTS].reduce((n, t) => n + basicWords(t).length, 0);
    expect(shown.find((s) => s.startsWith('unk'))).toBe(`unk 3/${words} model`);

    // The model's vocabulary is kept with the run; resumed after a reload (the warm start gone), it reads the corpus with it.
    expect(await store.getRunVocab(run.settings.runId)).toEqual(warmVocab);
    vi.stubGlobal('fetch', fetchOver({}));
    const again = await resumeRun(runtime(), run.settings.runId, {}, () => run.dispose());
    expect(again.settings.config.vocabSize).toBe(warmVocab.length);
    expect(again.step).toBe(0);
    again.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // A warm start whose vocabulary changed since cannot resume the run.
    const other = utf8(`${warmVocab.slice(0, -1).join('\n')}\n`);
    await expect(fetchWarmStartVocab(run.settings.warmStart!, fetchOver({ ...files, 'vocab.txt': other }))).rejects.toThrow(
      /not the vocabulary this run started with/,
    );
  });

  it('a corrupt warm start stops the start with WarmStartError, and nothing stored changes', async () => {
    const altered = files['vocab.txt'].slice();
    altered[10] ^= 0x01;
    vi.stubGlobal('fetch', fetchOver({ ...files, 'vocab.txt': altered }));
    const runsBefore = (await store.listRuns()).map((r) => r.id);
    const replace = vi.fn();
    const start = createRun(runtime(), runSettingsFromUrl('?start=warm&realm=3'), {}, replace, BASE);
    await expect(start).rejects.toBeInstanceOf(WarmStartError);
    await expect(start).rejects.toThrow(/vocab\.txt does not match its SHA-256/);
    expect(replace).not.toHaveBeenCalled(); // the run in the page is kept
    expect((await store.listRuns()).map((r) => r.id)).toEqual(runsBefore);
    expect(await store.countChunks(CORPUS)).toBe(TEXTS.length);
    expect((await store.getVocab(CORPUS))?.tokens.length).toBeGreaterThan(5);
  });

  it('a cold run keeps the corpus vocabulary and random weights', async () => {
    const fetchSpy = vi.fn(fetchOver(files));
    vi.stubGlobal('fetch', fetchSpy);
    const run = await createRun(runtime(), runSettingsFromUrl('?preset=tiny&realm=3&d=8'), {}, () => {}, BASE);
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(run.settings.warmStart).toBeUndefined();
    expect(run.settings.config.vocabSize).toBe((await store.getVocab(CORPUS))!.tokens.length);
    run.dispose();
  });
});
