// The Ablations panel (issue #35, docs/ablations.md): REALM's Table 2 in the page. Choose rows, seeds
// and the (small) step counts; Run trains the shared warm start, the rows' REALM pre-trainings (the
// index refreshed by the builder worker every R steps, an exact schedule), fine-tunes each row on the
// corpus's QA training set and evaluates EM and zero-shot recall@5, with one progress bar and ETA for
// the whole table. Every finished job is kept in IndexedDB: after a stop or a reload, Run goes on from
// the last finished job. The result: the table (mean ± s.e., Δ from REALM with a paired test, the
// paper's figures, direction as paper), markdown and CSV downloads, and a chart of the rows as bars
// with the paper's values as markers (plain SVG).
import { useEffect, useRef, useState } from 'react';
import {
  ABLATION_ROWS,
  ABLATION_TABLE_JOB,
  ablationCsv,
  ablationMarkdown,
  ablationRowTexts,
  checkAblationsSettings,
  DEFAULT_ABLATIONS_SETTINGS,
  latestAblationTable,
  runAblationsTable,
  tableRows,
  type AblationsSettings,
  type StoredAblationTable,
} from '../app/ablations-controller';
import type { AblationRowId } from '../model/ablation-rows';
import type { AblationProgress } from '../model/ablation-runner';
import type { AblationTableRow } from '../model/ablation-table';
import type { Runtime } from '../app/runtime';
import { formatEta } from '../app/progress-view';
import { useStudio } from '../app/studio-store';
import { downloadFile } from './download';
import { ProgressBar } from './ProgressBar';
import './ablations-panel.css';

const NUMBER_FIELDS: { key: Exclude<keyof AblationsSettings, 'rows'>; label: string; title: string }[] = [
  { key: 'seeds', label: 'Seeds', title: 'Seeds 1..N of every row: the table gives mean ± standard error over them' },
  { key: 'ictSteps', label: 'ICT steps', title: "The shared warm start's ICT phase (the baseline retriever)" },
  { key: 'mlmSteps', label: 'MLM steps', title: "The shared warm start's MLM phase (the baseline reader)" },
  { key: 'realmSteps', label: 'REALM steps', title: 'REALM pre-training steps of each pre-trained row' },
  { key: 'refreshEvery', label: 'Refresh every R', title: 'The normal index refresh interval; the 30x stale row uses 30 R' },
  { key: 'finetuneSteps', label: 'Fine-tuning steps', title: 'Open-QA fine-tuning steps per row and seed (EM)' },
  { key: 'finetuneBatch', label: 'Fine-tuning batch', title: 'Questions per fine-tuning step' },
];

/** Rows as bar pairs (EM, R@5 in percent), the paper's values as diamond markers on each bar. */
function AblationChart({ rows }: { rows: AblationTableRow[] }) {
  const W = 560;
  const rowH = 34;
  const left = 220;
  const top = 22;
  const H = top + rows.length * rowH + 8;
  const x = (pct: number) => left + (Math.max(0, Math.min(100, pct)) / 100) * (W - left - 12);
  const metrics = [
    { key: 'em' as const, label: 'EM', cls: 'bar-em', dy: 4 },
    { key: 'recallAt5' as const, label: 'R@5', cls: 'bar-r5', dy: 17 },
  ];
  return (
    <svg
      className="ablation-chart"
      data-testid="ablation-chart"
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label="EM and recall@5 of each row as bars, the paper's values as markers"
    >
      {[0, 25, 50, 75, 100].map((t) => (
        <g key={t}>
          <line x1={x(t)} x2={x(t)} y1={top - 4} y2={H - 6} className="grid" />
          <text x={x(t)} y={12} textAnchor="middle" className="tick">
            {t}
          </text>
        </g>
      ))}
      {rows.map((r, i) => (
        <g key={r.row.id} data-row={r.row.id}>
          <text x={left - 6} y={top + i * rowH + 16} textAnchor="end" className="label">
            {r.row.name}
          </text>
          {metrics.map((m) => {
            const s = r[m.key].summary;
            const y = top + i * rowH + m.dy;
            const paper = x(r[m.key].paper);
            return (
              <g key={m.key}>
                {s.n > 0 && Number.isFinite(s.mean) && (
                  <rect className={`bar ${m.cls}`} x={left} y={y} width={Math.max(1, x(100 * s.mean) - left)} height={11}>
                    <title>{`${r.row.name} ${m.label}: ${(100 * s.mean).toFixed(1)}`}</title>
                  </rect>
                )}
                <path
                  className={`paper-marker ${m.cls}`}
                  d={`M ${paper} ${y - 1} l 4 6.5 l -4 6.5 l -4 -6.5 z`}
                  data-testid="paper-marker"
                >
                  <title>{`paper ${m.label}: ${r[m.key].paper.toFixed(1)}`}</title>
                </path>
              </g>
            );
          })}
        </g>
      ))}
    </svg>
  );
}

