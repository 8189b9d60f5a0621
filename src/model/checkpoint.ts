// Checkpoint files for Node (the train CLI): one JSON header (everything but the buffers, plus each
// buffer's name, shape, offset and length) and one binary file with the Float32 buffers back to back.
// In the browser the storage module persists the same RealmCheckpoint record in IndexedDB.
import type { NamedWeights } from './bert';
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
