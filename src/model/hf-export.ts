// A whole REALM model as the folder of Hugging Face checkpoints that docs/scale-out.md loads, as a
// list of files made of chunks (views of the weights, not copies): the CLI streams them to disk, the
// page zips them. Pure: no DOM, no tfjs, no file system.
//
//   embed_input/  embed_doc/  reader/     model.safetensors, config.json, vocab.txt, tokenizer_config.json
//   index/block_emb.npy                   float32 [N, d]: Embed_doc of every block (when an index is given)
//   index/blocks.jsonl                    one JSON record a line, row i of block_emb.npy
//   realm_config.json                     the app's config (imports read it back)
import type { NamedWeights } from './bert';
import type { RealmConfig } from './config';
import { ENCODER_ROLES, exportEncoder, type EncoderRole } from './hf-layout';
import { encodeNpy } from './npy';
import { encodeSafetensors } from './safetensors';

export interface ExportFile {
  path: string;
  chunks: Uint8Array[];
}

/** The document index to write beside the encoders: embeddings [count, dim] and one record per row. */
export interface ExportIndex {
  embeddings: Float32Array;
  count: number;
  dim: number;
  blocks: readonly Record<string, unknown>[];
}

const text = (s: string) => [new TextEncoder().encode(s)];

export function hfExportFiles(
  weights: NamedWeights,
  cfg: RealmConfig,
  vocab: readonly string[],
  opts: { roles?: readonly EncoderRole[]; index?: ExportIndex } = {},
): ExportFile[] {
  const files: ExportFile[] = [];
  for (const role of opts.roles ?? ENCODER_ROLES) {
    const e = exportEncoder(weights, cfg, role, vocab);
    files.push({ path: `${role}/model.safetensors`, chunks: [...encodeSafetensors(e.tensors)] });
    files.push({ path: `${role}/config.json`, chunks: text(JSON.stringify(e.config, null, 2) + '\n') });
    files.push({ path: `${role}/vocab.txt`, chunks: text(e.vocab.join('\n') + '\n') });
    files.push({
      path: `${role}/tokenizer_config.json`,
      chunks: text(
        JSON.stringify({ tokenizer_class: 'BertTokenizer', do_lower_case: true, model_max_length: cfg.maxPositions }, null, 2) +
          '\n',
      ),
    });
  }
  const index = opts.index;
  if (index) {
    if (index.blocks.length !== index.count || index.embeddings.length !== index.count * index.dim)
      throw new Error(
        `the index has ${index.count} rows of ${index.dim}, ${index.embeddings.length} values and ${index.blocks.length} records`,
      );
    files.push({ path: 'index/block_emb.npy', chunks: encodeNpy([index.count, index.dim], index.embeddings) });
    files.push({ path: 'index/blocks.jsonl', chunks: text(index.blocks.map((b) => JSON.stringify(b) + '\n').join('')) });
  }
  files.push({ path: 'realm_config.json', chunks: text(JSON.stringify(cfg, null, 2) + '\n') });
  return files;
}

/**
 * The vocabulary as vocab.txt must list it: one piece for every embedding row. A run's stored
 * vocabulary may be shorter than vocabSize (rows never used); they are named `[unusedN]`, as BERT's are.
 */
export function paddedVocab(tokens: readonly string[], vocabSize: number): string[] {
  if (tokens.length > vocabSize)
    throw new Error(`the vocabulary has ${tokens.length} pieces, more than the model's ${vocabSize}`);
  const taken = new Set(tokens);
  const out = [...tokens];
  for (let i = 0; out.length < vocabSize; i++) if (!taken.has(`[unused${i}]`)) out.push(`[unused${i}]`);
  return out;
}
