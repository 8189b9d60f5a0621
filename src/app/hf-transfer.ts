// Models in and out of the page (docs/scale-out.md). Out: a stored run's model as a zip of Hugging
// Face checkpoint folders (src/model/hf-export.ts), the Runs panel's "Transformers" button. In: a zip
// of such folders, or of one public BERT, staged in the Runs panel; the next run started in the
// Training panel takes its architecture and starts its encoders from it (run-launcher.ts).
import { strFromU8, unzipSync, zipSync, type Zippable } from 'fflate';
import type { NamedWeights } from '../model/bert';
import { withConfigDefaults, type RealmConfig } from '../model/config';
import { hfExportFiles, paddedVocab, type ExportIndex } from '../model/hf-export';
import {
  ENCODER_ROLES,
  hfEncoderWeights,
  hfRunConfig,
  HfLayoutError,
  importRoles,
  parseHfFolder,
  type EncoderRole,
  type HfCheckpoint,
  type ImportTarget,
} from '../model/hf-layout';
import { SPECIAL_TOKENS } from '../corpus/tokenizer';
import type { RealmStore } from '../storage/db';

/** The zip's file name for a run. */
export const hfArchiveName = (runId: string) => `${runId.replace(/[^\w.-]+/g, '_')}-transformers.zip`;

/**
 * The latest checkpoint of `runId` as `embed_input/`, `embed_doc/`, `reader/` (model.safetensors,
 * config.json, vocab.txt, tokenizer_config.json), realm_config.json and, when the run built an index,
 * index/block_emb.npy with index/blocks.jsonl; zipped (the float data stored, not compressed).
 */
export async function exportRunForTransformers(store: RealmStore, runId: string): Promise<Uint8Array> {
  const run = await store.getRun(runId);
  if (!run) throw new Error(`Run ${runId} is not in this browser's storage any more: refresh the list of runs.`);
  const checkpoint = await store.latestCheckpoint(runId);
  if (!checkpoint) throw new Error(`Run ${runId} has no checkpoint yet: train until it saves one, then export.`);
  const [runVocab, corpusVocab] = await Promise.all([store.getRunVocab(runId), store.getVocab(run.corpusId)]);
  const config = withConfigDefaults((run.config as { config: RealmConfig }).config);
  const tokens = runVocab ?? corpusVocab?.tokens ?? [...SPECIAL_TOKENS];
  // The newest index this run built, with its blocks' text: index/block_emb.npy + index/blocks.jsonl.
  const emb = await store.latestEmbeddings(run.corpusId, runId);
  let index: ExportIndex | undefined;
  if (emb) {
    const chunks = await store.getChunks(run.corpusId, 0, emb.count);
    index = {
      embeddings: emb.vectors,
      count: emb.count,
      dim: emb.dim,
      blocks: Array.from({ length: emb.count }, (_, row) => ({
        row,
        id: emb.ids?.[row] ?? chunks[row]?.id,
        title: chunks[row]?.title,
        text: chunks[row]?.text,
        indexVersion: emb.version,
        snapshotStep: emb.snapshotStep,
      })),
    };
  }
  const files = hfExportFiles(checkpoint.weights, config, paddedVocab(tokens, config.vocabSize), { index });
  const zippable: Zippable = {};
  for (const f of files) {
    const data = f.chunks.length === 1 ? f.chunks[0] : concat(f.chunks);
    zippable[f.path] = [data, { level: /\.(safetensors|npy)$/.test(f.path) ? 0 : 6 }];
  }
  return zipSync(zippable);
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.byteLength), 0);
  return out;
}

// ---- import: a checkpoint zip staged for the next run ----

/** A checkpoint read from a zip: its folders by role ('*' for a plain BERT that serves every role). */
export interface StagedCheckpoint {
  name: string;
  folders: Map<EncoderRole | '*', HfCheckpoint>;
  target: ImportTarget;
}

/**
 * Reads a zip holding model.safetensors + config.json + vocab.txt, either once (a public BERT, at the
 * top or in one folder) or per encoder in embed_input/, embed_doc/ and reader/ folders (an export).
 */
export function readCheckpointZip(bytes: Uint8Array, name: string, target: ImportTarget = 'all'): StagedCheckpoint {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch {
    throw new HfLayoutError([`${name} is not a zip file`], 'Cannot read the checkpoint');
  }
  const folders = new Map<EncoderRole | '*', HfCheckpoint>();
  const problems: string[] = [];
  for (const path of Object.keys(files).filter((p) => p === 'model.safetensors' || p.endsWith('/model.safetensors'))) {
    const dir = path.slice(0, -'model.safetensors'.length);
    const parent = dir.split('/').filter(Boolean).at(-1) ?? '';
    const role = (ENCODER_ROLES as readonly string[]).includes(parent) ? (parent as EncoderRole) : '*';
    const config = files[`${dir}config.json`];
    const vocab = files[`${dir}vocab.txt`];
    if (!config || !vocab) {
      problems.push(`${dir || 'the top folder'} has model.safetensors but no ${config ? 'vocab.txt' : 'config.json'}`);
      continue;
    }
    folders.set(role, parseHfFolder({ safetensors: files[path], config: strFromU8(config), vocab: strFromU8(vocab) }));
  }
  if (folders.size === 0 && problems.length === 0)
    problems.push(`${name} holds no model.safetensors (a checkpoint is model.safetensors + config.json + vocab.txt)`);
  for (const role of importRoles(target))
    if (folders.size > 0 && !folders.has(role) && !folders.has('*')) problems.push(`no ${role}/ folder for the ${role} encoder`);
  if (problems.length > 0) throw new HfLayoutError(problems, `Cannot start from ${name}`);
  return { name, folders, target };
}

let staged: StagedCheckpoint | null = null;

/** Keeps a checkpoint for the next new run (the Training panel's Start); returns what it holds, in words. */
export function stageCheckpoint(c: StagedCheckpoint): string {
  staged = c;
  const first = c.folders.values().next().value!;
  const arch = String((first.config.architectures as string[] | undefined)?.[0] ?? first.config.model_type);
  return `${c.name}: ${importRoles(c.target).join(', ')} from ${arch}, ${String(first.config.num_hidden_layers)} layers of ${String(first.config.hidden_size)}, ${first.vocab.length} wordpieces`;
}
export const stagedCheckpoint = () => staged;
export const clearStagedCheckpoint = () => {
  staged = null;
};

/**
 * The config a new run needs to run the staged checkpoint exactly (`base` with its architecture), and
 * the weights of the encoders it starts. The corpus must be tokenized with the checkpoint's
 * vocabulary: the same size, and (when `corpusTokens` is given) the same pieces in the app's order.
 */
export function applyCheckpoint(
  c: StagedCheckpoint,
  base: RealmConfig,
  corpusTokens?: readonly string[],
): { config: RealmConfig; weights: NamedWeights; notes: string[] } {
  const roles = importRoles(c.target);
  const folder = (role: EncoderRole) => c.folders.get(role) ?? c.folders.get('*')!;
  const config = hfRunConfig(folder(roles[0]).config, base);
  const weights: NamedWeights = [];
  const notes: string[] = [];
  for (const role of roles) {
    const r = hfEncoderWeights(folder(role), config, role, corpusTokens);
    weights.push(...r.weights);
    if (r.skippedHeads.length) notes.push(`${role} keeps the initialisation of ${r.skippedHeads.join(', ')}`);
  }
  return { config, weights, notes };
}
