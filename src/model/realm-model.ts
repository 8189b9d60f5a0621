// The whole REALM model: Embed_input, Embed_doc (separate BERTs by default) and the knowledge-augmented
// encoder with its tied MLM head, all in one named parameter store; with config.spanReader, also ORQA's
// span scorer for Open-QA fine-tuning (span-reader.ts).
import * as tf from '@tensorflow/tfjs';
import { BertEncoder, ParamStore, type NamedWeights, type SeedSource } from './bert';
import type { RealmConfig } from './config';
import { KnowledgeAugmentedEncoder } from './knowledge-encoder';
import { docEmbedderPrefixes, Retriever } from './retriever';
import { SpanReader } from './span-reader';

export class RealmModel {
  readonly store: ParamStore;
  readonly embedInput: Retriever;
  readonly embedDoc: Retriever;
  readonly reader: KnowledgeAugmentedEncoder;
  /** ORQA's span scorer under `span/`, only when config.spanReader is true. */
  readonly spanReader: SpanReader | null;

  /** `seed` draws the initialisation seeds (pass the run's RNG for a reproducible init). */
  constructor(
    readonly config: RealmConfig,
    seed: SeedSource,
  ) {
    this.store = new ParamStore(seed);
    const inputEncoder = new BertEncoder('embed_input', config, this.store);
    const { encoder } = docEmbedderPrefixes(config);
    const docEncoder = encoder === 'embed_input' ? inputEncoder : new BertEncoder('embed_doc', config, this.store);
    this.embedInput = new Retriever('embed_input', inputEncoder, config, this.store);
    this.embedDoc = new Retriever('embed_doc', docEncoder, config, this.store);
    this.reader = new KnowledgeAugmentedEncoder(config, this.store);
    this.spanReader = config.spanReader ? new SpanReader(config, this.store) : null;
  }

  /** Every trainable variable, by name. */
  variables(): Map<string, tf.Variable> {
    return this.store.vars;
  }

  parameterCount(): number {
    let n = 0;
    this.store.vars.forEach((v) => (n += v.size));
    return n;
  }

  getWeights(): Promise<NamedWeights> {
    return this.store.snapshot();
  }

  setWeights(weights: NamedWeights): void {
    this.store.load(weights);
  }

  dispose(): void {
    this.store.dispose();
  }
}

/**
 * The Embed_doc parameters θ′ as transferable buffers, for the index builder:
 * `DocEmbedder.fromWeights(config, snapshotDocEncoder(model))` rebuilds it in another thread.
 */
export function snapshotDocEncoder(model: RealmModel): Promise<NamedWeights> {
  return model.store.snapshot(model.embedDoc.paramNames());
}
