// The Ask panel (issue #34): type a question (or pick one of the corpus's dev questions) and see what
// the run's model answers over its fixed index: the k retrieved documents with p(z|x), the best spans
// in each marked with their scores, and the answer; beside it the same question answered from BM25's
// k documents by the same reader. The reader is the fine-tuned model once the Training panel has
// fine-tuned the run; before that, the pre-trained model with a freshly initialised span head, and
// the answer says it is untrained. Corpus text is rendered as React text, never as HTML.
import * as tf from '@tensorflow/tfjs';
import { useCallback, useEffect, useState } from 'react';
import type { OpenQaAnswer } from '../model/qa-answer';
import { formatProbability, formatScore, spanSegments } from '../app/ask-view';
import { openQaSourceFor, type AskResult } from '../app/open-qa-source';
import type { Runtime } from '../app/runtime';
import { useOpenQa } from '../app/qa-store';
import { useStudio } from '../app/studio-store';
import { extendTestHook } from '../app/test-hook';
import './ask-panel.css';

function DocumentBody({ answer, j }: { answer: OpenQaAnswer; j: number }) {
  const d = answer.documents[j];
  const p = answer.prediction;
  const segs = spanSegments(d.body, d.spans, p && p.doc === j ? [p.charStart, p.charEnd] : null);
  return (
    <p className="ask-body">
      {segs.map((s, i) =>
        s.scores.length === 0 && !s.answer ? (
          <span key={i}>{s.text}</span>
        ) : (
          <mark
            key={i}
            className={s.answer ? 'ask-span ask-answer-span' : 'ask-span'}
            data-testid={s.answer ? 'ask-answer-span' : 'ask-span'}
            title={`span score${s.scores.length > 1 ? 's' : ''} S_read + S_retr: ${s.scores.map(formatScore).join(', ')}${s.answer ? ' (the answer)' : ''}`}
          >
            {s.text}
          </mark>
        ),
      )}
    </p>
  );
}

