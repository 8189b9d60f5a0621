// What the Ask panel and the fine-tuning phase read beside the run's model (issue #34): the run's
// vocabulary, its corpus as Open-QA evidence (every passage as Embed_doc reads it, with its body text, so
// a span maps back to characters), and the corpus's bundled question sets (qa-train.jsonl for fine-tuning,
// qa-dev.jsonl for dev EM and the panel's examples). And the asking itself: a question answered twice,
// with the run's retriever over its fixed index and with BM25, by the same reader. The reader is the
// fine-tuned one when the run has been fine-tuned in the page; otherwise the pre-trained model with a
// freshly initialised span head, and the answer is labelled untrained. Asks go one at a time.
import type { QaItem } from '../corpus/corpus-format';
import { WordPieceTokenizer } from '../corpus/tokenizer';
import type { RealmCheckpoint } from '../model/trainer';
import { answerQuestion, type OpenQaAnswer } from '../model/qa-answer';
import { openQaModel } from '../model/qa-finetune';
import {
  bm25Retrieval,
  denseRetrieval,
  FixedDocumentIndex,
  qaEvidence,
  type DocumentRetrieval,
  type EvidencePassage,
  type QaEvidence,
} from '../model/qa-retrieval';
import type { RealmModel } from '../model/realm-model';
import type { RealmStore } from '../storage/db';
import type { PretrainingRun } from './pretraining-run';

/** What the Open-QA source reads of a run. */
export type QaRun = Pick<PretrainingRun, 'settings' | 'realmTrainer' | 'modelVocab' | 'status'>;

/** What it reads from storage (a RealmStore, or a stand-in in tests). */
export type QaStore = Pick<RealmStore, 'getVocab' | 'countChunks' | 'getChunks' | 'getEvalSets'>;

/** The run's vocabulary, its corpus as evidence, and the corpus's question sets. */
export interface QaContext {
  runId: string;
  tokenizer: WordPieceTokenizer;
  evidence: QaEvidence;
  /** BM25 over the evidence's wordpieces (built once per run). */
  bm25: DocumentRetrieval;
  train: QaItem[];
  dev: QaItem[];
}

/** No question set, no model with a span head, or a run that is training: what the user should do. */
export class OpenQaUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenQaUnavailableError';
  }
}

const PAGE = 512;

/** Questions of a stored eval set, checked item by item (a malformed one is left out). */
function qaItems(xs: unknown[] | undefined): QaItem[] {
  return (xs ?? []).filter(
    (x): x is QaItem =>
      !!x &&
      typeof (x as QaItem).question === 'string' &&
      Array.isArray((x as QaItem).answer) &&
      (x as QaItem).answer.length > 0 &&
      (x as QaItem).answer.every((a) => typeof a === 'string'),
  );
}

/** Loads the Open-QA context of `run` (its tokenizer, its corpus as evidence, the question sets). */
export async function loadQaContext(store: QaStore, run: QaRun): Promise<QaContext> {
  const { runId, corpusId, config } = run.settings;
  let tokens = run.modelVocab?.tokens;
  if (!tokens) {
    const v = await store.getVocab(corpusId);
    if (!v) throw new OpenQaUnavailableError(`Corpus "${corpusId}" has no vocabulary: re-import it in the Corpus panel.`);
    tokens = v.tokens;
  }
  const tokenizer = new WordPieceTokenizer(tokens);
  const count = await store.countChunks(corpusId);
  if (count === 0) throw new OpenQaUnavailableError(`The run's corpus "${corpusId}" is no longer in this browser.`);
  const passages: EvidencePassage[] = [];
  for (let from = 0; from < count; from += PAGE)
    for (const c of await store.getChunks(corpusId, from, PAGE)) passages.push({ id: c.id, title: c.title, text: c.text });
  const evidence = qaEvidence(passages, tokenizer, config.maxDocLength);
  const sets = await store.getEvalSets(corpusId);
  return {
    runId,
    tokenizer,
    evidence,
    bm25: bm25Retrieval(evidence),
    train: qaItems(sets?.qaTrain),
    dev: qaItems(sets?.qaDev),
  };
}

/**
 * The run's current weights as a checkpoint to start an Open-QA model from (openQaModel): weights and
 * config only, no optimiser state. The run must not be training (its weights would move under the read).
 */
export async function pretrainedWeights(run: QaRun): Promise<RealmCheckpoint> {
  if (run.status === 'running')
    throw new OpenQaUnavailableError('The run is training: pause it (or let it finish) first, so its weights stay still.');
  const t = run.realmTrainer;
  return {
    runId: run.settings.runId,
    step: t.stepCount,
    createdAt: Date.now(),
    phase: t.phaseAt()?.phase ?? 'done',
    weights: await t.model.getWeights(),
    optimizer: [],
    rngState: [],
    indexVersion: t.indexVersion,
    extra: { config: t.config },
  };
}

