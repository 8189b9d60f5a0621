// The page's checkpoint import without the page: a zip of an export, or of one BERT folder, read and
// applied to a new run's config and model (the browser flow is e2e/models-in-out.spec.ts).
import * as tf from '@tensorflow/tfjs';
import { zipSync, type Zippable } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import { hfExportFiles } from '../model/hf-export';
import { RealmModel } from '../model/realm-model';
import { SPECIAL_TOKENS } from '../corpus/tokenizer';
import { applyCheckpoint, readCheckpointZip } from './hf-transfer';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const VOCAB = [...SPECIAL_TOKENS, ...Array.from({ length: 35 }, (_, i) => `w${i}`)];
const zipOf = (files: { path: string; chunks: Uint8Array[] }[], prefix = '') => {
  const z: Zippable = {};
  for (const f of files) z[prefix + f.path] = Buffer.concat(f.chunks);
  return zipSync(z);
};

describe('starting a run from a checkpoint zip', () => {
  it("takes an export's architecture and every encoder's weights", async () => {
    const cfg = makeConfig('tiny', {
      vocabSize: VOCAB.length,
      layerNormPlacement: 'post',
      geluVariant: 'erf',
      layerNormEps: 1e-12,
    });
    const m = new RealmModel(cfg, () => 9);
    const files = hfExportFiles(await m.getWeights(), cfg, VOCAB);
    const staged = readCheckpointZip(zipOf(files, 'my-run/'), 'my-run.zip');
    expect([...staged.folders.keys()].sort()).toEqual(['embed_doc', 'embed_input', 'reader']);
    // a new run asked for the pre-LN default gets BERT's block from config.json
    const { config, weights, notes } = applyCheckpoint(staged, makeConfig('tiny', { vocabSize: VOCAB.length }), VOCAB);
    expect([config.layerNormPlacement, config.geluVariant, config.layerNormEps]).toEqual(['post', 'erf', 1e-12]);
    expect(notes).toEqual([]);
    const b = new RealmModel(config, () => 77);
    b.setWeights(weights);
    const [wa, wb] = [await m.getWeights(), await b.getWeights()];
    expect(wb.map((w) => w.name)).toEqual(wa.map((w) => w.name));
    wa.forEach((w, i) => expect(new Float32Array(wb[i].data), w.name).toEqual(new Float32Array(w.data)));
    m.dispose();
    b.dispose();
  });

  it('serves every encoder from one BERT folder, and refuses another vocabulary or a zip without a checkpoint', async () => {
    const cfg = makeConfig('tiny', { vocabSize: VOCAB.length, layerNormPlacement: 'post', geluVariant: 'erf' });
    const m = new RealmModel(cfg, () => 5);
    // one folder: the reader's files at the top of the zip
    const reader = hfExportFiles(await m.getWeights(), cfg, VOCAB, { roles: ['reader'] })
      .filter((f) => f.path.startsWith('reader/'))
      .map((f) => ({ ...f, path: f.path.slice('reader/'.length) }));
    const staged = readCheckpointZip(zipOf(reader), 'bert.zip');
    expect([...staged.folders.keys()]).toEqual(['*']);
    const { weights, notes } = applyCheckpoint(staged, cfg);
    expect(weights.some((w) => w.name === 'embed_doc/layer1/ffn/out/kernel')).toBe(true);
    expect(notes).toEqual([
      'embed_input keeps the initialisation of cls.dense.weight (embed_input/projection/kernel), cls.dense.bias (embed_input/projection/bias), cls.LayerNorm.weight (embed_input/projection_ln/gamma), cls.LayerNorm.bias (embed_input/projection_ln/beta)',
      'embed_doc keeps the initialisation of cls.dense.weight (embed_doc/projection/kernel), cls.dense.bias (embed_doc/projection/bias), cls.LayerNorm.weight (embed_doc/projection_ln/gamma), cls.LayerNorm.bias (embed_doc/projection_ln/beta)',
    ]);
    const other = [...VOCAB.slice(0, 6), 'zebra', ...VOCAB.slice(7)];
    expect(() => applyCheckpoint(staged, cfg, other)).toThrow(/wordpiece 6 is "w1" in the checkpoint and "zebra" in the corpus/);
    expect(() => applyCheckpoint(staged, { ...cfg, vocabSize: 99 })).toThrow(/the checkpoint has 40 wordpieces, the corpus 99/);
    expect(() => readCheckpointZip(zipSync({ 'x/model.safetensors': new Uint8Array(8) }), 'x.zip')).toThrow(
      /x\/ has model.safetensors but no config.json/,
    );
    expect(() => readCheckpointZip(new Uint8Array([1, 2, 3]), 'junk.zip')).toThrow(/junk.zip is not a zip file/);
    m.dispose();
  });
});
