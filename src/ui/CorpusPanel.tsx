// The corpus panel: stored corpora (pick the active one, see its statistics, delete), the bundled
// default corpus one click away, and importing a user's file by drag and drop or a file picker, with
// a progress bar, a cancel button and the list of skipped records. All corpus text is rendered as
// text (React escapes it), never as HTML.
import { useEffect, useState, useSyncExternalStore, type DragEvent } from 'react';
import type { CorpusRecord, RealmStore } from '../storage/db';
import { BUNDLED, corpusControllerFor, type CorpusController, type CorpusReport } from '../app/corpus-controller';
import { formatAmount } from '../app/progress-view';
import { ProgressBar } from './ProgressBar';
import './corpus-panel.css';

const ACCEPT = '.txt,.text,.md,.markdown,.jsonl,.ndjson,.tsv';
const SPAN_TYPES = ['person', 'place', 'organization', 'date'];

function useCorpusState(c: CorpusController) {
  return useSyncExternalStore(c.state.subscribe, c.state.getState);
}

const num = (n: number | undefined) => (n ?? 0).toLocaleString('en');

function CorpusStats({ corpus }: { corpus: CorpusRecord }) {
  const s = corpus.stats;
  const rows: [string, string][] = [
    ['source', corpus.source],
    ['passages (blocks)', num(s.chunks)],
    ['passages in the file', num(s.passages)],
    ['tokens', num(s.tokens)],
    ['vocabulary', `${num(s.vocabSize)} wordpieces`],
    ['salient spans', `${num(s.spans)} (${SPAN_TYPES.map((t) => `${t} ${num(s[`spans.${t}`])}`).join(', ')})`],
  ];
  // Words its vocabulary can only spell as [UNK] (counted at import; a warm run's own share is in the Training panel).
  if (s.words)
    rows.push([
      '[UNK] words',
      `${((100 * (s.unkWords ?? 0)) / s.words).toFixed(2)}% (${num(s.unkWords)} of ${num(s.words)} words)`,
    ]);
  if (s.duplicates) rows.push(['duplicates dropped', num(s.duplicates)]);
  if (s.badRecords) rows.push(['bad records skipped', num(s.badRecords)]);
  if (s.bytes) rows.push(['size', formatAmount(s.bytes, 'bytes')]);
  if (s.cloze || s.qaTrain || s.qaDev)
    rows.push(['evaluation sets', `cloze ${num(s.cloze)}, QA train ${num(s.qaTrain)}, QA dev ${num(s.qaDev)}`]);
  if (s.seconds) rows.push(['loaded in', `${s.seconds} s`]);
  return (
    <table className="corpus-stats" data-testid="corpus-stats">
      <caption>{corpus.name}</caption>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ImportReport({ report }: { report: CorpusReport }) {
  const more = report.badCount - report.bad.length;
  return (
    <div className={`corpus-report corpus-report-${report.status}`} data-testid="import-report" data-status={report.status}>
      <p>
        {report.status === 'done' && (
          <>
            Loaded <strong>{report.label}</strong>: {num(report.passages)} passages
            {report.badCount > 0 ? `, ${num(report.badCount)} bad record${report.badCount === 1 ? '' : 's'} skipped.` : '.'}
          </>
        )}
        {report.status === 'cancelled' && (
          <>
            Import of <strong>{report.label}</strong> cancelled. The corpora stored before are unchanged.
          </>
        )}
        {report.status === 'failed' && (
          <>
            Import of <strong>{report.label}</strong> failed: {report.message} The corpora stored before are unchanged.
          </>
        )}
      </p>
      {report.bad.length > 0 && (
        <details open={report.bad.length <= 20}>
          <summary>
            {num(report.badCount)} skipped record{report.badCount === 1 ? '' : 's'}
          </summary>
          <ul className="bad-records" data-testid="bad-records">
            {report.bad.map((b) => (
              <li key={`${b.line}:${b.reason}`} data-line={b.line}>
                line {b.line}: {b.reason}
              </li>
            ))}
            {more > 0 && <li>… and {num(more)} more</li>}
          </ul>
        </details>
      )}
    </div>
  );
}

function DeleteConfirm({
  c,
  corpus,
  active,
  onDone,
}: {
  c: CorpusController;
  corpus: CorpusRecord;
  active: boolean;
  onDone: () => void;
}) {
  const [runs, setRuns] = useState(0);
  useEffect(() => {
    let live = true;
    c.unfinishedRunsUsing(corpus.id).then(
      (n) => live && setRuns(n),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [c, corpus.id]);
  return (
    <div className="corpus-confirm" role="alertdialog" aria-label={`Delete ${corpus.name}?`} data-testid="delete-confirm">
      <p>
        Delete <strong>{corpus.name}</strong> with its {num(corpus.stats.chunks)} passages, vocabulary and index?
        {active && ' It is the active corpus.'}
        {runs > 0 && ` ${runs} unfinished training run${runs === 1 ? ' uses' : 's use'} it and will not be able to continue.`}
      </p>
      <button
        type="button"
        className="danger"
        onClick={() => {
          onDone();
          void c.deleteCorpus(corpus.id);
        }}
      >
        Delete
      </button>{' '}
      <button type="button" onClick={onDone}>
        Keep
      </button>
    </div>
  );
}

export function CorpusPanel({ store }: { store: RealmStore }) {
  const c = corpusControllerFor(store);
  const s = useCorpusState(c);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);

  useEffect(() => {
    void c.start();
  }, [c]);

  const active = s.corpora.find((x) => x.id === s.activeId) ?? null;
  const hasDefault = s.corpora.some((x) => x.id === BUNDLED.default.corpusId);
  const hasMicro = s.corpora.some((x) => x.id === BUNDLED.micro.corpusId);
  const busy = !!s.job;

  const take = (files: FileList | null) => {
    const file = files?.[0];
    if (file) void c.importFile(file);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    if (!busy) take(e.dataTransfer.files);
  };

  return (
    <section className="panel corpus-panel" data-testid="corpus-panel" aria-labelledby="corpus-panel-title">
      <h2 id="corpus-panel-title">Corpus</h2>

      {s.corpora.length === 0 && s.started && !busy && <p className="muted">No corpus is stored yet.</p>}
      {s.corpora.length > 0 && (
        <table className="corpus-list" data-testid="corpus-list">
          <thead>
            <tr>
              <th scope="col">active</th>
              <th scope="col">corpus</th>
              <th scope="col">passages</th>
              <th scope="col" aria-label="actions" />
            </tr>
          </thead>
          <tbody>
            {s.corpora.map((x) => (
              <tr key={x.id} data-testid="corpus-row" data-corpus-id={x.id} className={x.id === s.activeId ? 'active' : ''}>
                <td>
                  <input
                    type="radio"
                    name="active-corpus"
                    aria-label={`Use ${x.name}`}
                    checked={x.id === s.activeId}
                    onChange={() => void c.setActive(x.id)}
                  />
                </td>
                <td>
                  <div>{x.name}</div>
                  <div className="muted small">{x.source}</div>
                </td>
                <td className="num">{num(x.stats.chunks)}</td>
                <td>
                  <button type="button" onClick={() => setConfirming(x.id)} aria-label={`Delete ${x.name}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {confirming && s.corpora.some((x) => x.id === confirming) && (
        <DeleteConfirm
          c={c}
          corpus={s.corpora.find((x) => x.id === confirming)!}
          active={confirming === s.activeId}
          onDone={() => setConfirming(null)}
        />
      )}

      {active && <CorpusStats corpus={active} />}

      {!hasDefault && (
        <p>
          <button
            type="button"
            onClick={() => void c.installBundled('default')}
            disabled={busy}
            data-testid="load-default-corpus"
          >
            Load the bundled default corpus
          </button>{' '}
          <span className="muted small">the corpus training uses by default</span>
        </p>
      )}
      {!hasMicro && (
        <p>
          <button type="button" onClick={() => void c.installBundled('micro')} disabled={busy} data-testid="load-micro-corpus">
            Load the bundled micro corpus
          </button>{' '}
          <span className="muted small">a quarter of the tiny one, for quick runs without a GPU</span>
        </p>
      )}

      <label
        className={`corpus-drop${dragging ? ' dragging' : ''}${busy ? ' disabled' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          if (!busy) setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <span>
          Drop your own corpus here, or <u>choose a file</u>: <code>.txt</code> (paragraphs), <code>.md</code> (headings become
          titles), <code>.jsonl</code> (<code>{'{"title", "text"}'}</code> or <code>{'{"contents"}'}</code>) or DPR{' '}
          <code>.tsv</code> (id, text, title).
        </span>
        <input
          type="file"
          accept={ACCEPT}
          disabled={busy}
          data-testid="corpus-file-input"
          onChange={(e) => {
            take(e.currentTarget.files);
            e.currentTarget.value = '';
          }}
        />
      </label>

      {s.job && (
        <ProgressBar
          testId="corpus-progress"
          label={`${s.job.kind === 'bundled' ? 'Loading' : 'Importing'} ${s.job.label}: ${s.job.progress?.task ?? 'starting'}`}
          progress={s.job.progress}
          onCancel={() => void c.cancel()}
          cancelling={s.job.cancelling}
        />
      )}
      {s.report && !s.job && <ImportReport report={s.report} />}
      {s.importerNote && <p className="muted small">The corpus importer runs on the main thread: {s.importerNote}.</p>}
      {s.notice && (
        <p className="notices" data-testid="corpus-notice">
          {s.notice}
        </p>
      )}
      {s.error && (
        <div className="error" role="alert">
          {s.error}
        </div>
      )}
    </section>
  );
}
