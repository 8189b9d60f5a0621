// `npm run import -- FILE --out DIR`: turns a user's corpus file (.jsonl, .txt, .md, .tsv) into a corpus
// folder that `npm run train -- --corpus DIR`, `npm run eval` and the benches read: passages.jsonl,
// vocab.txt, cloze.jsonl and manifest.json, as the bundled folders in public/corpus/ have them.
//
// The passages go through `importPassages` (src/workers/corpus-import.ts), the very pipeline of the
// page's importer (parse, vocabulary, blocks, ids, `[CLS] title [SEP] body [SEP]` tokens, salient
// spans), with a folder as its sink instead of IndexedDB. Then, as `npm run build:corpus` does
// (src/corpus/corpus-summary.ts): held-out cloze items in a hash-chosen share of the passages
// (--cloze-share), the statistics and the answerable rate for the manifest.
//
// --vocab FILE tokenizes with a given vocab.txt (a model's) instead of training one on this corpus;
// the words it can only spell as [UNK] are counted, and their share printed and kept in the manifest.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openAsBlob, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseVocab, toJsonl, vocabToText, type CorpusManifest, type CorpusPassage } from '../src/corpus/corpus-format';
import { detectFormat, type BadRecord, type CorpusFormat } from '../src/corpus/corpus-parse';
import { answerableRate, corpusStats, selectClozeItems } from '../src/corpus/corpus-summary';
import { Rng } from '../src/corpus/rng';
import { SPAN_TYPES, type SpanType } from '../src/corpus/salient';
import { WordPieceTokenizer } from '../src/corpus/tokenizer';
import { formatEta, type Progress } from '../src/model/progress';
import type { ChunkRecord } from '../src/storage/db';
import { emptyStats, importPassages, Job } from '../src/workers/corpus-import';
import { realTextTools } from '../src/workers/corpus-importer-tools';
import { checkKnownOptions, CliArgsError, numOption, parseCliArgs } from './cli-args';

const HELP = `usage: npm run import -- FILE --out DIR [options]
  FILE                   a corpus file: .jsonl ({"title","text"} or {"contents"} per line; an "id" or "doc_id"
                         field is kept as docId), .txt (paragraphs), .md (sections) or DPR-style .tsv
  --out DIR              the corpus folder to write (passages.jsonl, vocab.txt, cloze.jsonl, manifest.json)
  --vocab FILE           tokenize with this vocab.txt (e.g. a model's) instead of training a vocabulary;
                         words it cannot spell become [UNK] and are counted
  --vocab-size N         size of the vocabulary trained on the corpus (default 8192, the page's)
  --cloze-share X        share of passages giving one held-out cloze item (default 0.05; 0: none)
  --seed N               seed of the cloze choice (default 1)
  --name TEXT            the corpus name in manifest.json (default: the file name)
  --format jsonl|txt|md|tsv   the file's format (default: from its extension)
  --max-pieces N         most wordpieces in one block (default 128)
  --force 1              write into a folder that already holds a corpus`;

export interface ImportFolderOptions {
  out: string;
  /** Path of a vocab.txt to tokenize with; absent: a vocabulary is trained. */
  vocabFile?: string;
  vocabSize?: number;
  clozeShare?: number;
  seed?: number;
  name?: string;
  format?: CorpusFormat;
  maxPieces?: number;
  onProgress?: (p: Progress) => void;
}

export interface ImportFolderResult {
  manifest: CorpusManifest;
  /** The chunks as the pipeline made them (what the page would store). */
  chunks: ChunkRecord[];
  vocab: string[];
  bad: BadRecord[];
  badCount: number;
}

const sha1Unit = (s: string) => parseInt(createHash('sha1').update(s, 'utf8').digest('hex').slice(0, 8), 16) / 2 ** 32;

