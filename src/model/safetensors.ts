// The safetensors file format, written and read without a dependency (no npm package is a maintained
// writer). The format, as Hugging Face's specification gives it:
//   8 bytes   N, the header's length, an unsigned 64-bit little-endian integer
//   N bytes   a UTF-8 JSON object: for each tensor `name: {dtype, shape, data_offsets: [begin, end]}`,
//             and an optional `__metadata__` object of string values (transformers wants `format: pt`);
//             padded with spaces so that the data starts on an 8-byte boundary
//   the rest  the byte buffer: every tensor's bytes, little-endian, row-major; offsets are relative to
//             its start, and the tensors cover it entirely, without holes or overlaps.
// The writer streams: it yields the header, then each tensor's own bytes (views, not copies), so a
// large model never needs a second copy in memory. Only float32 ('F32') tensors are read and written:
// the dtype of every weight this app trains.

/** One tensor: its name in the file (e.g. `encoder.layer.0.attention.self.query.weight`), shape and values. */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A file that is not safetensors this app can read; the message says what is wrong. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`Not a readable safetensors file: ${message}.`);
    this.name = 'SafetensorsError';
  }
}

/** The reference implementation's limit on the header, which also keeps a hostile length from allocating. */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA = '__metadata__';

const elements = (shape: readonly number[]) => shape.reduce((a, d) => a * d, 1);

/** The 8-byte length and the padded JSON header for these tensors, in this order. */
export function safetensorsHeader(
  tensors: readonly Omit<NamedTensor, 'data'>[],
  metadata: Record<string, string> = { format: 'pt' },
): Uint8Array {
  const header: Record<string, unknown> = { [METADATA]: metadata };
  let offset = 0;
  const names = new Set<string>();
  for (const t of tensors) {
    if (t.name === METADATA || names.has(t.name))
      throw new Error(`safetensors: the tensor name ${t.name} is reserved or repeated`);
    if (!t.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new Error(`safetensors: ${t.name} has an invalid shape [${t.shape}]`);
    names.add(t.name);
    const bytes = 4 * elements(t.shape);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** The file as a sequence of chunks: the header, then each tensor's bytes. Concatenated, they are the file. */
export function* encodeSafetensors(tensors: readonly NamedTensor[], metadata?: Record<string, string>): Generator<Uint8Array> {
  for (const t of tensors)
    if (t.data.length !== elements(t.shape))
      throw new Error(`safetensors: ${t.name} has ${t.data.length} values for shape [${t.shape}]`);
  yield safetensorsHeader(tensors, metadata);
  // Float32Array is in the platform's byte order: little-endian on every browser and Node platform we run on.
  for (const t of tensors) yield new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** The whole file in one buffer (for tests and small models; large ones should stream `encodeSafetensors`). */
export function safetensorsBytes(tensors: readonly NamedTensor[], metadata?: Record<string, string>): Uint8Array {
  const chunks = [...encodeSafetensors(tensors, metadata)];
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a safetensors file: every tensor (float32 only) in file order, and the metadata. Checks the whole layout. */
export function decodeSafetensors(bytes: Uint8Array): { tensors: NamedTensor[]; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new SafetensorsError('it is shorter than the 8-byte header length');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8)))
    throw new SafetensorsError(`its header claims ${n} bytes, more than the file or the format allows`);
  const headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes.subarray(8, 8 + Number(n)));
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch {
    throw new SafetensorsError('its header is not JSON');
  }
  if (!isObject(header)) throw new SafetensorsError('its header is not a JSON object');
  const dataStart = 8 + Number(n);
  const dataBytes = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === METADATA) {
      if (!isObject(v) || !Object.values(v).every((x) => typeof x === 'string'))
        throw new SafetensorsError('its __metadata__ is not a map of strings');
      Object.assign(metadata, v);
      continue;
    }
    if (!isObject(v) || !Array.isArray(v.shape) || !Array.isArray(v.data_offsets) || v.data_offsets.length !== 2)
      throw new SafetensorsError(`the entry ${name} lacks a dtype, shape or data_offsets`);
    if (v.dtype !== 'F32')
      throw new SafetensorsError(
        `${name} is ${String(v.dtype)}; only F32 (float32) tensors can be loaded, so convert the checkpoint to float32 first`,
      );
    const shape = v.shape as unknown[];
    const [begin, end] = v.data_offsets as unknown[];
    if (!shape.every((d) => Number.isInteger(d) && (d as number) >= 0) || !Number.isInteger(begin) || !Number.isInteger(end))
      throw new SafetensorsError(`${name} has an invalid shape or offsets`);
    if ((end as number) - (begin as number) !== 4 * elements(shape as number[]))
      throw new SafetensorsError(
        `${name} of shape [${shape.join(', ')}] has ${(end as number) - (begin as number)} bytes, not ${4 * elements(shape as number[])}`,
      );
    entries.push({ name, shape: shape as number[], begin: begin as number, end: end as number });
  }
  // The tensors must cover the byte buffer exactly: sorted by offset, each starts where the last ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin);
  let at = 0;
  for (const e of sorted) {
    if (e.begin !== at)
      throw new SafetensorsError(
        `${e.name} starts at byte ${e.begin} of the data, where ${at} was expected (a hole or an overlap)`,
      );
    at = e.end;
  }
  if (at !== dataBytes) throw new SafetensorsError(`its tensors cover ${at} bytes of data, but the file holds ${dataBytes}`);
  const tensors = entries.map((e) => {
    // A copy: the file's buffer need not be 4-byte aligned at this offset, and the caller may drop the file.
    const data = new Float32Array(bytes.slice(dataStart + e.begin, dataStart + e.end).buffer);
    return { name: e.name, shape: e.shape, data };
  });
  return { tensors, metadata };
}
