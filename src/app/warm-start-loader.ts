// Fetches a warm start folder (public/warmstart/<name>/, see src/model/warm-start.ts) for a run in the
// page: manifest.json first (it says every other file's size), then checkpoint.json, checkpoint.bin and
// vocab.txt, streamed with progress in bytes through the one progress type. `openWarmStart` then checks
// each file's size and SHA-256 before anything is used: a missing, truncated or altered file is refused
// with a WarmStartError that names it, and nothing stored (corpora, runs) is touched.
import { ProgressMeter, type Progress } from '../model/progress';
import { openWarmStart, WarmStartError, type WarmStart, type WarmStartManifest } from '../model/warm-start';

/** The shipped warm start, relative to the page (public/warmstart/mini/). */
export const WARM_START_DIR = 'warmstart/mini/';

/** The warm start a page run fetches: WARM_START_DIR under the page's base. */
export function warmStartUrl(appBase = globalThis.document?.baseURI ?? 'http://localhost/'): string {
  return new URL(WARM_START_DIR, appBase).href;
}

/** What a run keeps of the warm start it started from (in its stored settings), to refetch its vocabulary on resume. */
export interface WarmStartRef {
  url: string;
  preset: string;
  vocabHash: string;
  vocabPieces: number;
  /** SHA-256 of its vocab.txt (the manifest's), checked when a resumed run fetches it again. */
  vocabSha256: string;
}

export function warmStartRef(url: string, w: WarmStart): WarmStartRef {
  return {
    url,
    preset: w.manifest.preset,
    vocabHash: w.manifest.vocabulary.hash,
    vocabPieces: w.vocab.length,
    vocabSha256: w.manifest.files['vocab.txt'].sha256,
  };
}

async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The vocabulary of the warm start a stored run started from (to resume it): its vocab.txt fetched
 * again and checked against the SHA-256 the run stored. Throws WarmStartError when it changed.
 */
export async function fetchWarmStartVocab(ref: WarmStartRef, fetchFn: FetchFn = (url) => fetch(url)): Promise<string[]> {
  const bytes = await fetchFile(ref.url, 'vocab.txt', fetchFn, () => {});
  if ((await sha256Hex(bytes)) !== ref.vocabSha256)
    throw new WarmStartError(
      `vocab.txt at ${ref.url} is not the vocabulary this run started with (its SHA-256 differs): the run cannot read its corpus the same way`,
    );
  const lines = new TextDecoder().decode(bytes).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

type FetchFn = (url: string) => Promise<Response>;

async function fetchFile(
  baseUrl: string,
  name: string,
  fetchFn: FetchFn,
  onBytes: (n: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(name, baseUrl).href;
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (e) {
    throw new WarmStartError(`${name} could not be fetched from ${url} (${(e as Error).message})`);
  }
  if (!res.ok) throw new WarmStartError(`${name} is missing: ${url} answered HTTP ${res.status}`);
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer());
    onBytes(all.byteLength);
    return all;
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
    onBytes(value.byteLength);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Fetches and checks the warm start at `baseUrl` (a folder URL ending in '/'). Progress is in bytes of
 * the three files the manifest lists. Throws WarmStartError for a missing, truncated or altered file.
 */
export async function fetchWarmStart(
  baseUrl: string,
  onProgress?: (p: Progress) => void,
  fetchFn: FetchFn = (url) => fetch(url),
): Promise<WarmStart> {
  const manifestBytes = await fetchFile(baseUrl, 'manifest.json', fetchFn, () => {});
  const manifestText = new TextDecoder().decode(manifestBytes);
  let total = 0;
  try {
    const m = JSON.parse(manifestText) as Partial<WarmStartManifest>;
    for (const f of Object.values(m.files ?? {})) total += f.bytes;
  } catch {
    // openWarmStart says what is wrong with it
  }
  const meter = new ProgressMeter('warm-start', 'bytes', total);
  let done = 0;
  let lastReport = 0;
  const onBytes = (n: number) => {
    done += n;
    const now = performance.now();
    if (now - lastReport > 100 || done === total) {
      lastReport = now;
      onProgress?.(meter.at(done, 'fetching the warm start'));
    }
  };
  onProgress?.(meter.at(0, 'fetching the warm start'));
  const [checkpointHeader, checkpointData, vocab] = [
    await fetchFile(baseUrl, 'checkpoint.json', fetchFn, onBytes),
    await fetchFile(baseUrl, 'checkpoint.bin', fetchFn, onBytes),
    await fetchFile(baseUrl, 'vocab.txt', fetchFn, onBytes),
  ];
  onProgress?.(meter.at(done, 'checking SHA-256'));
  return openWarmStart({ manifest: manifestText, checkpointHeader, checkpointData, vocab });
}
