// `npm run export -- --checkpoint RUN.realm.zip --out DIR`: a run's model in the Hugging Face layout
// (src/model/hf-export.ts; docs/scale-out.md says how to load it into transformers and go on).
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { docTokens } from '../src/corpus/data';
import { SPECIAL_TOKENS } from '../src/corpus/tokenizer';
import { checkpointConfig } from '../src/model/checkpoint';
import { validateConfig, withConfigDefaults, type RealmConfig } from '../src/model/config';
import { hfExportFiles, paddedVocab, type ExportIndex } from '../src/model/hf-export';
import { ENCODER_ROLES, importRoles } from '../src/model/hf-layout';
import { DocEmbedder } from '../src/model/retriever';
import type { NamedWeights } from '../src/model/bert';
import { readRunArchive } from '../src/workers/run-archive-reader';
import { corpusTrainingData } from './corpus-loader';
import { checkpointVocabFile, readCheckpoint } from './checkpoint-files';
import { parseImportTarget, writeExport } from './hf-io';

const HELP = `usage: npm run export -- --checkpoint PATH --out DIR [options]
  --checkpoint PATH     a run archive exported from the page (RUN.realm.zip), or a checkpoint of
                        npm run train or build:warmstart (PATH.json + PATH.bin, vocab.txt in its folder)
  --out DIR             the folder to write: embed_input/ embed_doc/ reader/ (model.safetensors,
                        config.json, vocab.txt), realm_config.json, and index/ with --corpus
  --encoders LIST       reader, embedders or all (default all)
  --corpus DIR          a corpus folder: also write index/block_emb.npy (Embed_doc of every passage,
                        float32 [N, d]) and index/blocks.jsonl; its vocab.txt is the vocabulary of a
                        train checkpoint`;

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') out.set('help', '1');
    else if (a.startsWith('--') && argv[i + 1] !== undefined) out.set(a.slice(2), argv[++i]);
    else throw new Error(`unexpected argument "${a}" (see --help)`);
  }
  return out;
}

interface Loaded {
  config: RealmConfig;
  weights: NamedWeights;
  vocab: string[] | null;
}

function load(path: string): Loaded {
  if (path.endsWith('.zip')) {
    const archive = readRunArchive(new Uint8Array(readFileSync(path)));
    if (!archive.checkpoint) throw new Error(`${path} holds no checkpoint: export the run from the page after it has saved one`);
    const settings = archive.run.config as { config: RealmConfig };
    return {
      config: withConfigDefaults(settings.config),
      weights: archive.checkpoint.weights,
      vocab: archive.vocab?.tokens ?? null,
    };
  }
  const ckpt = readCheckpoint(path); // npm run train's or build:warmstart's PATH.json + PATH.bin
  const config = withConfigDefaults(checkpointConfig(ckpt));
  validateConfig(config);
  const vocabFile = checkpointVocabFile(path);
  const vocab = vocabFile ? readFileSync(vocabFile, 'utf8').replace(/\n$/, '').split('\n') : null;
  return { config, weights: ckpt.weights, vocab };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.has('help') || !args.has('checkpoint') || !args.has('out')) {
    console.log(HELP);
    if (!args.has('help')) process.exitCode = 2;
    return;
  }
  await tf.setBackend('cpu');
  const { config, weights, vocab: archiveVocab } = load(args.get('checkpoint')!);
  const corpusDir = args.get('corpus');
  const corpus = corpusDir ? corpusTrainingData(corpusDir) : null;
  const vocab =
    archiveVocab ?? (corpusDir ? readFileSync(`${corpusDir}/vocab.txt`, 'utf8').replace(/\n$/, '').split('\n') : null);
  if (!vocab)
    process.stderr.write(
      'note: this checkpoint carries no vocabulary (a synthetic corpus, or no --corpus DIR): vocab.txt lists the special pieces and [unusedN] placeholders\n',
    );
  let index: ExportIndex | undefined;
  if (corpus) {
    const embedder = DocEmbedder.fromWeights(config, weights);
    const rows = corpus.passages.map((p) => docTokens(p, config.maxDocLength));
    const emb = embedder.embed(rows); // [N, d]
    index = {
      embeddings: (await emb.data()) as Float32Array,
      count: rows.length,
      dim: config.retrieverDim,
      blocks: corpus.passages.map((p, row) => ({ row, id: p.id, tokens: Array.from(rows[row]) })),
    };
    emb.dispose();
    embedder.dispose();
  }
  const roles = args.has('encoders') ? importRoles(parseImportTarget(args.get('encoders'))) : ENCODER_ROLES;
  const files = hfExportFiles(weights, config, paddedVocab(vocab ?? [...SPECIAL_TOKENS], config.vocabSize), { roles, index });
  const out = args.get('out')!;
  const bytes = await writeExport(out, files);
  process.stderr.write(
    `wrote ${files.length} files (${(bytes / 1e6).toFixed(1)} MB) to ${out}: ${roles.join(', ')}` +
      `${index ? `, index of ${index.count} blocks` : ''}; ${config.layerNormPlacement === 'post' ? 'BertModel (post-LN)' : 'MegatronBertModel (pre-LN)'}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`export failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
