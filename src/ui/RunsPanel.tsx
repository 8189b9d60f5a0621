// The Runs panel: the runs stored in this browser (config in a few words, status, final metrics and a
// loss sparkline), each exported as one `.realm.zip` file or deleted; importing such a file back (as a
// copy when its id is taken); the storage used, the quota, and a request that the browser keep it.
// The list refreshes when the page's run changes status or stores a checkpoint.
import { useCallback, useEffect, useRef, useState, type ChangeEvent } from 'react';
import type { Progress } from '../model/progress';
import type { RunSummary, StorageStatus } from '../storage/db';
import { formatAmount } from '../app/progress-view';
import { AblationGroups } from './AblationGroups';
import { downloadFile } from './download';
import { ProgressBar } from './ProgressBar';
import { archiveFileName, RunArchiveError, RUN_ARCHIVE_SUFFIX } from '../app/run-archive';
import {
  deleteStoredRun,
  exportRunFile,
  exportRunTransformersFile,
  hfArchiveName,
  importRunFile,
  readCheckpointZip,
  stageCheckpoint,
  type ImportTarget,
  readRuns,
  requestPersistentStorage,
  RunExistsError,
  storageStatus,
  storedRun,
  storedRunIds,
  storedRunSteps,
  type LossCache,
} from '../app/runs-library';
import { RunSparkline } from './RunSparkline';
import {
  ARCHIVE_PROBLEM_TITLES,
  deleteBlock,
  describeImport,
  describeRunConfig,
  finalMetricsView,
  formatWhen,
  readBlob,
  runConfigSearch,
  shownStatus,
  storageView,
  type LossPoint,
  type PageRun,
} from '../app/runs-view';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { extendTestHook } from '../app/test-hook';
import './runs-panel.css';

interface Job {
  label: string;
  progress: Progress;
}

type Message = { kind: 'ok' | 'warn' | 'error'; title?: string; text: string; testId: string };

/** An indeterminate progress (a task whose size is not known in advance), with what it is doing. */
const busy = (task: string, detail: string): Progress => ({
  task,
  done: 0,
  total: 0,
  unit: 'bytes',
  rate: 0,
  etaSeconds: null,
  detail,
});

/** Lets the page paint (a progress label) before a long synchronous step such as zipping. */
const nextFrame = () => new Promise<void>((r) => setTimeout(r, 30));

const download = (bytes: Uint8Array, name: string) => downloadFile(bytes, name, 'application/zip');

/** The step of the page run's latest checkpoint event (scans back only to it), or -1. */
function lastCheckpointStep(events: { type: string; step: number }[]): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].type === 'checkpoint') return events[i].step;
  return -1;
}

const PERSIST_RESULT: Record<'granted' | 'denied' | 'unsupported', string> = {
  granted: 'The browser will keep this site’s data, even when the disk runs short.',
  denied:
    'The browser declined for now (Chromium grants it to sites you use often, bookmark or install). Export the runs you want to keep.',
  unsupported: 'This browser cannot promise to keep the data. Export the runs you want to keep.',
};

function StorageLine({ status, onPersist, note }: { status: StorageStatus | null; onPersist: () => void; note: string | null }) {
  const v = storageView(status);
  return (
    <div className="runs-storage" data-testid="runs-storage" data-known={status?.known ?? false}>
      <span title="What this site stores in the browser (corpora, index embeddings, checkpoints, run logs), and the most the browser allows it">
        Storage: <span data-testid="runs-storage-text">{v.text}</span>
      </span>
      {v.fraction !== null && (
        <meter
          className="runs-storage-meter"
          min={0}
          max={1}
          low={0.7}
          high={0.9}
          optimum={0}
          value={v.fraction}
          aria-label="Share of the storage quota used"
        />
      )}
      <span className="muted" title="Whether the browser promised not to evict this site's data under storage pressure">
        {v.persisted}
      </span>
      {status?.persisted !== true && (
        <button
          type="button"
          onClick={onPersist}
          title="Ask the browser to keep this site's data (corpora, checkpoints, runs) when the disk runs short"
        >
          Keep my data (persist)
        </button>
      )}
      {note && (
        <span role="status" className="runs-storage-note">
          {note}
        </span>
      )}
    </div>
  );
}

