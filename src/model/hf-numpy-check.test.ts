// The export against tools/bert_numpy_check.py: a BERT forward pass written in numpy from the
// definitions (BertModel / MegatronBertModel, the REALM heads) reads the exported folder and must
// agree with the app on the [CLS] states, Embed_input / Embed_doc, the retrieval scores (also over
// index/block_emb.npy) and the reader's MLM logits within 1e-4, for a small generated model in both
// LayerNorm placements and both GELUs. Skipped, saying so, where python3 with numpy is missing.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVAL_CTX, padBatch } from './bert';
import { makeConfig, type RealmConfig } from './config';
import { hfExportFiles } from './hf-export';
import { readerInput } from './knowledge-encoder';
import { RealmModel } from './realm-model';
import { SPECIAL_TOKENS } from '../corpus/tokenizer';

const SCRIPT = join(__dirname, '../../tools/bert_numpy_check.py');
const numpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
const numpyAvailable = numpy.status === 0;
if (!numpyAvailable)
  console.warn(
    `hf-numpy-check.test: skipped, python3 with numpy is not available here (${numpy.error?.message ?? `exit ${numpy.status}`})`,
  );

beforeAll(async () => {
  await tf.setBackend('cpu');
});
const root = mkdtempSync(join(tmpdir(), 'realm-hf-check-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const VOCAB = [...SPECIAL_TOKENS, ...Array.from({ length: 45 }, (_, i) => `w${i}`)];
const QUERIES = [
  [2, 7, 9, 4, 11, 3],
  [2, 5, 4, 3],
  [2, 30, 31, 32, 33, 34, 4, 3],
];
const DOCS = [
  [2, 12, 3, 13, 14, 15, 3],
  [2, 3, 3],
  [2, 20, 21, 3, 22, 23, 24, 25, 26, 3],
  [2, 40, 3, 41, 3],
];

function randomModel(cfg: RealmConfig, seed: number): RealmModel {
  let s = seed;
  const m = new RealmModel(cfg, () => s++);
  for (const v of m.variables().values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.2, 'float32', s++))));
  return m;
}

const list = (t: tf.Tensor) => t.arraySync() as unknown;

/** Writes the export and the case (inputs, the app's outputs) to `dir`; returns the two folders. */
async function writeCase(cfg: RealmConfig, dir: string): Promise<{ exportDir: string; caseDir: string }> {
  const m = randomModel(cfg, 11);
  const exportDir = join(dir, 'export');
  const caseDir = join(dir, 'case');
  mkdirSync(caseDir, { recursive: true });
  const q = padBatch(QUERIES, cfg.maxQueryLength);
  const d = padBatch(DOCS, cfg.maxDocLength);
  const readerRows = QUERIES.map((x, i) => readerInput(x, DOCS[i % DOCS.length], cfg.maxReaderLength));
  const r = padBatch(readerRows, cfg.maxReaderLength);
  const maskPositions = QUERIES.map((x) => [x.indexOf(4) > 0 ? x.indexOf(4) : 1, 1]);
  const outputs = tf.tidy(() => {
    const cls = (h: tf.Tensor3D) => h.slice([0, 0, 0], [-1, 1, -1]).squeeze([1]);
    const qEmb = m.embedInput.embed(q.ids, q.segments, EVAL_CTX); // [3, d]
    const dEmb = m.embedDoc.embed(d.ids, d.segments, EVAL_CTX); // [4, d]
    return {
      query_cls: cls(m.embedInput.encoder.forward(q.ids, q.segments, EVAL_CTX)), // [3, H]
      doc_cls: cls(m.embedDoc.encoder.forward(d.ids, d.segments, EVAL_CTX)),
      reader_cls: cls(m.reader.encoder.forward(r.ids, r.segments, EVAL_CTX)),
      query_emb: qEmb,
      doc_emb: dEmb,
      scores: tf.matMul(qEmb, dEmb, false, true), // [3, 4]
      mlm_logits: m.reader.mlmLogits(r.ids, r.segments, tf.tensor2d(maskPositions, undefined, 'int32'), EVAL_CTX), // [3, 2, V]
    };
  });
  const expected = Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, list(t)]));
  tf.dispose(Object.values(outputs));
  // The index as the app builds it: Embed_doc over the block rows, batched and bucketed on its own.
  const blockEmb = m.embedDoc.embedRows(DOCS, cfg.maxDocLength);
  const index = {
    embeddings: blockEmb.dataSync() as Float32Array,
    count: DOCS.length,
    dim: cfg.retrieverDim,
    blocks: DOCS.map((ids, i) => ({ id: i, tokens: ids })),
  };
  for (const f of hfExportFiles(await m.getWeights(), cfg, VOCAB, { index })) {
    const path = join(exportDir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, Buffer.concat(f.chunks));
  }
  blockEmb.dispose();
  const inputs = {
    query_ids: list(q.ids),
    query_types: list(q.segments),
    doc_ids: list(d.ids),
    doc_types: list(d.segments),
    reader_ids: list(r.ids),
    reader_types: list(r.segments),
    reader_positions: maskPositions,
  };
  tf.dispose([q.ids, q.segments, d.ids, d.segments, r.ids, r.segments]);
  writeFileSync(join(caseDir, 'inputs.json'), JSON.stringify(inputs));
  writeFileSync(join(caseDir, 'expected.json'), JSON.stringify(expected));
  m.dispose();
  return { exportDir, caseDir };
}

describe('tools/bert_numpy_check.py agrees with the app on an export', () => {
  for (const [placement, gelu] of [
    ['post', 'erf'],
    ['post', 'tanh'],
    ['pre', 'tanh'],
    ['pre', 'erf'],
  ] as const) {
    it.skipIf(!numpyAvailable)(
      `${placement}-LN, ${gelu} GELU: [CLS] states, embeddings, retrieval scores, MLM logits within 1e-4`,
      async () => {
        const cfg = makeConfig('tiny', {
          vocabSize: VOCAB.length,
          layerNormPlacement: placement,
          geluVariant: gelu,
          layerNormEps: placement === 'post' ? 1e-12 : 1e-6,
          retrieverDim: 16,
        });
        const { exportDir, caseDir } = await writeCase(cfg, join(root, `${placement}-${gelu}`));
        const run = spawnSync('python3', [SCRIPT, exportDir, caseDir], { encoding: 'utf8' });
        console.log(run.stdout);
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        expect(run.stdout.match(/^ok /gm)?.length).toBe(9);
      },
    );
  }

  it.skipIf(!numpyAvailable)('fails on an export whose layout is wrong (the check can fail)', async () => {
    const cfg = makeConfig('tiny', {
      vocabSize: VOCAB.length,
      layerNormPlacement: 'post',
      geluVariant: 'erf',
      layerNormEps: 1e-12,
    });
    const { exportDir, caseDir } = await writeCase(cfg, join(root, 'wrong'));
    // Claim the tanh GELU in config.json: the numpy pass then computes another function.
    const configPath = join(exportDir, 'reader', 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    writeFileSync(configPath, JSON.stringify({ ...config, hidden_act: 'gelu_new' }));
    const run = spawnSync('python3', [SCRIPT, exportDir, caseDir], { encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(/FAIL reader \[CLS\] hidden state/);
    expect(run.stdout).toMatch(/ok {3}Embed_input\(x\)/);
  });
});
