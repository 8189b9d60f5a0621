// Node side of the Hugging Face layout (src/model/hf-layout.ts): write an export folder, read a
// checkpoint folder, and start a model's encoders from one (`npm run train -- --init-hf DIR`).
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toAppOrder } from '../src/corpus/bert-vocab';
import type { RealmConfig } from '../src/model/config';
import type { ExportFile } from '../src/model/hf-export';
import {
  configFromHf,
  HfLayoutError,
  importEncoders,
  importRoles,
  type EncoderRole,
  type HfCheckpoint,
  type ImportTarget,
} from '../src/model/hf-layout';
import type { RealmModel } from '../src/model/realm-model';
import { decodeSafetensors } from '../src/model/safetensors';

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
  const { tensors } = decodeSafetensors(new Uint8Array(need('model.safetensors')));
  const config = JSON.parse(need('config.json').toString('utf8')) as Record<string, unknown>;
  const vocab = need('vocab.txt').toString('utf8').replace(/\r/g, '').replace(/\n$/, '').split('\n');
  return { tensors, config, vocab };
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
  const role = importRoles(target)[0];
  const config = configFromHf(readCheckpointFolder(folderFor(dir, role)).config, base);
  if (config.vocabSize !== base.vocabSize)
    throw new HfLayoutError(
      [`the checkpoint has ${config.vocabSize} wordpieces, the corpus ${base.vocabSize}`],
      "The corpus must be tokenized with the checkpoint's vocab.txt",
    );
  return config;
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
    const ckpt = readCheckpointFolder(folder);
    const { vocab, fromSource } = toAppOrder(ckpt.vocab);
    if (corpusVocab) {
      const differ = vocab.findIndex((p, i) => p !== corpusVocab[i]);
      if (vocab.length !== corpusVocab.length || differ >= 0)
        throw new HfLayoutError(
          [
            `the checkpoint's vocabulary (${vocab.length} pieces) is not the corpus's (${corpusVocab.length})` +
              (differ >= 0 ? `: id ${differ} is "${vocab[differ]}" there and "${corpusVocab[differ]}" here` : ''),
          ],
          "Tokenize the corpus with the checkpoint's vocab.txt first",
        );
    }
    const { weights, skippedHeads } = importEncoders(ckpt, model.config, [role], fromSource);
    model.setWeights(weights);
    notes.push(
      `${role}: ${weights.length} weights from ${folder}` +
        (skippedHeads.length ? `; kept the initialisation of ${skippedHeads.join(', ')}` : ''),
    );
  }
  return notes;
}
