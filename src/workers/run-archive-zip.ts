// Reading a zip file without trusting it: the central directory is walked first, bounded by the file's
// own length, so a record that claims millions of entries or a gigabyte-sized entry is refused before
// anything is inflated or allocated; then only the entries asked for are inflated, one group at a time.
import { strFromU8, unzipSync } from 'fflate';
import { MAX_UNPACKED_BYTES, RunArchiveError } from './run-archive-format';

/** More entries than any run archive has (a BERT-base checkpoint with AdamW slots has about 2,500). */
export const MAX_ZIP_ENTRIES = 20_000;

export interface ZipEntry {
  name: string;
  /** Bytes once inflated, as the central directory declares them. */
  size: number;
  compressedSize: number;
  /** 0 stored, 8 deflated. */
  method: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const EOCD_BYTES = 22;
const CENTRAL_BYTES = 46;

const notZip = (why: string) => new RunArchiveError('not-a-zip', `This file could not be unpacked as a zip file (${why}).`);

/** Folder entries and macOS resource forks, added when a zip is re-packed by hand, are skipped. */
export const isIgnoredEntry = (name: string) => name.endsWith('/') || name.startsWith('__MACOSX/');

/** The entries of a zip file, from its central directory, checked against the file's bounds and our caps. */
export function listZipEntries(bytes: Uint8Array): ZipEntry[] {
  if (bytes.length < EOCD_BYTES || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new RunArchiveError('not-a-zip', 'This file is not a zip file.');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record sits in the last 22 + 65,535 (comment) bytes.
  let eocd = -1;
  for (let i = bytes.length - EOCD_BYTES; i >= Math.max(0, bytes.length - EOCD_BYTES - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip('no end-of-central-directory record; the file may be truncated');
  const count = Math.max(view.getUint16(eocd + 8, true), view.getUint16(eocd + 10, true));
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (cdOffset === 0xffffffff || cdSize === 0xffffffff)
    throw new RunArchiveError('too-large', 'This archive uses the zip64 format, which run archives never need.');
  if (count > MAX_ZIP_ENTRIES)
    throw new RunArchiveError('too-large', `This archive claims ${count} entries; a run archive has at most ${MAX_ZIP_ENTRIES}.`);
  if (cdOffset + cdSize > eocd || cdSize < count * CENTRAL_BYTES)
    throw notZip(`its directory of ${count} entries does not fit in the file`);
  const entries: ZipEntry[] = [];
  const names = new Set<string>();
  let total = 0;
  for (let i = 0, at = cdOffset; i < count; i++) {
    if (at + CENTRAL_BYTES > cdOffset + cdSize || view.getUint32(at, true) !== CENTRAL_SIGNATURE)
      throw notZip(`entry ${i + 1} of its directory is damaged`);
    const method = view.getUint16(at + 10, true);
    const compressedSize = view.getUint32(at + 20, true);
    const size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const next = at + CENTRAL_BYTES + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (next > cdOffset + cdSize) throw notZip(`entry ${i + 1} of its directory runs past it`);
    const name = strFromU8(bytes.subarray(at + CENTRAL_BYTES, at + CENTRAL_BYTES + nameLength));
    at = next;
    if (isIgnoredEntry(name)) continue;
    if (names.has(name)) throw new RunArchiveError('corrupt-entry', `In this run archive, ${name} is stored twice.`);
    names.add(name);
    if (size === 0xffffffff || compressedSize === 0xffffffff)
      throw new RunArchiveError('too-large', `The entry ${name} uses the zip64 format, which run archives never need.`);
    if (method !== 0 && method !== 8) throw notZip(`the entry ${name} uses compression method ${method}`);
    if (method === 0 && compressedSize !== size) throw notZip(`the stored entry ${name} declares two sizes`);
    if (compressedSize > bytes.length) throw notZip(`the entry ${name} claims more bytes than the file has`);
    total += size;
    if (total > MAX_UNPACKED_BYTES)
      throw new RunArchiveError('too-large', `This archive unpacks to more than ${MAX_UNPACKED_BYTES / 2 ** 30} GiB.`);
    entries.push({ name, size, compressedSize, method });
  }
  return entries;
}

/**
 * Inflates the named entries only (each already checked by listZipEntries and the caller). The result
 * is a Map, so no entry name can reach an object's prototype (`__proto__`).
 */
export function inflateEntries(bytes: Uint8Array, names: ReadonlySet<string>): Map<string, Uint8Array> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => names.has(f.name) });
  } catch (e) {
    throw notZip((e as Error).message);
  }
  const out = new Map<string, Uint8Array>();
  for (const name of names) if (Object.prototype.hasOwnProperty.call(files, name)) out.set(name, files[name]);
  return out;
}