function ResultTable({ rows }: { rows: AblationTableRow[] }) {
  return (
    <table className="ablation-table" data-testid="ablation-table">
      <thead>
        <tr>
          <th>row</th>
          <th>EM</th>
          <th>Δ EM (p)</th>
          <th>paper EM (Δ)</th>
          <th>R@5</th>
          <th>Δ R@5 (p)</th>
          <th>paper R@5 (Δ)</th>
          <th>direction as paper (EM / R@5)</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const t = ablationRowTexts(r);
          return (
            <tr key={r.row.id} data-row={r.row.id} title={r.row.what}>
              <th scope="row">{r.row.name}</th>
              <td data-cell="em">{t.em.value}</td>
              <td>{t.em.difference}</td>
              <td>{t.em.paper}</td>
              <td data-cell="r5">{t.recallAt5.value}</td>
              <td>{t.recallAt5.difference}</td>
              <td>{t.recallAt5.paper}</td>
              <td>
                {t.em.direction} / {t.recallAt5.direction}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function AblationsPanel({ rt }: { rt: Runtime }) {
  const [settings, setSettings] = useState<AblationsSettings>(DEFAULT_ABLATIONS_SETTINGS);
  const [table, setTable] = useState<StoredAblationTable | null>(null);
  const [progress, setProgress] = useState<AblationProgress | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  const trainingStatus = useStudio((s) => s.status);
  const pageJob = useStudio((s) => s.pageJob);
  const tablesVersion = useStudio((s) => s.tablesVersion);
  const busyWith =
    trainingStatus === 'running' ? 'The training run' : pageJob !== null && pageJob !== ABLATION_TABLE_JOB ? pageJob : null;

  // The newest stored table, again whenever a table changes elsewhere (deleted in the Runs panel).
  useEffect(() => {
    if (abort.current) return;
    let live = true;
    latestAblationTable(rt.store).then(
      (t) => {
        if (!live) return;
        setTable(t);
        if (t) setSettings(t.settings);
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [rt.store, tablesVersion]);
  useEffect(() => () => abort.current?.abort(), []);

  const toggleRow = (id: AblationRowId) =>
    setSettings((s) => ({
      ...s,
      rows: ABLATION_ROWS.map((r) => r.id).filter((r) => (r === id ? !s.rows.includes(id) : s.rows.includes(r))),
    }));

  const run = async () => {
    setError(null);
    try {
      checkAblationsSettings(settings);
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    const studio = useStudio.getState();
    if (busyWith || studio.pageJob) {
      setError(`${busyWith ?? studio.pageJob} is running in this page: the table starts when it ends.`);
      return;
    }
    const ctl = new AbortController();
    abort.current = ctl;
    studio.setPageJob(ABLATION_TABLE_JOB);
    setRunning(true);
    setProgress(null);
    try {
      await runAblationsTable(rt, settings, {
        resume: table,
        signal: ctl.signal,
        onProgress: setProgress,
        onTable: (t) => {
          setTable(t);
          useStudio.getState().tablesChanged();
        },
      });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setRunning(false);
      abort.current = null;
      if (useStudio.getState().pageJob === ABLATION_TABLE_JOB) useStudio.getState().setPageJob(null);
    }
  };

  const rows = table && table.results.length > 0 ? tableRows(table) : null;
  const resumes = !!table && table.status !== 'done' && JSON.stringify(table.settings) === JSON.stringify(settings);
  return (
    <section className="panel ablations-panel" aria-labelledby="ablations-title" data-testid="ablations-panel">
      <h2 id="ablations-title">Ablations</h2>
      <p className="muted">
        REALM&apos;s Table 2, row by row, on the active corpus: a shared warm start, each row&apos;s REALM pre-training (index
        rebuilt every R steps), Open-QA fine-tuning, dev exact match and zero-shot recall@5.
      </p>
      <fieldset disabled={running}>
        <legend>Rows</legend>
        {ABLATION_ROWS.map((r) => (
          <label key={r.id} title={r.what} className="ablation-row-choice">
            <input type="checkbox" name={`row-${r.id}`} checked={settings.rows.includes(r.id)} onChange={() => toggleRow(r.id)} />{' '}
            {r.name}
          </label>
        ))}
      </fieldset>
      <fieldset disabled={running} className="ablation-numbers">
        <legend>Scale</legend>
        {NUMBER_FIELDS.map((f) => (
          <label key={f.key} title={f.title}>
            {f.label}{' '}
            <input
              type="number"
              name={f.key}
              min={1}
              step={1}
              value={settings[f.key]}
              onChange={(e) => setSettings((s) => ({ ...s, [f.key]: Number(e.target.value) }))}
            />
          </label>
        ))}
      </fieldset>
      <div className="run-buttons">
        <button
          type="button"
          onClick={() => void run()}
          disabled={running || busyWith !== null}
          title={busyWith ? `Waiting for ${busyWith.toLowerCase()} to end` : undefined}
          data-testid="ablations-run"
        >
          {resumes ? 'Go on with the table' : 'Run the table'}
        </button>
        {running && (
          <button type="button" onClick={() => abort.current?.abort()} data-testid="ablations-stop">
            Stop
          </button>
        )}
      </div>
      {busyWith && !running && (
        <p className="muted small" data-testid="ablations-waiting">
          {busyWith} is running in this page: the table waits until it ends (pause or stop it to run the table now).
        </p>
      )}
      {running && (
        <ProgressBar
          progress={progress}
          label="Table"
          testId="ablations-progress"
          eta={progress ? `${progress.detail ?? ''} · ETA ${formatEta(progress.etaSeconds)}` : undefined}
        />
      )}
      {error && (
        <p className="error" role="alert" data-testid="ablations-error">
          {error}
        </p>
      )}
      {table && table.status !== 'done' && !running && (
        <p className="muted" data-testid="ablations-status">
          The last table {table.status === 'running' ? 'was cut off (a reload or a closed tab)' : `is ${table.status}`}
          {table.error ? `: ${table.error}` : ''}. Its finished jobs are kept
          {table.results.length > 0 ? ' (their rows are below)' : ''}; run it again with the same settings to go on.
        </p>
      )}
      {rows && table && (
        <div data-testid="ablations-result">
          <p className="muted">
            {table.settings.seeds} seed{table.settings.seeds === 1 ? '' : 's'}
            {table.status === 'done' && table.seconds !== undefined ? `, ${formatEta(table.seconds)} wall time` : ''}
            {table.status === 'done' ? '' : ', the jobs finished so far'}; EM and R@5 in percent.
          </p>
          <ResultTable rows={rows} />
          <div className="run-buttons">
            <button type="button" onClick={() => downloadFile(ablationMarkdown(rows), 'ablations.md', 'text/markdown')}>
              Markdown
            </button>
            <button type="button" onClick={() => downloadFile(ablationCsv(rows), 'ablations.csv', 'text/csv')}>
              CSV
            </button>
          </div>
          <AblationChart rows={rows} />
          <p className="muted ablation-legend">
            <span className="swatch bar-em" /> EM <span className="swatch bar-r5" /> R@5 ◆ the paper&apos;s value
          </p>
        </div>
      )}
    </section>
  );
}
