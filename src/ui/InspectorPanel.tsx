// The per-masked-token retrieval inspector. Pick a masked sentence x (held-out
// cloze, a training sentence, or one typed with [MASK]); see what the REALM step retrieves for it with
// the current weights and the index in use, how much each candidate z helps each masked token, and the
// prediction with and without retrieval. Pin a sentence to follow p(z|x) of its passages across index
// refreshes. Inspections go one at a time, on their own copy of the index, and dispose every tensor.
import * as tf from '@tensorflow/tfjs';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { RealmQuery } from '../corpus/data';
import type { WordPieceTokenizer } from '../corpus/tokenizer';
import { CandidateTable, type CandidateRow } from './inspector/CandidateTable';
import { EXPLAIN } from './inspector/explain';
import { formatSigned } from './inspector/format';
import { answersRanges } from './inspector/highlight';
import {
  InspectionError,
  inspectorSourceFor,
  NoIndexYetError,
  queryFromTypedText,
  type InspectorResult,
} from '../app/inspector-source';
import { PassageDialog, type OpenPassage } from './inspector/PassageDialog';
import { PinnedChart } from './inspector/PinnedChart';
import { pinLabels, pinPoint, topRowsOf, usePinHistory, watchSwaps } from '../app/pin-history';
import { pinLogEntry, restorePin, type PinPointLogRecord } from '../app/pin-log';
import { Predictions } from './inspector/Predictions';
import {
  latestBatchQueries,
  querySentence,
  sentenceChoices,
  sentenceKey,
  type QuerySentence,
  type SentenceChoice,
  type SourceKind,
} from './inspector/query-sentence';
import './inspector/inspector.css';
import type { PretrainingRun } from '../app/pretraining-run';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { type PinnedQuery } from '../app/pin-log';
import { extendTestHook } from '../app/test-hook';

interface InspectView {
  key: string;
  query: RealmQuery;
  spanType: string | null;
  sentence: QuerySentence;
  result: InspectorResult;
  rows: CandidateRow[];
}

type Message = { tone: 'info' | 'error'; text: string };

const SOURCES: { kind: SourceKind; label: string; hint: string }[] = [
  { kind: 'heldout', label: 'Held-out cloze', hint: 'Sentences never trained on; their masked span is a named entity or date.' },
  {
    kind: 'batch',
    label: 'Current batch',
    hint: 'The masked sentences of the training step just taken ("Latest batch" takes a later one).',
  },
  { kind: 'training', label: 'Training sentences', hint: 'The masked sentences the trainer samples its batches from.' },
  { kind: 'typed', label: 'Type your own', hint: 'Any sentence with [MASK] where the model should fill in a word.' },
];

/** The masks' true token ids grouped by span (the strings to highlight in passages). */
function spanAnswers(query: RealmQuery, sentence: QuerySentence): number[][] {
  const out: number[][] = sentence.answers.map(() => []);
  sentence.spanOfMask.forEach((s, j) => {
    if (s >= 0 && query.targets[j] >= 0) out[s].push(query.targets[j]);
  });
  return out.filter((a) => a.length > 0);
}

function makeView(
  tok: WordPieceTokenizer,
  key: string,
  query: RealmQuery,
  spanType: string | null,
  result: InspectorResult,
): InspectView {
  const sentence = querySentence(tok, query);
  const answers = spanAnswers(query, sentence);
  const rows = result.inspection.candidates.map((candidate, i) => {
    const passage = result.passages[i];
    return {
      candidate,
      passage,
      titleRanges: passage ? answersRanges(tok, passage.title, answers) : [],
      textRanges: passage ? answersRanges(tok, passage.text, answers) : [],
    };
  });
  return { key, query, spanType, sentence, result, rows };
}

/** Where the run stands, for the panel's guidance: no run, a warm-up phase, or ready to inspect. */
function stageOf(s: ReturnType<typeof useStudio.getState>): string {
  const run = s.run;
  if (!run) return 'none';
  if (run.realmTrainer.indexVersion > 0) return 'ready';
  return run.phase?.phase ?? 'done';
}

