// The safetensors writer and reader against the format's definition, and against an independent
// implementation: a numpy-only Python reader and writer (when python3 with numpy is on the machine).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, safetensorsBytes, SafetensorsError, type NamedTensor } from './safetensors';

const TENSORS: NamedTensor[] = [
  { name: 'embeddings.word_embeddings.weight', shape: [5, 3], data: Float32Array.from({ length: 15 }, (_, i) => i / 7 - 1) },
  { name: 'encoder.layer.0.attention.self.query.bias', shape: [3], data: Float32Array.of(0.5, -0.25, 3e-8) },
  { name: 'scalar', shape: [], data: Float32Array.of(42) },
  { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
];

const numpyAvailable = (() => {
  try {
    execFileSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!numpyAvailable)
  console.warn('safetensors.test: python3 with numpy is not available; the independent numpy checks are skipped');

// The format read and written by hand with struct, json and numpy only (no safetensors package).
const PY_READ = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
assert (8 + n) % 8 == 0, 'data not 8-byte aligned'
out = {'__metadata__': header.pop('__metadata__', None)}
for name, e in header.items():
    b, end = e['data_offsets']
    a = np.frombuffer(raw[8 + n + b: 8 + n + end], dtype='<f4').reshape(e['shape'])
    out[name] = {'dtype': e['dtype'], 'shape': list(a.shape), 'values': a.ravel().tolist()}
print(json.dumps(out))
`;
const PY_WRITE = `
import json, struct, sys, numpy as np
ts = {'b.weight': np.arange(6, dtype='<f4').reshape(2, 3) / 4, 'a.bias': np.array([-1.5, 2.0], dtype='<f4')}
header, blobs, at = {'__metadata__': {'format': 'pt'}}, [], 0
for name, a in ts.items():
    blob = a.tobytes(); header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [at, at + len(blob)]}
    blobs.append(blob); at += len(blob)
h = json.dumps(header).encode()
open(sys.argv[1], 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))
`;

describe('safetensors', () => {
  it('lays a file out as the format says: length, padded JSON header, contiguous little-endian data', () => {
    const bytes = safetensorsBytes(TENSORS);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header['embeddings.word_embeddings.weight']).toEqual({ dtype: 'F32', shape: [5, 3], data_offsets: [0, 60] });
    expect(header['encoder.layer.0.attention.self.query.bias']).toEqual({ dtype: 'F32', shape: [3], data_offsets: [60, 72] });
    expect(header.scalar).toEqual({ dtype: 'F32', shape: [], data_offsets: [72, 76] });
    expect(header.empty).toEqual({ dtype: 'F32', shape: [0, 4], data_offsets: [76, 76] });
    expect(bytes.length).toBe(8 + n + 76);
    // 0.5 as float32 little-endian is 00 00 00 3f.
    expect([...bytes.subarray(8 + n + 60, 8 + n + 64)]).toEqual([0, 0, 0, 0x3f]);
  });

  it('round-trips every tensor and the metadata', () => {
    const back = decodeSafetensors(safetensorsBytes(TENSORS, { format: 'pt', producer: 'realm-webgpu' }));
    expect(back.metadata).toEqual({ format: 'pt', producer: 'realm-webgpu' });
    expect(back.tensors.map((t) => [t.name, t.shape, [...t.data]])).toEqual(TENSORS.map((t) => [t.name, t.shape, [...t.data]]));
  });

  it('refuses damaged or foreign files with a message that says what is wrong', () => {
    const good = safetensorsBytes(TENSORS);
    const n = Number(new DataView(good.buffer).getBigUint64(0, true));
    const refuse = (bytes: Uint8Array, what: RegExp) => {
      expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes)).toThrow(what);
    };
    refuse(good.subarray(0, 5), /shorter than the 8-byte header length/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 2n ** 40n, true);
    refuse(huge, /claims 1099511627776 bytes/);
    refuse(good.subarray(0, good.length - 4), /cover 76 bytes of data, but the file holds 72/);
    const withF16 = (() => {
      const h = { x: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } };
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + 4);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    })();
    refuse(withF16, /x is F16; only F32/);
    const notJson = good.slice();
    notJson[8] = 0x5b; // '[' where '{' was: the header no longer parses
    refuse(notJson, /not JSON|not a JSON object/);
    expect(n).toBeGreaterThan(0);
  });

  it.skipIf(!numpyAvailable)('is read by a numpy-only reader with the same values (an independent check)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const file = join(dir, 'model.safetensors');
    writeFileSync(file, safetensorsBytes(TENSORS));
    const read = JSON.parse(execFileSync('python3', ['-c', PY_READ, file], { encoding: 'utf8' })) as Record<
      string,
      { dtype: string; shape: number[]; values: number[] }
    >;
    expect(read.__metadata__).toEqual({ format: 'pt' });
    for (const t of TENSORS) {
      expect(read[t.name].shape, t.name).toEqual(t.shape);
      expect(read[t.name].values, t.name).toEqual([...t.data]);
    }
  });

  it.skipIf(!numpyAvailable)('reads a file written by a numpy-only writer (unpadded header, another tensor order)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const file = join(dir, 'py.safetensors');
    execFileSync('python3', ['-c', PY_WRITE, file]);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(file)));
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.map((t) => [t.name, t.shape, [...t.data]])).toEqual([
      ['b.weight', [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25]],
      ['a.bias', [2], [-1.5, 2]],
    ]);
  });
});
