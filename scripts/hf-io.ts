// Node side of the Hugging Face layout (src/model/hf-layout.ts): write an export folder, read a
// checkpoint folder, and start a model's encoders from one (`npm run train -- --init-hf DIR`).
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RealmConfig } from '../src/model/config';
import type { ExportFile } from '../src/model/hf-export';
import {
  hfEncoderWeights,
  hfRunConfig,
  importRoles,
  parseHfFolder,
  type EncoderRole,
  type HfCheckpoint,
  type ImportTarget,
} from '../src/model/hf-layout';
import type { RealmModel } from '../src/model/realm-model';

/** Streams each file's chunks to DIR/path (no whole-file copy). */
export async function writeExport(dir: string, files: readonly ExportFile[]): Promise<number> {
  let bytes = 0;
  for (const f of files) {
    const path = join(dir, f.path);
    mkdirSync(dirname(path), { recursive: true });
    const out = createWriteStream(path);
    for (const c of f.chunks) {
      bytes += c.byteLength;
      if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
  return bytes;
}

/** model.safetensors + config.json + vocab.txt of one folder. */
export function readCheckpointFolder(dir: string): HfCheckpoint {
  const need = (name: string) => {
    const p = join(dir, name);
    if (!existsSync(p))
      throw new Error(`${p} is missing: a checkpoint folder holds model.safetensors, config.json and vocab.txt (float32)`);
    return readFileSync(p);
  };
  return parseHfFolder({
    safetensors: new Uint8Array(need('model.safetensors')),
    config: need('config.json').toString('utf8'),
    vocab: need('vocab.txt').toString('utf8'),
  });
}

/**
 * The folder for each role: an app export has embed_input/, embed_doc/ and reader/; any other folder
 * (a public BERT) serves every role.
 */
function folderFor(dir: string, role: EncoderRole): string {
  return existsSync(join(dir, role, 'config.json')) ? join(dir, role) : dir;
}

/** '--init-encoders reader,embedders' | 'all' -> the import target. */
export function parseImportTarget(v: string | undefined): ImportTarget {
  const parts = new Set((v ?? 'all').split(',').map((s) => s.trim()));
  if (parts.has('all') || (parts.has('reader') && parts.has('embedders'))) return 'all';
  if (parts.size === 1 && (parts.has('reader') || parts.has('embedders'))) return [...parts][0] as ImportTarget;
  throw new Error(`--init-encoders takes reader, embedders or all (or reader,embedders), got "${v}"`);
}

/** `base` with the architecture of the checkpoint in `dir` (sizes, LayerNorm placement, GELU, ε). */
export function configForCheckpoint(dir: string, base: RealmConfig, target: ImportTarget): RealmConfig {
  return hfRunConfig(readCheckpointFolder(folderFor(dir, importRoles(target)[0])).config, base);
}

/**
 * Loads the checkpoint's encoders into `model`. `corpusVocab`, when known, must be the checkpoint's
 * vocabulary once put in the app's order (the corpus is tokenized with it). Returns notes to print.
 */
export function initFromCheckpoint(
  model: RealmModel,
  dir: string,
  target: ImportTarget,
  corpusVocab?: readonly string[],
): string[] {
  const notes: string[] = [];
  for (const role of importRoles(target)) {
    const folder = folderFor(dir, role);
    const { weights, skippedHeads } = hfEncoderWeights(readCheckpointFolder(folder), model.config, role, corpusVocab);
    model.setWeights(weights);
    notes.push(
      `${role}: ${weights.length} weights from ${folder}` +
        (skippedHeads.length ? `; kept the initialisation of ${skippedHeads.join(', ')}` : ''),
    );
  }
  return notes;
}