function StageNote({ stage }: { stage: string }) {
  if (stage === 'ready') return null;
  const text =
    stage === 'none'
      ? 'No run yet. Press Start in the Training panel: the inspector shows what the model retrieves once training reaches its REALM phase and the first index is built.'
      : stage === 'ict' || stage === 'mlm'
        ? `The run is in its ${stage.toUpperCase()} warm-up: retrieval starts in the REALM phase, with the first index. Wait for it (the Index panel shows the first build), then press Inspect.`
        : stage === 'done'
          ? 'This run ended without a REALM phase, so it has no index to inspect: start a run with REALM steps.'
          : 'The first index is being built; retrieval starts with it. Press Inspect in a moment.';
  return (
    <p className="inspector-note" role="status" data-testid="inspector-stage">
      {text}
    </p>
  );
}

function SentenceView({ view }: { view: InspectView }) {
  return (
    <div className="inspector-sentence-box">
      <p className="inspector-sentence" data-testid="inspector-sentence" title={EXPLAIN.x}>
        {view.sentence.pieces.map((p, i) =>
          p.span === null ? (
            <span key={i}>{p.text}</span>
          ) : (
            <mark key={i} className="masked-span" title="Masked span: the model reads [MASK] here and must predict these words">
              {p.text}
            </mark>
          ),
        )}
        {view.spanType && (
          <span className="span-type" title="Type of the masked span, as the corpus tagger labelled it">
            {view.spanType}
          </span>
        )}
      </p>
      <p className="muted small">
        the model reads: <span className="mono">{view.sentence.masked}</span>
      </p>
    </div>
  );
}

/** Starts the pinned sentence's chart for `run`, and puts the pin in that run's log. */
function startPinHistory(run: PretrainingRun, pinned: PinnedQuery): void {
  usePinHistory.getState().reset(pinned.id, run.settings.runId);
  void run.logPin(pinLogEntry(pinned));
}

/** Adds a point to the pinned sentence's chart and to its run's log. */
function addPinPoint(run: PretrainingRun, pinId: string, result: InspectorResult): void {
  const record: PinPointLogRecord = { pinId, point: pinPoint(result), labels: pinLabels(result), topRows: topRowsOf(result) };
  usePinHistory.getState().add(record.point, record.labels);
  void run.logPin({ kind: 'pin-point', record });
}

