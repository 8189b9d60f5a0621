// Checkpoint files for Node (the train CLI): one JSON header (everything but the buffers, plus each
// buffer's name, shape, offset and length) and one binary file with the Float32 buffers back to back.
// In the browser the storage module persists the same RealmCheckpoint record in IndexedDB. Below:
// starting a new model from a checkpoint's weights (architecture from its config, fresh optimiser, step 0).
import type { NamedWeights } from './bert';
import type { RealmConfig } from './config';
import type { RealmModel } from './realm-model';
import type { RealmCheckpoint } from './trainer';

interface BufferEntry {
  name: string;
  shape: number[];
  offset: number;
  bytes: number;
}

interface CheckpointHeader extends Omit<RealmCheckpoint, 'weights' | 'optimizer'> {
  format: 'realm-checkpoint-1';
  weights: BufferEntry[];
  optimizer: BufferEntry[];
}

/** Serialises a checkpoint to a JSON header string and one binary blob. */
export function encodeCheckpoint(c: RealmCheckpoint): { header: string; data: Uint8Array } {
  let offset = 0;
  const entries = (ws: NamedWeights) =>
    ws.map((w) => {
      const e = { name: w.name, shape: w.shape, offset, bytes: w.data.byteLength };
      offset += w.data.byteLength;
      return e;
    });
  const header: CheckpointHeader = {
    ...c,
    format: 'realm-checkpoint-1',
    weights: entries(c.weights),
    optimizer: entries(c.optimizer),
  };
  const data = new Uint8Array(offset);
  [...c.weights, ...c.optimizer].reduce((at, w) => {
    data.set(new Uint8Array(w.data), at);
    return at + w.data.byteLength;
  }, 0);
  return { header: JSON.stringify(header), data };
}

export function decodeCheckpoint(header: string, data: Uint8Array): RealmCheckpoint {
  const h = JSON.parse(header) as CheckpointHeader;
  if (h.format !== 'realm-checkpoint-1')
    throw new Error(`not a REALM checkpoint header (format ${String(h.format)}): pass the .json written by npm run train`);
  const read = (es: BufferEntry[]): NamedWeights =>
    es.map((e) => {
      if (e.offset + e.bytes > data.byteLength)
        throw new Error(`checkpoint data is truncated at ${e.name}: copy the .bin file again`);
      // A copy of exactly these bytes: a Node Buffer's slice() is a view on its whole (pooled) memory.
      return {
        name: e.name,
        shape: e.shape,
        data: new Uint8Array(data.buffer, data.byteOffset + e.offset, e.bytes).slice().buffer,
      };
    });
  return { ...h, weights: read(h.weights), optimizer: read(h.optimizer) };
}

// ---- Starting a model from a checkpoint's weights (`npm run train -- --init PATH`, the warm starts) ----

/** The config fields that fix the weights' names and shapes: a model started from a checkpoint takes them from it. */
export const ARCHITECTURE_KEYS = [
  'vocabSize',
  'hidden',
  'layers',
  'heads',
  'intermediate',
  'maxPositions',
  'typeVocab',
  'retrieverDim',
  'shareRetrieverWeights',
] as const satisfies readonly (keyof RealmConfig)[];

type Architecture = Pick<RealmConfig, (typeof ARCHITECTURE_KEYS)[number]>;

/** A checkpoint cannot start this model; the message says what differs and what to do. */
export class InitCheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InitCheckpointError';
  }
}

/** The config a checkpoint was saved with (`extra.config`, written by RealmTrainer.checkpoint). */
export function checkpointConfig(c: RealmCheckpoint): RealmConfig {
  const config = c.extra?.config as RealmConfig | undefined;
  if (!config || typeof config.hidden !== 'number')
    throw new InitCheckpointError(
      `the checkpoint of run "${c.runId}" does not say its config (extra.config): save it with npm run train or RealmTrainer.checkpoint`,
    );
  return config;
}

/**
 * The architecture of a checkpoint's model, to put over a run's config. `asked` are the fields the
 * user set explicitly: one that differs from the checkpoint's is an error, not silently overridden.
 */
export function initArchitecture(c: RealmCheckpoint, asked: Partial<RealmConfig> = {}): Architecture {
  const saved = checkpointConfig(c);
  const arch = Object.fromEntries(ARCHITECTURE_KEYS.map((k) => [k, saved[k]])) as Architecture;
  for (const k of ARCHITECTURE_KEYS) {
    if (asked[k] !== undefined && asked[k] !== arch[k])
      throw new InitCheckpointError(
        `${k} is ${String(asked[k])} here but ${String(arch[k])} in the checkpoint: a model started from it keeps its architecture (leave the option out)`,
      );
  }
  return arch;
}

/**
 * Loads a checkpoint's weights into `model` (every weight of the model must be there, with its shape);
 * the optimiser, the step count and the RNG are not touched: a run started so begins at step 0 with a
 * fresh AdamW.
 */
export function initModelWeights(model: RealmModel, c: RealmCheckpoint): void {
  const have = new Set(c.weights.map((w) => w.name));
  const missing = model.store.names().filter((n) => !have.has(n));
  if (missing.length > 0)
    throw new InitCheckpointError(
      `the checkpoint lacks ${missing.length} of the model's weights (first: ${missing[0]}): it was saved by another architecture`,
    );
  const wanted = new Set(model.store.names());
  model.setWeights(c.weights.filter((w) => wanted.has(w.name)));
}
