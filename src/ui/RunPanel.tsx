// The training panel: start, pause, resume and stop a pre-training run on the active corpus; phase,
// step, steps/s and ETA; after a reload, an offer to resume the last run from its checkpoint and its
// stored index. The index in use and the builder's progress are in the Index panel. After pre-training,
// its fine-tuning phase (FinetuneSection) trains a span reader for Open-QA.
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { StepMetrics } from '../model/metrics';
import type { Progress } from '../model/progress';
import type { VocabularyCoverage } from '../app/run-data';
import { PretrainingRun, type RunEvents, type RunStatus } from '../app/pretraining-run';
import { FinetuneSection } from './FinetuneSection';
import { ProgressBar } from './ProgressBar';
import { plural, speedView, StepRateMeter, stepsLeftByPhase, type SpeedView } from '../app/progress-view';
import { createRun, lastCheckpointStep, resumeOffer, resumeOfferText, resumeRun, type ResumeOffer } from '../app/run-launcher';
import { eventsFromHistory } from '../app/run-replay';
import { runSettingsFromUrl } from '../app/run-settings';
import type { Runtime } from '../app/runtime';
import { corpusControllerFor } from '../app/corpus-controller';
import { extendTestHook } from '../app/test-hook';
import { useStudio } from '../app/studio-store';

interface View {
  status: RunStatus;
  step: number;
  total: number;
  phase: string;
  speed: SpeedView;
  lastLoss: number;
}

const NO_SPEED: SpeedView = { rate: '–', etaSeconds: null, eta: '' };
const EMPTY: View = { status: 'idle', step: 0, total: 0, phase: '–', speed: NO_SPEED, lastLoss: NaN };

/** Says (and returns true) when another job holds the page's GPU: training must not start beside it. */
function refuseDuringPageJob(say: (message: string) => void): boolean {
  const job = useStudio.getState().pageJob;
  if (job) say(`${job} is running in this page: training starts when it ends (or stop it).`);
  return job !== null;
}

