// The ablation table's Open-QA columns (issue #35 over #34's fine-tuning), shared by `npm run ablate`
// and the page's Ablations panel:
//   EM    openQaExecutor: the row's model → openQaModel (a fresh span head from the seed) →
//         OpenQaFinetuner on the QA training set (onStep after every step) → evaluateOpenQa's exact
//         match on the dev set, retrieving from the fixed index of the fine-tuned model's Embed_doc.
//   R@5   openQaZeroShotRecall: the row's model before any fine-tuning, retrievalRecall over a fixed
//         index of every passage, with evaluateOpenQa's rule (QA_RECALL_RULE: an answer's wordpieces
//         in the body of a retrieved document as the reader sees it), so both columns count an answer
//         the same way.
// The evidence (every passage as the retriever and reader read it) depends on the model's
// maxDocLength and is built once per length.
import type { QaItem } from '../corpus/corpus-format';
import type { WordPieceTokenizer } from '../corpus/tokenizer';
import type { QaExecutor, ZeroShotRecallFn } from './ablation-runner';
import { checkpointConfig } from './checkpoint';
import { evaluateOpenQa, retrievalRecall } from './qa-answer';
import { OpenQaFinetuner, openQaModel, FINETUNE_DEFAULTS, type FinetuneOptions } from './qa-finetune';
import { denseRetrieval, FixedDocumentIndex, qaEvidence, type EvidencePassage, type QaEvidence } from './qa-retrieval';

/** The corpus a table's QA columns read: its passages (row order), vocabulary and QA sets. */
export interface AblationQaCorpus {
  passages: readonly EvidencePassage[];
  tokenizer: WordPieceTokenizer;
  train: readonly QaItem[];
  dev: readonly QaItem[];
}

/** The evidence of `corpus` at each maxDocLength asked for, built once. */
function evidenceCache(corpus: AblationQaCorpus): (maxDocLength: number) => QaEvidence {
  const cache = new Map<number, QaEvidence>();
  return (len) => {
    let e = cache.get(len);
    if (!e) cache.set(len, (e = qaEvidence(corpus.passages, corpus.tokenizer, len)));
    return e;
  };
}

/**
 * Zero-shot recall@k of a row's model (no fine-tuning): the dev questions against a fixed index of every
 * passage built with the model's Embed_doc, counted with evaluateOpenQa's rule.
 */
export function openQaZeroShotRecall(corpus: AblationQaCorpus, k = 5): ZeroShotRecallFn {
  const evidence = evidenceCache(corpus);
  return async (model) => {
    if (corpus.dev.length === 0) throw new Error('the corpus has no QA dev questions: the table needs qa-dev.jsonl');
    const e = evidence(model.config.maxDocLength);
    const index = await FixedDocumentIndex.build(model, e);
    try {
      const recall = await retrievalRecall(model, e, corpus.tokenizer, denseRetrieval(model, index), corpus.dev, k);
      return { recall, queries: corpus.dev.length };
    } finally {
      index.dispose();
    }
  };
}

/**
 * Fine-tunes each row's model on the corpus's QA training set (`options`: steps, k, batch, learning rate;
 * the seed is the job's) and returns dev exact match. `guardStep` wraps every step (the CLI's wasm guard).
 */
export function openQaExecutor(
  corpus: AblationQaCorpus,
  options: Partial<Omit<FinetuneOptions, 'seed'>> = {},
  guardStep: <T>(what: string, step: () => Promise<T>) => Promise<T> = (_w, s) => s(),
): QaExecutor {
  const o = { ...FINETUNE_DEFAULTS, ...options };
  const evidence = evidenceCache(corpus);
  return {
    steps: o.steps,
    async finetuneAndEvaluate(checkpoint, { seed, onStep }) {
      if (corpus.train.length === 0 || corpus.dev.length === 0)
        throw new Error('the corpus has no QA training or dev questions: the EM column needs qa-train.jsonl and qa-dev.jsonl');
      const e = evidence(checkpointConfig(checkpoint).maxDocLength);
      const model = openQaModel(checkpoint, seed);
      const ft = await OpenQaFinetuner.create(model, e, corpus.tokenizer, corpus.train, { ...o, seed });
      try {
        for (let i = 0; i < o.steps; i++) {
          await guardStep(`fine-tuning step ${i + 1} (batch ${o.batchSize}, k ${o.k})`, () => ft.step());
          onStep?.(i + 1);
        }
        const r = await evaluateOpenQa(ft.model, e, corpus.tokenizer, denseRetrieval(ft.model, ft.index), corpus.dev, {
          k: o.k,
        });
        return { em: r.exactMatch, questions: r.questions };
      } finally {
        ft.dispose();
      }
    },
  };
}