export function InspectorPanel({ rt }: { rt: Runtime }) {
  const source = inspectorSourceFor(rt.store);
  const run = useStudio((s) => s.run);
  const stage = useStudio(stageOf);
  const pinned = useStudio((s) => s.pinned);
  const pinPoints = usePinHistory((s) => s.points);
  const pinLabelMap = usePinHistory((s) => s.labels);
  const [tok, setTok] = useState<WordPieceTokenizer | null>(null);
  const [kind, setKind] = useState<SourceKind>('heldout');
  const [pick, setPick] = useState({ heldout: 0, batch: 0, training: 0 });
  const [batch, setBatch] = useState<SentenceChoice[]>([]);
  const [typed, setTyped] = useState({ text: 'The capital of France is [MASK].', answer: 'Paris' });
  const [view, setView] = useState<InspectView | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<number | null>(null);
  const viewRef = useRef<InspectView | null>(null);
  const tokRef = useRef<WordPieceTokenizer | null>(null);
  viewRef.current = view;
  tokRef.current = tok;

  const corpusId = run?.settings.corpusId ?? null;
  const modelVocab = run?.modelVocab;
  // A result belongs to the run that made it: a new run (or none) clears it.
  useEffect(() => {
    setView(null);
    setOpen(null);
  }, [run]);
  useEffect(() => {
    setTok(null);
    if (!corpusId) return;
    let live = true;
    source.tokenizer(corpusId, modelVocab).then(
      (t) => live && setTok(t),
      (e: Error) => live && setMessage({ tone: 'error', text: e.message }),
    );
    return () => {
      live = false;
    };
  }, [source, corpusId, modelVocab]);

  const choices = useMemo(() => {
    if (!tok || !run) return { heldout: [], batch, training: [] };
    const d = run.realmTrainer.trainingData;
    return { heldout: sentenceChoices(tok, 'heldout', d.heldOut), batch, training: sentenceChoices(tok, 'training', d.queries) };
  }, [tok, run, batch]);
  const hasBatch = !!run && latestBatchQueries(run.realmTrainer) !== null;
  /** Takes the trainer's latest batch (a snapshot: the list does not change under the user's pointer). */
  const snapshotBatch = useCallback(() => {
    const r = useStudio.getState().run;
    const t = tokRef.current;
    const qs = r ? latestBatchQueries(r.realmTrainer) : null;
    if (!r || !t || !qs) return setBatch([]);
    const all = r.realmTrainer.trainingData.queries;
    // Keyed by the sentence's place among the training queries, so a pinned batch sentence stays the same sentence.
    setBatch(sentenceChoices(t, 'batch', qs).map((c) => ({ ...c, index: Math.max(all.indexOf(c.query), 0) })));
    setPick((p) => ({ ...p, batch: 0 }));
  }, []);

  /** Inspects one query and shows it; resolves to the result (null when it could not run). */
  const inspect = useCallback(
    async (key: string, query: RealmQuery, spanType: string | null): Promise<InspectorResult | null> => {
      const r = useStudio.getState().run;
      const t = tokRef.current;
      if (!r || !t) {
        setMessage({ tone: 'info', text: 'Start a run in the Training panel first.' });
        return null;
      }
      setBusy(true);
      setMessage(null);
      try {
        const result = await source.inspect(r, query);
        setView(makeView(t, key, query, spanType, result));
        setOpen(null);
        return result;
      } catch (e) {
        const err = e as Error;
        setMessage({
          tone: err instanceof NoIndexYetError ? 'info' : 'error',
          text: err instanceof NoIndexYetError || err instanceof InspectionError ? err.message : `${err.name}: ${err.message}`,
        });
        return null;
      } finally {
        setBusy(false);
      }
    },
    [source],
  );

  const inspectPicked = useCallback(async () => {
    if (kind === 'typed') {
      const r = useStudio.getState().run;
      if (!tok || !r) return inspect('typed', { inputIds: [], maskPositions: [], targets: [], sourceDocId: null }, null);
      try {
        const q = queryFromTypedText(tok, typed.text, typed.answer, r.realmTrainer.config.maxQueryLength);
        return inspect(sentenceKey('typed', `${typed.text}\u0000${typed.answer}`), q, null);
      } catch (e) {
        setMessage({ tone: 'error', text: (e as Error).message });
        return null;
      }
    }
    const c = choices[kind][pick[kind]];
    if (!c) {
      setMessage({
        tone: 'info',
        text:
          kind === 'heldout'
            ? 'This corpus has no held-out cloze sentences: pick a training sentence or type one.'
            : kind === 'batch'
              ? 'No REALM batch yet: the current batch appears once the REALM phase has taken a step.'
              : 'No training sentences yet.',
      });
      return null;
    }
    return inspect(sentenceKey(kind === 'batch' ? 'training' : kind, c.index), c.query, c.spanType);
  }, [kind, tok, typed, choices, pick, inspect]);

  const pin = useCallback(() => {
    const v = viewRef.current;
    const r = useStudio.getState().run;
    if (!v || !r) return;
    const pinned = { id: v.key, text: v.sentence.masked, query: v.query, topRows: topRowsOf(v.result) };
    useStudio.getState().setPinned(pinned);
    startPinHistory(r, pinned);
    addPinPoint(r, v.key, v.result);
  }, []);
  const unpin = useCallback(() => {
    useStudio.getState().setPinned(null);
    usePinHistory.getState().reset(null, null);
    void useStudio.getState().run?.logPin(pinLogEntry(null));
  }, []);

  // A resumed run brings back its pin and the chart's points (from its run log).
  useEffect(() => {
    const restored = run ? restorePin(run.restoredPinLog) : null;
    if (!run || !restored) return;
    useStudio.getState().setPinned(restored.pinned);
    usePinHistory.getState().reset(restored.pinned.id, run.settings.runId);
    for (const p of restored.points) usePinHistory.getState().add(p.point, p.labels);
  }, [run]);

  // After every index swap, inspect the pinned sentence again and add a point to its chart.
  useEffect(
    () =>
      watchSwaps(() => {
        const { pinned: p, run: r } = useStudio.getState();
        if (!p || !r) return;
        source.inspect(r, p.query).then(
          (result) => {
            const h = usePinHistory.getState();
            if (useStudio.getState().pinned?.id !== p.id) return;
            // The pin carried over into another run: that run's chart starts over, its log gets the pin first.
            if (h.pinId !== p.id || h.runId !== r.settings.runId) startPinHistory(r, p);
            addPinPoint(r, p.id, result);
            useStudio.getState().setPinned({ ...p, topRows: topRowsOf(result) });
            const v = viewRef.current;
            const t = tokRef.current;
            if (v && t && v.key === p.id) setView(makeView(t, v.key, v.query, v.spanType, result));
          },
          () => {}, // the index is not ready (warm-up) or the run ended: the next swap tries again
        );
      }),
    [source],
  );

  useEffect(() => {
    extendTestHook('inspector', {
      /** The inspection on show: its candidates' p(z|x), utility and ranks. */
      result: () => {
        const v = viewRef.current;
        if (!v) return null;
        const { inspection: ins, step } = v.result;
        return {
          key: v.key,
          step,
          k: ins.k,
          indexVersion: ins.indexVersion,
          origin: v.result.origin,
          rows: ins.candidates.map((c) => ({
            z: c.z,
            row: c.row,
            pz: c.pz,
            utility: c.utility,
            staleRank: c.staleRank,
            currentRank: c.currentRank,
            agrees: c.agrees,
          })),
          masks: ins.masks.length,
          answers: v.sentence.answers,
        };
      },
      choiceCounts: () => ({ heldout: choices.heldout.length, training: choices.training.length }),
      pinned: () => useStudio.getState().pinned?.id ?? null,
      pinPoints: () =>
        usePinHistory.getState().points.map((p) => ({ step: p.step, version: p.version, candidates: Object.keys(p.pz).length })),
      numTensors: () => tf.memory().numTensors,
    });
  }, [choices]);

  const openPassage: OpenPassage | null = useMemo(() => {
    if (!view || open === null) return null;
    const row = view.rows[open];
    if (!row?.passage) return null;
    const c = row.candidate;
    return {
      title: row.passage.title || c.docId || `row ${c.row}`,
      text: row.passage.text,
      titleRanges: row.titleRanges,
      textRanges: row.textRanges,
      detail: `p(z|x) ${c.pz.toFixed(3)} · utility ${formatSigned(c.utility)} · stale rank ${c.staleRank}, current rank ${c.currentRank} · passage ${c.docId}`,
    };
  }, [view, open]);

  const list = kind === 'typed' ? [] : choices[kind];
  const ins = view?.result.inspection;
  const isPinned = !!view && pinned?.id === view.key;
  const staleness = view && view.result.snapshotStep !== null ? view.result.step - view.result.snapshotStep : null;
  return (
    <section className="panel panel-inspector" aria-labelledby="inspector-title" data-testid="inspector-panel">
      <h2 id="inspector-title">
        Inspector <span className="muted small">what the model retrieves for each masked word, and how much it helps</span>
      </h2>
      <StageNote stage={stage} />
      <details className="inspector-legend">
        <summary>How to read the inspector</summary>
        <dl>
          <dt>Sentence x</dt>
          <dd>{EXPLAIN.x}</dd>
          <dt>p(z|x)</dt>
          <dd>{EXPLAIN.pz}</dd>
          <dt>null document</dt>
          <dd>{EXPLAIN.nullDoc}</dd>
          <dt>p(y_j|z,x)</dt>
          <dd>{EXPLAIN.pTarget}</dd>
          <dt>utility</dt>
          <dd>{EXPLAIN.utility}</dd>
          <dt>rank stale / now</dt>
          <dd>{EXPLAIN.rank}</dd>
          <dt>with retrieval vs null document only</dt>
          <dd>
            {EXPLAIN.marginal} {EXPLAIN.nullOnly}
          </dd>
          <dt>Pin</dt>
          <dd>{EXPLAIN.pin}</dd>
        </dl>
      </details>
      <form
        className="inspector-source"
        onSubmit={(e) => {
          e.preventDefault();
          void inspectPicked();
        }}
      >
        <fieldset>
          <legend>Sentence x</legend>
          {SOURCES.filter((s) => s.kind !== 'batch' || hasBatch).map((s) => (
            <label key={s.kind} title={s.hint}>
              <input
                type="radio"
                name="inspector-source"
                value={s.kind}
                checked={kind === s.kind}
                onChange={() => {
                  setKind(s.kind);
                  if (s.kind === 'batch') snapshotBatch();
                }}
              />{' '}
              {s.label}
            </label>
          ))}
        </fieldset>
        {kind === 'typed' ? (
          <div className="typed-query">
            <label>
              Sentence with [MASK]
              <input type="text" value={typed.text} onChange={(e) => setTyped({ ...typed, text: e.target.value })} size={40} />
            </label>
            <label title="Optional. With an answer, the [MASK] stands for its wordpieces and the inspector can score p(y|z,x) and utility.">
              Answer (optional)
              <input
                type="text"
                value={typed.answer}
                onChange={(e) => setTyped({ ...typed, answer: e.target.value })}
                size={14}
              />
            </label>
          </div>
        ) : (
          <label className="sentence-pick">
            <span className="visually-hidden">
              {kind === 'heldout'
                ? 'Held-out sentence'
                : kind === 'batch'
                  ? 'Sentence of the current batch'
                  : 'Training sentence'}
            </span>
            <select
              value={pick[kind]}
              onChange={(e) => setPick({ ...pick, [kind]: Number(e.target.value) })}
              disabled={list.length === 0}
              data-testid="inspector-sentence-pick"
            >
              {list.length === 0 && <option value={0}>{run ? 'no sentences' : 'start a run first'}</option>}
              {list.map((c, i) => (
                <option key={i} value={i}>
                  {c.spanType ? `[${c.spanType}] ` : ''}
                  {c.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {kind === 'batch' && (
          <button type="button" onClick={snapshotBatch} title="Take the sentences of the latest training step">
            Latest batch
          </button>
        )}
        <button type="submit" disabled={busy || !run} data-testid="inspector-inspect">
          {busy ? 'Inspecting…' : 'Inspect'}
        </button>
      </form>
      {message && (
        <p
          className={message.tone === 'error' ? 'error' : 'inspector-note'}
          role={message.tone === 'error' ? 'alert' : 'status'}
          data-testid="inspector-message"
        >
          {message.text}
        </p>
      )}
      {view && ins && (
        <div className="inspector-result" data-testid="inspector-result">
          <SentenceView view={view} />
          <p className="muted small inspector-meta">
            step {view.result.step} · index version {ins.indexVersion}
            {view.result.snapshotStep !== null && (
              <span title={EXPLAIN.staleness}>
                {' '}
                (embedded with the weights of step {view.result.snapshotStep}, staleness {staleness})
              </span>
            )}
            {view.result.origin === 'rebuilt' && ' (rebuilt from the current weights: the stored index was gone)'} · k = {ins.k}{' '}
            candidates: the null document and {ins.k - 1} passages · τ = {ins.temperature}
            {ins.retrievalUtility !== null && (
              <span title={EXPLAIN.utility}> · query utility {formatSigned(ins.retrievalUtility)}</span>
            )}
            {view.query.sourceDocId !== null && !ins.candidates.some((c) => c.docId === view.query.sourceDocId) && (
              <span title={EXPLAIN.gold} data-testid="inspector-gold-missing">
                {' '}
                · its own (gold) passage is not among them
                {run?.realmTrainer.config.trivialExclusion === 'passage' &&
                  ' (the trivial candidate is the whole passage, so it is never retrieved: set Trivial candidate to sentence)'}
              </span>
            )}
          </p>
          <CandidateTable
            rows={view.rows}
            maskLabels={ins.masks.map((m) => (m.target >= 0 ? (tok?.vocab[m.target] ?? '') : '?'))}
            onOpen={setOpen}
            goldDocId={view.query.sourceDocId}
          />
          <Predictions masks={ins.masks} vocab={tok?.vocab ?? []} />
          <div className="pin-row">
            {isPinned ? (
              <button type="button" onClick={unpin} aria-pressed="true" data-testid="inspector-pin">
                Unpin
              </button>
            ) : (
              <button type="button" onClick={pin} aria-pressed="false" title={EXPLAIN.pin} data-testid="inspector-pin">
                Pin this sentence
              </button>
            )}
          </div>
        </div>
      )}
      {pinned && (
        <div className="pinned" data-testid="inspector-pinned">
          <h3>
            Pinned: <span className="mono">{pinned.text}</span>
          </h3>
          <p className="muted small">
            p(z|x) of its passages at each index refresh (dashed: the null document; a gap: the passage was not retrieved then).
            {!isPinned && (
              <>
                {' '}
                <button type="button" onClick={unpin}>
                  Unpin
                </button>
              </>
            )}
          </p>
          {pinPoints.length > 0 ? (
            <PinnedChart points={pinPoints} labels={pinLabelMap} />
          ) : (
            <p className="muted">Waiting for the next index refresh…</p>
          )}
        </div>
      )}
      <PassageDialog passage={openPassage} onClose={() => setOpen(null)} />
    </section>
  );
}