export function RunPanel({ rt }: { rt: Runtime }) {
  const [view, setView] = useState<View>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [offer, setOffer] = useState<ResumeOffer | null>(null);
  /** The last checkpoint of the run in the page after it failed (null: none, undefined: not failed). */
  const [failedCheckpoint, setFailedCheckpoint] = useState<number | null | undefined>(undefined);
  const [busy, setBusy] = useState<string | null>(null);
  /** Fetching the warm start: bytes so far. */
  const [warmProgress, setWarmProgress] = useState<Progress | null>(null);
  /** The run's vocabulary over the corpus: the share of words it can only spell as [UNK]. */
  const [coverage, setCoverage] = useState<VocabularyCoverage | null>(null);
  const runRef = useRef<PretrainingRun | null>(null);
  // On a first visit the bundled corpus is still being stored when the page opens: Start waits for it.
  const corpora = corpusControllerFor(rt.store).state;
  const corpus = useSyncExternalStore(corpora.subscribe, corpora.getState);
  const corpusLoading = corpus.activeId === null && (!corpus.started || corpus.job !== null);
  /** Another job holding the GPU and the index builder (the ablation table, fine-tuning): training waits. */
  const pageJob = useStudio((s) => s.pageJob);
  const rate = useRef(new StepRateMeter());

  const refreshView = useCallback(() => {
    const run = runRef.current;
    if (!run) return;
    const last = run.history.steps.at(-1);
    const phase = run.phase?.phase ?? 'done';
    const r = rate.current.at(phase, stepsLeftByPhase(run.settings.config, run.step), Date.now());
    setView({
      status: run.status,
      step: run.step,
      total: run.totalSteps,
      phase,
      speed: speedView(run.status, r),
      lastLoss: last?.loss ?? NaN,
    });
  }, []);

  const handlers = useCallback((): RunEvents => {
    const at = () => runRef.current?.step ?? 0;
    const { record: push, setBuild, setBuildProgress } = useStudio.getState();
    return {
      step: (m: StepMetrics) => {
        rate.current.record(m.phase, m.time);
        push({ type: 'step', step: m.step, version: m.indexVersion, staleness: m.staleness, detail: m.phase });
        refreshView();
      },
      buildStart: (e) => {
        setBuild({ version: e.version, snapshotStep: e.snapshotStep, start: e.time, progress: null });
        push({ type: 'build-start', step: e.step, version: e.version, snapshotStep: e.snapshotStep });
      },
      buildEnd: (e) => {
        setBuild(null);
        push({
          type: 'build-end',
          step: e.step,
          version: e.version,
          snapshotStep: e.snapshotStep,
          detail: e.ok ? 'ok' : e.error,
        });
      },
      buildProgress: (p) => setBuildProgress(p),
      evaluated: (m) => push({ type: 'eval', step: m.step }),
      refresh: (r) => push({ type: 'swap', step: r.swapStep, version: r.version, staleness: r.swapStep - r.snapshotStep }),
      checkpoint: (step) => push({ type: 'checkpoint', step }),
      status: (s) => {
        if (s === 'running') rate.current.restart(Date.now());
        push({ type: 'status', step: at(), detail: s });
        if (s === 'failed') {
          const id = runRef.current?.settings.runId;
          if (id) void lastCheckpointStep(rt, id).then(setFailedCheckpoint, () => setFailedCheckpoint(null));
        }
        refreshView();
      },
      error: (e) => {
        push({ type: 'error', step: at(), detail: e.message });
        setError(`${e.name}: ${e.message}`);
      },
      notice: (message) => {
        push({ type: 'notice', step: at(), detail: message });
        setNotice(message);
        refreshView();
      },
    };
  }, [rt, refreshView]);

  /** Puts `run` in the page, with its past events when it comes from storage. */
  const adopt = useCallback(
    (run: PretrainingRun) => {
      runRef.current = run;
      rate.current = new StepRateMeter();
      useStudio.getState().setRun(run, eventsFromHistory(run.history));
      setOffer(null);
      setFailedCheckpoint(undefined);
      refreshView();
    },
    [refreshView],
  );

  /** A start or restore under way: a second click must not make a second run beside it. */
  const switching = useRef(false);

  const startNew = useCallback(async () => {
    if (switching.current) return;
    if (refuseDuringPageJob(setError)) return;
    switching.current = true;
    setError(null);
    setNotice(null);
    setBusy('Preparing the training data…');
    try {
      // The run in the page is replaced: a training one pauses first (and saves a checkpoint).
      if (runRef.current?.status === 'running') await runRef.current.pause();
      const settings = runSettingsFromUrl(window.location.search);
      if (settings.warnings.length) setError(settings.warnings.join(' '));
      if (settings.start === 'warm') setBusy('Fetching the warm start…');
      const launch = { ...handlers(), warmStartProgress: setWarmProgress, coverage: setCoverage };
      const run = await createRun(rt, settings, launch, () => {
        runRef.current?.dispose();
        useStudio.getState().setRun(null);
      });
      adopt(run);
      run.start();
    } catch (e) {
      setError(`${(e as Error).name}: ${(e as Error).message}`);
    } finally {
      switching.current = false;
      setBusy(null);
      setWarmProgress(null);
    }
  }, [rt, handlers, adopt]);

  /**
   * Restores a stored run from its last checkpoint, with its charts, timeline and index; with `train`
   * it carries on training at once (one click). Returns the step it was restored at.
   */
  const resumeStored = useCallback(
    async (runId: string, train = false) => {
      if (switching.current) throw new Error('A run is being started or restored; try again in a moment.');
      if (train && refuseDuringPageJob(setError)) throw new Error(useStudio.getState().pageJob + ' is running');
      switching.current = true;
      setError(null);
      setNotice(null);
      setBusy('Restoring the checkpoint…');
      try {
        // The run in the page is replaced: a training one pauses first (and saves a checkpoint).
        if (runRef.current?.status === 'running') await runRef.current.pause();
        const run = await resumeRun(rt, runId, { ...handlers(), coverage: setCoverage }, () => {
          runRef.current?.dispose();
          useStudio.getState().setRun(null);
        });
        adopt(run);
        if (train) run.start();
        return run.step;
      } catch (e) {
        setError(`${(e as Error).name}: ${(e as Error).message}`);
        throw e;
      } finally {
        switching.current = false;
        setBusy(null);
      }
    },
    [rt, handlers, adopt],
  );

  useEffect(() => {
    useStudio.getState().setOpenStored(resumeStored);
    return () => useStudio.getState().setOpenStored(null);
  }, [resumeStored]);

  // While training, the speed line follows the clock (a slow step turns the ETA to unknown).
  useEffect(() => {
    if (view.status !== 'running') return;
    const timer = setInterval(refreshView, 1000);
    return () => clearInterval(timer);
  }, [view.status, refreshView]);

  useEffect(() => {
    let live = true;
    void (async () => {
      const r = await resumeOffer(rt);
      if (live) setOffer(r);
    })();
    return () => {
      live = false;
    };
  }, [rt]);

  useEffect(() => {
    extendTestHook('run', {
      start: () => startNew(),
      pause: () => runRef.current?.pause(),
      resume: () => runRef.current?.resume(),
      stop: () => runRef.current?.stop(),
      state: () => {
        const r = runRef.current;
        return r
          ? { runId: r.settings.runId, status: r.status, step: r.step, total: r.totalSteps, phase: r.phase?.phase ?? 'done' }
          : null;
      },
      /** The config the run in the page started with. */
      config: () => runRef.current?.settings.config ?? null,
      events: () => useStudio.getState().events,
      resumable: async () => (await resumeOffer(rt))?.run.id ?? null,
      resumeStored: (runId: string, train = false) => resumeStored(runId, train),
      killBuilder: () => rt.builder.kill(),
      builderRestarts: () => rt.builder.restarts,
      builderBackend: () => rt.builder.handle.api.backendName(),
      deviceLosses: () => runRef.current?.deviceLosses ?? 0,
    });
  }, [rt, startNew, resumeStored]);

  const run = runRef.current;
  const running = view.status === 'running';
  return (
    <section className="panel run-panel" aria-labelledby="run-title" data-testid="run-panel">
      <h2 id="run-title">Training</h2>
      {offer && !run && (
        <div className="notice" data-testid="resume-offer">
          {resumeOfferText(offer)}{' '}
          <button type="button" disabled={!!pageJob} onClick={() => void resumeStored(offer.run.id, true)}>
            Resume training from step {offer.checkpointStep}
          </button>
        </div>
      )}
      <div className="run-buttons">
        <button
          type="button"
          onClick={() => void startNew()}
          disabled={running || !!busy || corpusLoading || !!pageJob}
          title={
            corpusLoading
              ? 'Waiting for the bundled corpus to be stored in this browser'
              : pageJob
                ? `Waiting for ${pageJob.toLowerCase()} to end`
                : 'Start a new run on the active corpus: ICT, then MLM, then REALM'
          }
        >
          Start
        </button>
        <button
          type="button"
          onClick={() => void run?.pause()}
          disabled={!running}
          title="Pause after this step and save a checkpoint"
        >
          Pause
        </button>
        <button type="button" onClick={() => run?.resume()} disabled={view.status !== 'paused' || !!pageJob}>
          Resume
        </button>
        <button
          type="button"
          onClick={() => void run?.stop()}
          disabled={!run || view.status === 'stopped' || view.status === 'done'}
        >
          Stop
        </button>
      </div>
      {corpusLoading && (
        <p className="muted small" data-testid="run-waiting-corpus">
          Start waits for the bundled corpus, which is being stored in this browser (the Corpus panel shows its progress).
        </p>
      )}
      {pageJob && (
        <p className="muted small" data-testid="run-waiting-job">
          {pageJob} is running in this page and holds the GPU and the index builder: Start and Resume wait until it ends.
        </p>
      )}
      {busy && <p role="status">{busy}</p>}
      {warmProgress && <ProgressBar progress={warmProgress} label="Warm start" testId="warm-start-progress" />}
      {notice && (
        <p className="notice" role="status" data-testid="run-notice">
          {notice}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {run && view.status === 'failed' && failedCheckpoint !== undefined && (
        <div className="notice" data-testid="resume-failed">
          {failedCheckpoint === null ? (
            'The run stored no checkpoint before it failed; press Start for a new run.'
          ) : (
            <>
              Its last checkpoint is at step {failedCheckpoint}.{' '}
              <button type="button" disabled={!!busy || !!pageJob} onClick={() => void resumeStored(run.settings.runId, true)}>
                Resume training from step {failedCheckpoint}
              </button>
            </>
          )}
        </div>
      )}
      <dl className="run-stats" data-testid="run-stats">
        <dt>Status</dt>
        <dd data-testid="run-status">{view.status}</dd>
        <dt>Phase</dt>
        <dd>{view.phase}</dd>
        <dt>Step</dt>
        <dd data-testid="run-step">
          {view.step} / {view.total}
        </dd>
        <dt title="Steps per second over the last 20 steps of this phase">Steps/s</dt>
        <dd data-testid="run-rate">{view.speed.rate}</dd>
        <dt>Loss</dt>
        <dd>{Number.isFinite(view.lastLoss) ? view.lastLoss.toFixed(3) : '–'}</dd>
        <dt title="Where the model started: the warm start (its weights and vocabulary) or random weights">Start</dt>
        <dd data-testid="run-start">
          {run ? (run.settings.warmStart ? `warm (${run.settings.warmStart.preset})` : 'cold') : '–'}
        </dd>
        {coverage && run && (
          <>
            <dt title="Words of the corpus (titles and texts) that the run's vocabulary can only spell as [UNK]">[UNK] words</dt>
            <dd data-testid="run-unk-share">
              {(coverage.unkWordShare * 100).toFixed(2)}% ({coverage.unkWords.toLocaleString('en')} of{' '}
              {coverage.words.toLocaleString('en')}, {coverage.source === 'model' ? 'the warm start’s' : 'the corpus’s'}{' '}
              vocabulary of {coverage.pieces.toLocaleString('en')} pieces)
            </dd>
          </>
        )}
      </dl>
      {run && (
        <ProgressBar
          progress={{
            task: 'training',
            done: view.step,
            total: view.total,
            unit: 'steps',
            rate: 0,
            etaSeconds: view.speed.etaSeconds,
          }}
          eta={view.speed.eta}
          label={running ? 'Training' : `Training (${view.status}, ${plural(view.total - view.step, 'step')} left)`}
          testId="run-progress"
        />
      )}
      <FinetuneSection rt={rt} />
    </section>
  );
}