interface RowProps {
  summary: RunSummary;
  points: LossPoint[];
  pageRun: PageRun | null;
  disabled: boolean;
  confirming: boolean;
  onExport: () => void;
  /** Downloads the model as Hugging Face checkpoint folders (a zip). */
  onExportTransformers: () => void;
  onAskDelete: () => void;
  onDelete: () => void;
  onKeep: () => void;
  /** Opens the run in the page (charts, timeline, inspector over its last checkpoint). */
  onOpen: () => void;
  /** Overlays (or stops overlaying) the run's step metrics on the charts. */
  onCompare: () => void;
  comparing: boolean;
}

function RunRow({
  summary,
  points,
  pageRun,
  disabled,
  confirming,
  onExport,
  onExportTransformers,
  onAskDelete,
  onDelete,
  onKeep,
  onOpen,
  onCompare,
  comparing,
}: RowProps) {
  const { run } = summary;
  const settings = run.config;
  const cfg = describeRunConfig(settings);
  const status = shownStatus(run, cfg.totalSteps, pageRun);
  const link = runConfigSearch(settings, window.location.search);
  const block = deleteBlock(run.id, pageRun);
  const here = pageRun?.runId === run.id;
  const openable =
    summary.corpus === 'missing'
      ? { ok: false, why: `Its corpus ${run.corpusId} is not in this browser: import it first` }
      : summary.checkpointStep === null
        ? { ok: false, why: 'It stored no checkpoint to open' }
        : pageRun?.status === 'running'
          ? { ok: true, why: 'Pause the run in training (saving a checkpoint), then open this one from its last checkpoint' }
          : {
              ok: true,
              why: 'Open this run in the page: its charts, refresh timeline and index, and the inspector over its last checkpoint',
            };
  return (
    <>
      <tr data-testid="run-row" data-run-id={run.id} data-status={status} className={here ? 'runs-here' : undefined}>
        <td>
          <div className="runs-id">{run.id}</div>
          <div
            className="muted small"
            title={`Created ${new Date(run.createdAt).toString()}; last saved ${new Date(run.updatedAt).toString()}`}
          >
            {formatWhen(run.createdAt)}
          </div>
          <span className={`runs-status runs-status-${status}`} data-testid="run-status-badge">
            {status}
          </span>
          {here && (
            <span className="runs-here-badge" title="This run is the one in the Training panel">
              in this page
            </span>
          )}
        </td>
        <td>
          <div title="Model size preset; the three training phases and their steps">
            <strong>{cfg.preset}</strong> · {cfg.phases}
          </div>
          <div
            className="muted small"
            title="How the document index is refreshed: async (a Web Worker rebuilds it while training goes on), sync, frozen, ..."
          >
            refresh {cfg.refresh}
          </div>
          <div className="runs-facts small">
            {cfg.facts.map((f) => (
              <span key={f.label} title={f.title}>
                {f.label} {f.value}
              </span>
            ))}
          </div>
          <div className="muted small" title="A run can only resume on the corpus it was trained on">
            corpus {run.corpusId}
            {summary.corpus === 'missing' && ' (not in this browser)'}
          </div>
        </td>
        <td className="num">
          <div data-testid="run-steps">
            {run.step}
            {cfg.totalSteps !== null && ` / ${cfg.totalSteps}`}
          </div>
          <div className="muted small" title="Step of the latest stored checkpoint (what export saves and resume restarts from)">
            {summary.checkpointStep === null ? 'no checkpoint' : `ckpt @${summary.checkpointStep}`}
          </div>
        </td>
        <td>
          <dl className="runs-metrics" data-testid="run-metrics">
            {finalMetricsView(run.finalMetrics).map((m) => (
              <div key={m.key} title={m.title}>
                <dt>{m.label}</dt>
                <dd data-metric={m.key}>{m.value}</dd>
              </div>
            ))}
          </dl>
        </td>
        <td>
          <RunSparkline points={points} />
        </td>
        <td className="runs-actions">
          <button
            type="button"
            onClick={onOpen}
            disabled={disabled || here || !openable.ok}
            title={here ? 'This run is already in the page' : openable.why}
            aria-label={`Open run ${run.id}`}
          >
            Open
          </button>
          <button
            type="button"
            onClick={onCompare}
            disabled={disabled || here}
            aria-pressed={comparing}
            title={
              comparing
                ? 'Stop overlaying this run on the charts'
                : "Overlay this run's loss and metrics on the charts (dashed), to compare it with the run in the page"
            }
            aria-label={`Compare with run ${run.id}`}
          >
            Compare
          </button>
          <button
            type="button"
            onClick={onExport}
            disabled={disabled}
            title="Download this run (settings, metrics, latest checkpoint, vocabulary) as one .realm.zip file"
          >
            Export
          </button>
          <button
            type="button"
            onClick={onExportTransformers}
            disabled={disabled}
            title="Download the model's three encoders as Hugging Face checkpoints (model.safetensors, config.json, vocab.txt in BertModel's layout; docs/scale-out.md)"
            aria-label={`Download run ${run.id} for transformers`}
          >
            Transformers
          </button>
          <button
            type="button"
            onClick={onAskDelete}
            disabled={disabled || block !== null}
            title={block ?? 'Delete this run with its metrics, checkpoints and the index embeddings it built'}
            aria-label={`Delete run ${run.id}`}
          >
            Delete
          </button>
          {link && (
            <a
              href={link.search}
              title={
                link.exact
                  ? 'Open the page with this run’s settings in the Model & run config panel (reloads the page)'
                  : 'Open the page with the settings of this run that a link can carry (some of its settings cannot be set from a link)'
              }
            >
              Open config
            </a>
          )}
        </td>
      </tr>
      {confirming && (
        <tr className="runs-confirm-row">
          <td colSpan={6}>
            <div
              className="runs-confirm"
              role="alertdialog"
              aria-label={`Delete run ${run.id}?`}
              data-testid="runs-delete-confirm"
            >
              <p>
                Delete run <strong>{run.id}</strong> with its {summary.checkpointCount} checkpoint
                {summary.checkpointCount === 1 ? '' : 's'}, {summary.logCount} metric records and the index embeddings it built?
                This cannot be undone: export it first to keep a copy.
              </p>
              <button type="button" className="danger" onClick={onDelete}>
                Delete
              </button>{' '}
              <button type="button" onClick={onKeep} autoFocus>
                Keep
              </button>
            </div>
          </td>
        </tr>
      )}
    </>
  );
}