/** A model with a span head and its fixed index, as the Ask panel reads them. */
export interface QaReader {
  model: RealmModel;
  index: FixedDocumentIndex;
  /** 'fine-tuned': a fine-tuning run's model; 'untrained': the pre-trained model with a fresh span head. */
  kind: 'fine-tuned' | 'untrained';
  /** Pre-training step its weights come from, and fine-tuning steps taken (0 when untrained). */
  pretrainStep: number;
  finetuneSteps: number;
}

/** One question answered both ways. */
export interface AskResult {
  question: string;
  dense: OpenQaAnswer;
  bm25: OpenQaAnswer;
  k: number;
  reader: Omit<QaReader, 'model' | 'index'>;
  /** Wall time of the two answers (retrieval + reading), and of the one-time preparation before them. */
  answerMs: number;
  prepareMs: number;
}

interface Untrained {
  runId: string;
  step: number;
  model: RealmModel;
  index: FixedDocumentIndex;
}

/** The seed of an untrained span head's initialisation (the CLI's default fine-tuning seed). */
const UNTRAINED_SEED = 1;

export class OpenQaSource {
  private contexts = new Map<string, Promise<QaContext>>();
  private untrained: Untrained | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly store: QaStore) {}

  /** The Open-QA context of a run, loaded once. */
  context(run: QaRun): Promise<QaContext> {
    const id = run.settings.runId;
    let c = this.contexts.get(id);
    if (!c) {
      c = loadQaContext(this.store, run);
      c.catch(() => this.contexts.delete(id));
      this.contexts.set(id, c);
    }
    return c;
  }

  /** The pre-trained model of `run` at its current step with a fresh span head, and its fixed index (cached). */
  private async untrainedReader(run: QaRun, ctx: QaContext): Promise<QaReader> {
    const step = run.realmTrainer.stepCount;
    const u = this.untrained;
    if (!u || u.runId !== run.settings.runId || u.step !== step) {
      this.disposeUntrained();
      const model = openQaModel(await pretrainedWeights(run), UNTRAINED_SEED);
      try {
        const index = await FixedDocumentIndex.build(model, ctx.evidence);
        this.untrained = { runId: run.settings.runId, step, model, index };
      } catch (e) {
        model.dispose();
        throw e;
      }
    }
    const { model, index } = this.untrained!;
    return { model, index, kind: 'untrained', pretrainStep: step, finetuneSteps: 0 };
  }

  /**
   * Answers `question` with the run's retriever over the fixed index and with BM25, read by `reader`
   * (a fine-tuned model) or, without one, by the pre-trained model with an untrained span head.
   */
  ask(run: QaRun, question: string, reader: QaReader | null, k = 5): Promise<AskResult> {
    const job = this.queue.then(async () => {
      const text = question.trim();
      if (!text) throw new OpenQaUnavailableError('Type a question first.');
      const t0 = performance.now();
      const ctx = await this.context(run);
      if (!(Number.isInteger(k) && k >= 1 && k <= ctx.evidence.docs.ids.length))
        throw new OpenQaUnavailableError(`k must be a whole number from 1 to the ${ctx.evidence.docs.ids.length} passages.`);
      const r = reader ?? (await this.untrainedReader(run, ctx));
      const t1 = performance.now();
      const options = { k, spansPerDocument: 3 };
      const dense = await answerQuestion(r.model, ctx.evidence, ctx.tokenizer, denseRetrieval(r.model, r.index), text, options);
      const bm25 = await answerQuestion(r.model, ctx.evidence, ctx.tokenizer, ctx.bm25, text, options);
      const t2 = performance.now();
      return {
        question: text,
        dense,
        bm25,
        k,
        reader: { kind: r.kind, pretrainStep: r.pretrainStep, finetuneSteps: r.finetuneSteps },
        answerMs: t2 - t1,
        prepareMs: t1 - t0,
      };
    });
    this.queue = job.catch(() => {});
    return job;
  }

  /** Frees the untrained reader of any run but `runId` (a new run in the page), after the asks under way. */
  forgetOtherRuns(runId: string | null): Promise<void> {
    const job = this.queue.then(() => {
      if (this.untrained && this.untrained.runId !== runId) this.disposeUntrained();
      for (const id of [...this.contexts.keys()]) if (id !== runId) this.contexts.delete(id);
    });
    this.queue = job.catch(() => {});
    return job;
  }

  private disposeUntrained(): void {
    if (!this.untrained) return;
    this.untrained.index.dispose();
    this.untrained.model.dispose();
    this.untrained = null;
  }

  /** Frees the untrained reader and forgets the contexts (a new run, or the page going away). */
  dispose(): void {
    this.disposeUntrained();
    this.contexts.clear();
  }
}

const sources = new WeakMap<QaStore, OpenQaSource>();

/** One source per store (the panels may remount; the caches stay). */
export function openQaSourceFor(store: QaStore): OpenQaSource {
  let s = sources.get(store);
  if (!s) {
    s = new OpenQaSource(store);
    sources.set(store, s);
  }
  return s;
}
