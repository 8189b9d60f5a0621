// Checkpoint files for Node (the train CLI): one JSON header (everything but the buffers, plus each
// buffer's name, shape, offset and length) and one binary file with the Float32 buffers back to back.
// In the browser the storage module persists the same RealmCheckpoint record in IndexedDB. Below:
// starting a new model from a checkpoint's weights (architecture from its config, fresh optimiser, step 0).
import type { NamedWeights } from './bert';
import { withConfigDefaults, type RealmConfig } from './config';
import type { RealmModel } from './realm-model';
import type { RealmCheckpoint } from './trainer';

interface BufferEntry {
  name: string;
  shape: number[];
  offset: number;
  bytes: number;
  /** How the bytes hold the values; absent = float32. Decoding always gives float32. */
  dtype?: 'float16';
}

interface CheckpointHeader extends Omit<RealmCheckpoint, 'weights' | 'optimizer'> {
  format: 'realm-checkpoint-1';
  weights: BufferEntry[];
  optimizer: BufferEntry[];
}

/**
 * Serialises a checkpoint to a JSON header string and one binary blob. `float16` stores the weights
 * (not the optimiser's moments) at half the size, rounded to nearest even (a shipped warm start).
 */
export function encodeCheckpoint(c: RealmCheckpoint, opts: { float16?: boolean } = {}): { header: string; data: Uint8Array } {
  const weights = opts.float16
    ? c.weights.map((w) => ({ ...w, data: toFloat16(new Float32Array(w.data)).buffer as ArrayBuffer }))
    : c.weights;
  let offset = 0;
  const entries = (ws: NamedWeights, half: boolean) =>
    ws.map((w) => {
      const e: BufferEntry = {
        name: w.name,
        shape: w.shape,
        offset,
        bytes: w.data.byteLength,
        ...(half ? { dtype: 'float16' as const } : {}),
      };
      offset += w.data.byteLength;
      return e;
    });
  const header: CheckpointHeader = {
    ...c,
    format: 'realm-checkpoint-1',
    weights: entries(weights, opts.float16 === true),
    optimizer: entries(c.optimizer, false),
  };
  const data = new Uint8Array(offset);
  [...weights, ...c.optimizer].reduce((at, w) => {
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
      const bytes = new Uint8Array(data.buffer, data.byteOffset + e.offset, e.bytes).slice();
      return {
        name: e.name,
        shape: e.shape,
        data: e.dtype === 'float16' ? (fromFloat16(new Uint16Array(bytes.buffer)).buffer as ArrayBuffer) : bytes.buffer,
      };
    });
  return { ...h, weights: read(h.weights), optimizer: read(h.optimizer) };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary16 bits of each value, rounded to nearest even; overflow gives infinity. */
export function toFloat16(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const b = u32[0];
    const sign = (b >>> 16) & 0x8000;
    const exp = (b >>> 23) & 0xff;
    let mant = b & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); // infinity or NaN
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      // Subnormal (or zero): the implicit 1 joins the mantissa, shifted right by 1 - e more.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      const rest = mant & ((1 << shift) - 1);
      let m = mant >>> shift;
      if (rest > half || (rest === half && m & 1)) m++;
      out[i] = sign | m;
      continue;
    }
    const rest = mant & 0x1fff;
    let h = sign | (e << 10) | (mant >>> 13);
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // a carry into the exponent is right
    out[i] = h;
  }
  return out;
}

/** Float32 values of binary16 bits. */
export function fromFloat16(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const sign = h[i] & 0x8000 ? -1 : 1;
    const exp = (h[i] >>> 10) & 0x1f;
    const mant = h[i] & 0x3ff;
    if (exp === 0) out[i] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) out[i] = mant ? NaN : sign * Infinity;
    else out[i] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return out;
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
  'spanReader',
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
  const saved = withConfigDefaults(checkpointConfig(c)); // a checkpoint from before spanReader: false
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
 * fresh AdamW. A span-reader model (Open-QA fine-tuning) may start from a pre-training checkpoint, which
 * has no `span/` weights: the span head then keeps its initialisation. A fine-tuned checkpoint's
 * `span/` weights load into a span-reader model and are left out of one without.
 */
export function initModelWeights(model: RealmModel, c: RealmCheckpoint): void {
  const have = new Set(c.weights.map((w) => w.name));
  const pretrainedOnly = !c.weights.some((w) => w.name.startsWith('span/'));
  const missing = model.store.names().filter((n) => !have.has(n) && !(pretrainedOnly && n.startsWith('span/')));
  if (missing.length > 0)
    throw new InitCheckpointError(
      `the checkpoint lacks ${missing.length} of the model's weights (first: ${missing[0]}): it was saved by another architecture`,
    );
  const wanted = new Set(model.store.names());
  model.setWeights(c.weights.filter((w) => wanted.has(w.name)));
}