export function RunsPanel({ rt }: { rt: Runtime }) {
  const [runs, setRuns] = useState<RunSummary[] | null>(null);
  const [losses, setLosses] = useState<Map<string, LossPoint[]>>(new Map());
  const [storage, setStorage] = useState<StorageStatus | null>(null);
  const [persistNote, setPersistNote] = useState<string | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [message, setMessage] = useState<Message | null>(null);
  const [confirm, setConfirm] = useState<string | null>(null);
  const [pending, setPending] = useState<{ bytes: Uint8Array; name: string; runId: string } | null>(null);
  const lossCache = useRef<LossCache>(new Map());
  const loadSeq = useRef(0);

  const pageRunId = useStudio((s) => s.run?.settings.runId ?? null);
  const pageStatus = useStudio((s) => s.status);
  const checkpointStep = useStudio((s) => lastCheckpointStep(s.events));
  const pageRun: PageRun | null = pageRunId ? { runId: pageRunId, status: pageStatus } : null;

  const reload = useCallback(
    async (retries = 0): Promise<void> => {
      const seq = ++loadSeq.current;
      const cache = lossCache.current;
      const { summaries, status } = await readRuns(rt, cache);
      if (seq !== loadSeq.current) return;
      // The page's run reports a checkpoint before it saves its record (step, status, metrics): when the
      // stored record is still behind the checkpoint, read again shortly.
      const s = useStudio.getState();
      const mine = s.run && summaries.find((x) => x.run.id === s.run!.settings.runId);
      if (mine && mine.run.step < lastCheckpointStep(s.events) && retries < 40) {
        setTimeout(() => void reload(retries + 1).catch(() => {}), 250);
      }
      setRuns(summaries);
      setLosses(new Map([...cache].map(([id, v]) => [id, v.points])));
      setStorage(status);
    },
    [rt],
  );

  const reloadSafely = useCallback(() => {
    reload(0).catch((e: Error) =>
      setMessage({
        kind: 'error',
        title: 'Could not read the stored runs',
        text: `${e.name}: ${e.message}`,
        testId: 'runs-error',
      }),
    );
  }, [reload]);

  // On mount, when the page's run changes or changes status, and when it stores a checkpoint.
  useEffect(reloadSafely, [reloadSafely, pageRunId, pageStatus, checkpointStep]);

  const compareId = useStudio((s) => s.compare?.runId ?? null);

  const openRun = useCallback(async (runId: string) => {
    setMessage(null);
    const open = useStudio.getState().openStored;
    if (!open) return;
    try {
      await open(runId, false);
      if (useStudio.getState().compare?.runId === runId) useStudio.getState().setCompare(null);
    } catch (e) {
      setMessage({ kind: 'error', title: `Could not open ${runId}`, text: (e as Error).message, testId: 'runs-error' });
    }
  }, []);

  const compareRun = useCallback(
    async (runId: string) => {
      setMessage(null);
      const { compare, setCompare } = useStudio.getState();
      if (compare?.runId === runId) return setCompare(null);
      try {
        setCompare({ runId, steps: await storedRunSteps(rt, runId) });
      } catch (e) {
        setMessage({ kind: 'error', title: `Could not read ${runId}`, text: (e as Error).message, testId: 'runs-error' });
      }
    },
    [rt],
  );

  const exportRun = useCallback(
    async (runId: string, forTransformers = false) => {
      setMessage(null);
      setJob({
        label: `Exporting ${runId}`,
        progress: busy('export', 'Reading the run, its metrics and its latest checkpoint, and packing them into a zip…'),
      });
      try {
        await nextFrame();
        const bytes = await (forTransformers ? exportRunTransformersFile : exportRunFile)(rt, runId);
        const name = forTransformers ? hfArchiveName(runId) : archiveFileName(runId);
        setJob({
          label: `Exporting ${runId}`,
          progress: { ...busy('export', 'Saving the file…'), done: bytes.byteLength, total: bytes.byteLength },
        });
        await nextFrame();
        download(bytes, name);
        setMessage({
          kind: 'ok',
          text: `Exported run ${runId} as ${name} (${formatAmount(bytes.byteLength, 'bytes')}).`,
          testId: 'runs-export-done',
        });
      } catch (e) {
        setMessage({ kind: 'error', title: 'Export failed', text: `${(e as Error).message}`, testId: 'runs-error' });
      } finally {
        setJob(null);
        reloadSafely();
      }
    },
    [rt, reloadSafely],
  );

  const store = useCallback(
    async (bytes: Uint8Array, name: string, ifExists: 'fail' | 'copy') => {
      setJob({
        label: `Importing ${name}`,
        progress: busy('import', 'Checking every entry of the archive and storing the run…'),
      });
      await nextFrame();
      try {
        const result = await importRunFile(rt, bytes, { ifExists });
        setMessage({ ...describeImport(result, name), testId: 'runs-import-done' });
      } catch (e) {
        if (e instanceof RunExistsError) {
          setPending({ bytes, name, runId: e.runId });
        } else if (e instanceof RunArchiveError) {
          setMessage({ kind: 'error', title: ARCHIVE_PROBLEM_TITLES[e.problem], text: e.message, testId: 'runs-import-error' });
        } else {
          setMessage({
            kind: 'error',
            title: 'Import failed',
            text: `${(e as Error).message} Nothing was imported.`,
            testId: 'runs-import-error',
          });
        }
      } finally {
        setJob(null);
        reloadSafely();
      }
    },
    [rt, reloadSafely],
  );

  const onFile = useCallback(
    async (e: ChangeEvent<HTMLInputElement>) => {
      const file = e.target.files?.[0];
      // Clear the input, so that picking the same file again imports it again.
      e.target.value = '';
      if (!file) return;
      setMessage(null);
      setPending(null);
      let bytes: Uint8Array;
      try {
        bytes = await readBlob(file, (p) => setJob({ label: `Reading ${file.name}`, progress: p }), 'read');
      } catch (err) {
        setJob(null);
        setMessage({
          kind: 'error',
          title: 'Could not read the file',
          text: `${(err as Error).message}`,
          testId: 'runs-import-error',
        });
        return;
      }
      await store(bytes, file.name, 'fail');
    },
    [store],
  );

  /** A Hugging Face checkpoint zip, kept for the next run the Training panel starts. */
  const [initTarget, setInitTarget] = useState<ImportTarget>('all');
  const onCheckpointFile = useCallback(
    async (e: ChangeEvent<HTMLInputElement>) => {
      const file = e.target.files?.[0];
      e.target.value = '';
      if (!file) return;
      setMessage(null);
      try {
        const bytes = await readBlob(file, (p) => setJob({ label: `Reading ${file.name}`, progress: p }), 'read');
        const summary = stageCheckpoint(readCheckpointZip(bytes, file.name, initTarget));
        setMessage({
          kind: 'ok',
          text: `Staged ${summary}. The next run started in the Training panel takes its architecture and starts from it.`,
          testId: 'runs-init-staged',
        });
      } catch (err) {
        setMessage({
          kind: 'error',
          title: 'Cannot start from this checkpoint',
          text: (err as Error).message,
          testId: 'runs-init-error',
        });
      } finally {
        setJob(null);
      }
    },
    [initTarget],
  );

  const deleteRun = useCallback(
    async (runId: string) => {
      setConfirm(null);
      setMessage(null);
      // Checked again at the moment of deleting: the page's run may have been resumed meanwhile.
      const s = useStudio.getState();
      const block = deleteBlock(runId, s.run ? { runId: s.run.settings.runId, status: s.status } : null);
      if (block) {
        setMessage({ kind: 'error', title: 'Not deleted', text: block, testId: 'runs-error' });
        return;
      }
      try {
        await deleteStoredRun(rt, runId);
        setMessage({ kind: 'ok', text: `Deleted run ${runId}.`, testId: 'runs-delete-done' });
      } catch (e) {
        setMessage({ kind: 'error', title: 'Delete failed', text: `${(e as Error).message}`, testId: 'runs-error' });
      } finally {
        reloadSafely();
      }
    },
    [rt, reloadSafely],
  );

  const persist = useCallback(async () => {
    setPersistNote(PERSIST_RESULT[await requestPersistentStorage()]);
    setStorage(await storageStatus());
  }, []);

  useEffect(() => {
    extendTestHook('runs', {
      /** Reads the stored runs again, as the panel does. */
      reload: () => reload(0),
      /** What storage holds of a run: its record, how many log records and checkpoints. */
      stored: (runId: string) => storedRun(rt, runId),
      ids: () => storedRunIds(rt),
    });
  }, [rt, reload]);

  const working = job !== null;
  return (
    <section className="panel panel-runs" aria-labelledby="runs-title" data-testid="runs-panel">
      <h2 id="runs-title">Runs</h2>
      <p className="muted small">
        Every run trained in this browser is kept here with its settings, metrics and latest checkpoint. Export one as a{' '}
        <code>{RUN_ARCHIVE_SUFFIX}</code> file to keep it, share it or open it in another browser.
      </p>
      <StorageLine status={storage} onPersist={() => void persist()} note={persistNote} />
      <div className="runs-toolbar">
        <label className="runs-import" title="Import a run exported from this app (a .realm.zip file)">
          Import a run:{' '}
          <input
            type="file"
            accept=".zip,application/zip"
            onChange={(e) => void onFile(e)}
            disabled={working}
            data-testid="runs-import-input"
          />
        </label>
        <label
          className="runs-import"
          title="A Hugging Face checkpoint as a zip: model.safetensors + config.json + vocab.txt (a BERT, or the Transformers export of a run). The next new run starts from it (docs/scale-out.md)."
        >
          Start from a checkpoint:{' '}
          <select
            value={initTarget}
            onChange={(e) => setInitTarget(e.target.value as ImportTarget)}
            disabled={working}
            aria-label="Encoders the checkpoint starts"
            data-testid="runs-init-target"
          >
            <option value="all">all three encoders</option>
            <option value="reader">the reader</option>
            <option value="embedders">the embedders</option>
          </select>{' '}
          <input
            type="file"
            accept=".zip,application/zip"
            onChange={(e) => void onCheckpointFile(e)}
            disabled={working}
            data-testid="runs-init-input"
          />
        </label>
        <button type="button" onClick={reloadSafely} disabled={working} title="Read the stored runs again">
          Refresh list
        </button>
      </div>
      {job && <ProgressBar progress={job.progress} label={job.label} testId="runs-progress" />}
      {pending && (
        <div
          className="runs-confirm"
          role="alertdialog"
          aria-label="A run with this id is already stored"
          data-testid="runs-import-exists"
        >
          <p>
            A run with the id <strong>{pending.runId}</strong> is already stored in this browser. Nothing was overwritten.
          </p>
          <button
            type="button"
            onClick={() => {
              const p = pending;
              setPending(null);
              void store(p.bytes, p.name, 'copy');
            }}
            autoFocus
          >
            Import as a copy
          </button>{' '}
          <button type="button" onClick={() => setPending(null)}>
            Cancel
          </button>
        </div>
      )}
      {message && (
        <div
          className={`runs-message runs-message-${message.kind}`}
          role={message.kind === 'error' ? 'alert' : 'status'}
          data-testid={message.testId}
        >
          {message.title && <strong>{message.title}: </strong>}
          {message.text}
        </div>
      )}
      {runs === null ? (
        <p className="muted">Reading the stored runs…</p>
      ) : runs.length === 0 ? (
        <p className="muted" data-testid="runs-empty">
          No runs stored yet. Start one in the Training panel, or import a {RUN_ARCHIVE_SUFFIX} file.
        </p>
      ) : (
        <div className="runs-scroll">
          <table className="runs-list" data-testid="runs-list">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Config</th>
                <th scope="col" title="Steps taken / steps planned over the three phases">
                  Steps
                </th>
                <th scope="col" title="Metrics at the last saved step and the last evaluation">
                  Final metrics
                </th>
                <th scope="col" title="Training loss by step, one colour per phase">
                  Loss
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {runs.map((s) => (
                <RunRow
                  key={s.run.id}
                  summary={s}
                  points={losses.get(s.run.id) ?? []}
                  pageRun={pageRun}
                  disabled={working}
                  confirming={confirm === s.run.id}
                  onExport={() => void exportRun(s.run.id)}
                  onExportTransformers={() => void exportRun(s.run.id, true)}
                  onAskDelete={() => setConfirm(s.run.id)}
                  onDelete={() => void deleteRun(s.run.id)}
                  onKeep={() => setConfirm(null)}
                  onOpen={() => void openRun(s.run.id)}
                  onCompare={() => void compareRun(s.run.id)}
                  comparing={compareId === s.run.id}
                />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <AblationGroups rt={rt} onChanged={reloadSafely} />
    </section>
  );
}