/** Imports `file` into the folder `o.out` through the page importer's pipeline; returns what it wrote. */
export async function importToFolder(file: string, o: ImportFolderOptions): Promise<ImportFolderResult> {
  if (!existsSync(file)) throw new CliArgsError(`${file} does not exist`);
  const fileName = basename(file);
  const format = o.format ?? detectFormat(fileName);
  const givenVocab = o.vocabFile ? parseVocab(readFileSync(o.vocabFile, 'utf8')) : undefined;
  if (givenVocab) {
    try {
      new WordPieceTokenizer(givenVocab);
    } catch (e) {
      // BERT's own vocab.txt has its special pieces elsewhere: toAppOrder (src/corpus/bert-vocab.ts) moves them.
      throw new Error(
        `--vocab ${o.vocabFile}: ${(e as Error).message.replace(/; retrain it or reload the corpus\.$/, '')} (BERT's order: see toAppOrder in src/corpus/bert-vocab.ts)`,
      );
    }
  }
  const chunks: ChunkRecord[] = [];
  let vocab: string[] = [];
  const stats = emptyStats();
  const job = new Job(o.onProgress);
  await importPassages(
    await openAsBlob(file),
    { fileName, format, vocab: givenVocab, vocabSize: o.vocabSize, maxPieces: o.maxPieces },
    {
      corpusId: `import:${fileName}`,
      tools: realTextTools,
      job,
      stats,
      sink: {
        putVocab: async (tokens) => void (vocab = tokens),
        putChunks: async (batch) => void chunks.push(...batch),
        heartbeat: async () => {},
      },
    },
  );

  const source = `import:${fileName}`;
  const passages: CorpusPassage[] = chunks.map((c) => ({
    id: c.id,
    title: c.title,
    text: c.text,
    source: c.source ?? source,
    ...(c.docId !== undefined ? { docId: c.docId } : {}),
    spans: (c.spans ?? []).map((s) => [s.start, s.end, s.type as SpanType] as [number, number, SpanType]),
  }));
  const spans = chunks.map((c) => c.spans ?? []);
  const clozeShare = o.clozeShare ?? 0.05;
  const seed = o.seed ?? 1;
  const cloze = selectClozeItems(passages, spans, { share: clozeShare, rng: new Rng(seed), unitHash: sha1Unit });
  const corpusStatsOut = corpusStats(passages, spans, (i) => chunks[i].tokenIds?.length ?? 0);
  corpusStatsOut.words = stats.words;
  corpusStatsOut.unkWords = stats.unkWords;
  corpusStatsOut.unkWordShare = stats.words > 0 ? Number((stats.unkWords / stats.words).toFixed(4)) : 0;
  const vocabText = vocabToText(vocab);
  const files = ['manifest.json', 'passages.jsonl', 'vocab.txt', 'cloze.jsonl'];
  const manifest: CorpusManifest = {
    name: o.name ?? fileName,
    id: fileName.replace(/\.[^.]*$/, ''),
    description: `Imported from ${fileName} with npm run import.`,
    counts: { passages: passages.length, cloze: cloze.length, qaTrain: 0, qaDev: 0, vocab: vocab.length },
    stats: corpusStatsOut,
    vocabSize: vocab.length,
    answerableRate: answerableRate(passages, cloze),
    files,
    import: {
      file: fileName,
      format,
      vocab: o.vocabFile ? resolve(o.vocabFile) : 'trained',
      vocabSha256: createHash('sha256').update(vocabText, 'utf8').digest('hex'),
      badRecords: job.badCount,
      duplicates: stats.duplicates,
      clozeShare,
      seed,
    },
  };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'passages.jsonl'), toJsonl(passages));
  writeFileSync(join(o.out, 'vocab.txt'), vocabText);
  writeFileSync(join(o.out, 'cloze.jsonl'), toJsonl(cloze));
  writeFileSync(join(o.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { manifest, chunks, vocab, bad: job.bad, badCount: job.badCount };
}

/** The summary `npm run import` prints. */
export function importSummary(r: ImportFolderResult, out: string): string {
  const m = r.manifest;
  const s = m.stats;
  const perType = SPAN_TYPES.map((t) => `${t} ${s.spansPerPassage[t]}`).join(', ');
  const unk =
    m.import!.vocab === 'trained'
      ? `a vocabulary of ${m.vocabSize} pieces trained on it`
      : `the given vocabulary (${m.vocabSize} pieces)`;
  const unkShare = s.words ? `${((100 * s.unkWords!) / s.words).toFixed(2)}%` : 'n/a';
  const lines = [
    `${out}: ${m.counts.passages} passages (blocks), ${s.tokens} tokens, ${s.sentences} sentences, ${m.import!.duplicates} duplicate blocks dropped, ${r.badCount} bad records`,
    `  tokenized with ${unk}: ${s.unkWords} of ${s.words} words fall to [UNK] (${unkShare})`,
    `  salient spans per passage: ${perType}; sentences with none ${(100 * s.fallbackRate).toFixed(1)}%`,
    `  held-out cloze items: ${m.counts.cloze} (share ${m.import!.clozeShare}), answer in another passage for ` +
      (m.counts.cloze > 0 ? `${(100 * m.answerableRate).toFixed(1)}%` : 'n/a'),
  ];
  for (const b of r.bad.slice(0, 10)) lines.push(`  bad line ${b.line}: ${b.reason}`);
  if (r.badCount > 10) lines.push(`  ... ${r.badCount - 10} more bad records`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { options: args, positional } = parseCliArgs(argv, 1);
  if (args.has('help')) {
    console.log(HELP);
    return;
  }
  checkKnownOptions(args, ['out', 'vocab', 'vocab-size', 'cloze-share', 'seed', 'name', 'format', 'max-pieces', 'force']);
  const [file] = positional;
  const out = args.get('out');
  if (!file || !out) throw new CliArgsError('give the corpus FILE and --out DIR');
  if (existsSync(join(out, 'passages.jsonl')) && args.get('force') !== '1')
    throw new CliArgsError(`${out} already holds a corpus: choose another --out, or pass --force 1 to overwrite it`);
  const format = args.get('format') as CorpusFormat | undefined;
  if (format && !['jsonl', 'txt', 'md', 'tsv'].includes(format)) throw new CliArgsError(`--format is jsonl, txt, md or tsv`);
  const clozeShare = numOption(args, 'cloze-share');
  if (clozeShare !== undefined && (clozeShare < 0 || clozeShare > 1)) throw new CliArgsError('--cloze-share is between 0 and 1');
  const t0 = performance.now();
  const result = await importToFolder(file, {
    out,
    vocabFile: args.get('vocab'),
    vocabSize: numOption(args, 'vocab-size'),
    clozeShare,
    seed: numOption(args, 'seed'),
    name: args.get('name'),
    format,
    maxPieces: numOption(args, 'max-pieces'),
    onProgress: (p) =>
      process.stderr.write(
        `\r${p.task} ${p.done.toLocaleString('en')}${p.total ? `/${p.total.toLocaleString('en')}` : ''} ${p.unit}  ETA ${formatEta(p.etaSeconds)}  ${p.detail ?? ''}   `,
      ),
  });
  process.stderr.write('\n');
  console.log(`${importSummary(result, out)}\n  (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`import: ${(e as Error).message}`);
    process.exit(1);
  });
}
