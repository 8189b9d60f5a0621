// The CLI side of the Hugging Face layout: an export streamed to a folder is read back and starts a
// new model's encoders with the same weights (npm run train -- --init-hf DIR); a folder without a
// checkpoint, or another corpus size, is refused with a message.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../src/model/config';
import { hfExportFiles } from '../src/model/hf-export';
import { RealmModel } from '../src/model/realm-model';
import { SPECIAL_TOKENS } from '../src/corpus/tokenizer';
import { configForCheckpoint, initFromCheckpoint, parseImportTarget, writeExport } from './hf-io';

beforeAll(async () => {
  await tf.setBackend('cpu');
});
const root = mkdtempSync(join(tmpdir(), 'realm-hf-io-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const VOCAB = [...SPECIAL_TOKENS, ...Array.from({ length: 25 }, (_, i) => `w${i}`)];

describe('--init-hf', () => {
  it('starts every encoder from an npm run export folder with the same weights, and its architecture', async () => {
    const cfg = makeConfig('tiny', {
      vocabSize: VOCAB.length,
      layerNormPlacement: 'post',
      geluVariant: 'erf',
      layerNormEps: 1e-12,
    });
    const a = new RealmModel(cfg, () => 3);
    const dir = join(root, 'export');
    const bytes = await writeExport(dir, hfExportFiles(await a.getWeights(), cfg, VOCAB));
    expect(bytes).toBeGreaterThan(4 * a.parameterCount());
    const config = configForCheckpoint(dir, makeConfig('tiny', { vocabSize: VOCAB.length }), 'all');
    expect([config.layerNormPlacement, config.geluVariant, config.layerNormEps]).toEqual(['post', 'erf', 1e-12]);
    const b = new RealmModel(config, () => 99);
    const notes = initFromCheckpoint(b, dir, 'all', VOCAB);
    expect(notes.map((n) => n.split(':')[0])).toEqual(['embed_input', 'embed_doc', 'reader']);
    const [wa, wb] = [await a.getWeights(), await b.getWeights()];
    wa.forEach((w, i) => expect(new Float32Array(wb[i].data), w.name).toEqual(new Float32Array(w.data)));
    expect(() => configForCheckpoint(dir, makeConfig('tiny', { vocabSize: 31 }), 'reader')).toThrow(
      /the checkpoint has 30 wordpieces, the corpus 31/,
    );
    expect(() => initFromCheckpoint(b, join(root, 'nothing'), 'reader')).toThrow(/model.safetensors is missing/);
    a.dispose();
    b.dispose();
  });

  it('reads --init-encoders', () => {
    expect(parseImportTarget(undefined)).toBe('all');
    expect(parseImportTarget('reader,embedders')).toBe('all');
    expect(parseImportTarget('embedders')).toBe('embedders');
    expect(() => parseImportTarget('retriever')).toThrow(/--init-encoders takes reader, embedders or all/);
  });
});
