import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { countParams, makeConfig } from './config';
import { RealmModel } from './realm-model';
import { modelWeightShapes, optimizerSlotShape } from './weight-shapes';

describe('modelWeightShapes', () => {
  for (const [label, over] of [
    ['separate retriever BERTs', {}],
    ['shared retriever BERT', { shareRetrieverWeights: true }],
    ['another width and depth', { hidden: 24, heads: 3, layers: 3, intermediate: 40, retrieverDim: 12, vocabSize: 77 }],
    ["BERT's post-LN block", { layerNormPlacement: 'post', geluVariant: 'erf' }],
    ['post-LN with a shared retriever BERT', { layerNormPlacement: 'post', shareRetrieverWeights: true }],
    ['the span reader (Open-QA fine-tuning)', { spanReader: true }],
  ] as const) {
    it(`names every weight of a real RealmModel with its shape (${label})`, () => {
      const config = makeConfig('tiny', { vocabSize: 50, ...over });
      const model = new RealmModel(config, () => 1);
      try {
        const real = new Map([...model.variables()].map(([name, v]) => [name, [...v.shape]]));
        const mirrored = modelWeightShapes(config);
        expect([...mirrored.keys()].sort()).toEqual([...real.keys()].sort());
        for (const [name, shape] of real) expect(mirrored.get(name), name).toEqual(shape);
        const total = [...mirrored.values()].reduce((n, s) => n + s.reduce((a, d) => a * d, 1), 0);
        expect(total).toBe(countParams(config).total);
      } finally {
        model.dispose();
      }
    });
  }

  it('gives the AdamW slots their shapes and refuses unknown ones', () => {
    const shapes = modelWeightShapes(makeConfig('tiny', { vocabSize: 50 }));
    expect(optimizerSlotShape(shapes, 'reader/mlm/output_bias/m')).toEqual([50]);
    expect(optimizerSlotShape(shapes, 'embed_input/projection/kernel/v')).toEqual([32, 32]);
    expect(optimizerSlotShape(shapes, 'reader/final_ln/gamma/t')).toEqual([1]);
    expect(optimizerSlotShape(shapes, 'reader/final_ln/gamma/x')).toBeUndefined();
    expect(optimizerSlotShape(shapes, 'nothing/m')).toBeUndefined();
    expect(tf.memory().numTensors).toBe(0);
  });
});
