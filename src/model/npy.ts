// NumPy's .npy format, version 1.0, for float32 matrices (the document index as `block_emb.npy`):
//   6 bytes  the magic "\x93NUMPY", then 2 bytes: major 1, minor 0
//   2 bytes  the header's length, unsigned 16-bit little-endian
//   header   an ASCII Python dict literal, "{'descr': '<f4', 'fortran_order': False, 'shape': (N, d), }",
//            padded with spaces and ended by "\n" so the data starts on a 64-byte boundary
//   data     the values, little-endian, row-major.
// Streamed like the safetensors writer: the header, then a view of the values (no copy).

/** The header bytes of a float32 C-order array of this shape. */
export function npyHeader(shape: readonly number[]): Uint8Array {
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`npy: invalid shape [${shape.join(', ')}]`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + dict.length + 1; // magic + version + length, the dict, "\n"
  const total = Math.ceil(unpadded / 64) * 64;
  const headerLength = total - 10;
  if (headerLength > 0xffff) throw new Error('npy: header too long for version 1.0');
  const out = new Uint8Array(total);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, headerLength, true);
  const text = dict.padEnd(headerLength - 1, ' ') + '\n';
  out.set(new TextEncoder().encode(text), 10);
  return out;
}

/** The file as chunks (the header, then the values' own bytes). */
export function encodeNpy(shape: readonly number[], data: Float32Array): Uint8Array[] {
  const n = shape.reduce((a, d) => a * d, 1);
  if (n !== data.length) throw new Error(`npy: ${data.length} values for shape [${shape.join(', ')}]`);
  return [npyHeader(shape), new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
}