function AnswerColumn({ answer, title, testId, note }: { answer: OpenQaAnswer; title: string; testId: string; note: string }) {
  return (
    <div className="ask-column" data-testid={testId}>
      <h3>{title}</h3>
      <p className="muted small">{note}</p>
      <p className="ask-answer">
        Answer: <strong data-testid="ask-answer">{answer.answer || '(no span: nothing to extract)'}</strong>
        {answer.prediction && (
          <span className="muted small">
            {' '}
            score {formatScore(answer.prediction.score)}, from document {answer.prediction.doc + 1}
          </span>
        )}
      </p>
      <ol className="ask-docs">
        {answer.documents.map((d, j) => (
          <li key={`${d.row}:${j}`} data-testid="ask-doc" data-pz={d.probability} data-row={d.row}>
            <div className="ask-doc-head">
              <span className="ask-pz" title="p(z|x): softmax of the k documents' retrieval scores S_retr">
                p(z|x) {formatProbability(d.probability)}
              </span>
              <span className="muted small" title="S_retr(z, x) = Embed_input(x) · Embed_doc(z) (0 for BM25)">
                S_retr {formatScore(d.retrievalScore)}
              </span>
              <span className="ask-title">{d.row < 0 ? 'the null document' : d.title}</span>
            </div>
            <DocumentBody answer={answer} j={j} />
            {d.spans.length > 0 && (
              <ul className="ask-spans small" aria-label="best spans">
                {d.spans.map((s, i) => (
                  <li key={i}>
                    <q>{s.text}</q> <span className="muted">{formatScore(s.score)}</span>
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </div>
  );
}

export function AskPanel({ rt }: { rt: Runtime }) {
  const run = useStudio((s) => s.run);
  const status = useStudio((s) => s.status);
  const finetune = useOpenQa((s) => s.finetune);
  useOpenQa((s) => s.tick);
  const [question, setQuestion] = useState('');
  const [dev, setDev] = useState<string[]>([]);
  const [result, setResult] = useState<AskResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const source = openQaSourceFor(rt.store);

  // The dev questions of the run's corpus, as examples to pick; what belonged to another run is freed.
  useEffect(() => {
    setResult(null);
    setDev([]);
    void source.forgetOtherRuns(run?.settings.runId ?? null);
    if (!run) return;
    let live = true;
    source.context(run).then(
      (c) => live && setDev(c.dev.map((q) => q.question)),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [run, source]);

  const ft = finetune && run && finetune.runId === run.settings.runId ? finetune : null;
  const fineTuning = ft?.status === 'running' || ft?.status === 'preparing';
  const blocked = !run
    ? 'No run yet. Press Start in the Training panel; once the run is paused or done, ask it a question here.'
    : status === 'running'
      ? 'The run is training: pause it (or let it finish) to ask, so its weights stay still while it reads.'
      : fineTuning
        ? 'The run is being fine-tuned: ask when fine-tuning ends (or stop it).'
        : null;

  const ask = useCallback(
    async (q: string) => {
      if (!run) throw new Error('no run in the page');
      setAsking(true);
      setError(null);
      try {
        const r = await source.ask(run, q, ft?.reader() ?? null, ft?.settings.k ?? 5);
        setResult(r);
        return r;
      } catch (e) {
        setError(`${(e as Error).name}: ${(e as Error).message}`);
        throw e;
      } finally {
        setAsking(false);
      }
    },
    [run, ft, source],
  );

  useEffect(() => {
    extendTestHook('ask', {
      ask: (q: string) => ask(q),
      result: () => result,
      devQuestions: () => dev,
      numTensors: () => tf.memory().numTensors,
    });
  }, [ask, result, dev]);

  return (
    <section className="panel panel-ask" aria-labelledby="ask-title" data-testid="ask-panel">
      <h2 id="ask-title">
        Ask <span className="muted small">open-domain questions, answered from the run's fixed index</span>
      </h2>
      {blocked && (
        <p className="ask-note" role="status" data-testid="ask-stage">
          {blocked}
        </p>
      )}
      <form
        className="ask-form"
        onSubmit={(e) => {
          e.preventDefault();
          void ask(question).catch(() => {});
        }}
      >
        <label className="ask-question">
          Question
          <input
            type="text"
            value={question}
            onChange={(e) => setQuestion(e.target.value)}
            placeholder="e.g. Amsterdam is the capital of which country?"
            data-testid="ask-question"
          />
        </label>
        {dev.length > 0 && (
          <label>
            or a dev question
            <select
              value=""
              onChange={(e) => e.target.value !== '' && setQuestion(dev[Number(e.target.value)])}
              data-testid="ask-pick"
            >
              <option value="">pick one…</option>
              {dev.map((q, i) => (
                <option key={i} value={i}>
                  {q}
                </option>
              ))}
            </select>
          </label>
        )}
        <button type="submit" disabled={!!blocked || asking || !question.trim()} data-testid="ask-submit">
          {asking ? 'Asking…' : 'Ask'}
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="ask-result" data-answer-ms={result.answerMs.toFixed(0)}>
          <p className={result.reader.kind === 'fine-tuned' ? 'muted small' : 'ask-note'} data-testid="ask-reader">
            {result.reader.kind === 'fine-tuned'
              ? `Read by the model fine-tuned for Open-QA (${result.reader.finetuneSteps} steps from pre-training step ${result.reader.pretrainStep}).`
              : `Untrained span head: this run has not been fine-tuned, so the reader is the pre-trained model (step ${result.reader.pretrainStep}) with a freshly initialised span head and its answers are guesses. Retrieval is the pre-trained retriever's. Fine-tune it in the Training panel.`}{' '}
            k = {result.k}; answered in {(result.answerMs / 1000).toFixed(2)} s
            {result.prepareMs > 50 ? ` (after ${(result.prepareMs / 1000).toFixed(1)} s preparing the reader and its index)` : ''}
            .
          </p>
          <div className="ask-columns">
            <AnswerColumn
              answer={result.dense}
              title="REALM retriever"
              testId="ask-dense"
              note="The top k of Embed_input(x) · Embed_doc(z) over the fixed index."
            />
            <AnswerColumn
              answer={result.bm25}
              title="BM25"
              testId="ask-bm25"
              note="BM25's top k over the same passages, read by the same reader (S_retr = 0, so p(z|x) is uniform)."
            />
          </div>
        </div>
      )}
    </section>
  );
}
