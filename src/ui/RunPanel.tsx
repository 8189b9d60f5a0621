// The training panel: start, pause, resume and stop a pre-training run on the active corpus; phase,
// step, steps/s and ETA; after a reload, an offer to resume the last run from its checkpoint and its
// stored index. The index in use and the builder's progress are in the Index panel.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { StepMetrics } from '../model/metrics';
import type { ProgressMeter } from '../model/progress';
import type { RunRecord } from '../storage/db';
import { PretrainingRun, type RunEvents, type RunStatus } from '../app/pretraining-run';
import { ProgressBar } from './ProgressBar';
import { createRun, resumeOffer, resumeRun, stepMeter } from '../app/run-launcher';
import { runSettingsFromUrl } from '../app/run-settings';
import type { Runtime } from '../app/runtime';
import { extendTestHook } from '../app/test-hook';
import { useStudio } from '../app/studio-store';

interface View {
  status: RunStatus;
  step: number;
  total: number;
  phase: string;
  stepsPerSecond: number;
  lastLoss: number;
}

const EMPTY: View = { status: 'idle', step: 0, total: 0, phase: '–', stepsPerSecond: 0, lastLoss: NaN };

export function RunPanel({ rt }: { rt: Runtime }) {
  const [view, setView] = useState<View>(EMPTY);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [offer, setOffer] = useState<RunRecord | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const runRef = useRef<PretrainingRun | null>(null);
  const meter = useRef<ProgressMeter | null>(null);

  const refreshView = useCallback(() => {
    const run = runRef.current;
    if (!run) return;
    const last = run.history.steps.at(-1);
    const m = meter.current;
    setView({
      status: run.status,
      step: run.step,
      total: run.totalSteps,
      phase: run.phase?.phase ?? 'done',
      stepsPerSecond: m ? m.at(run.step).rate : 0,
      lastLoss: last?.loss ?? NaN,
    });
  }, []);

  const handlers = useCallback((): RunEvents => {
    const at = () => runRef.current?.step ?? 0;
    const { record: push, setBuild, setBuildProgress } = useStudio.getState();
    return {
      step: (m: StepMetrics) => {
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
        push({ type: 'status', step: at(), detail: s });
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
  }, [refreshView]);

  const startNew = useCallback(async () => {
    setError(null);
    setNotice(null);
    setBusy('Preparing the training data…');
    try {
      const settings = runSettingsFromUrl(window.location.search);
      if (settings.warnings.length) setError(settings.warnings.join(' '));
      const run = await createRun(rt, settings, handlers(), () => {
        runRef.current?.dispose();
        useStudio.getState().setRun(null);
      });
      runRef.current = run;
      useStudio.getState().setRun(run);
      meter.current = stepMeter(run.totalSteps);
      setOffer(null);
      run.start();
      refreshView();
    } catch (e) {
      setError(`${(e as Error).name}: ${(e as Error).message}`);
    } finally {
      setBusy(null);
    }
  }, [rt, handlers, refreshView]);

  const resumeStored = useCallback(
    async (runId: string) => {
      setError(null);
      setBusy('Restoring the checkpoint…');
      try {
        const run = await resumeRun(rt, runId, handlers(), () => {
          runRef.current?.dispose();
          useStudio.getState().setRun(null);
        });
        runRef.current = run;
        useStudio.getState().setRun(run);
        meter.current = stepMeter(run.totalSteps);
        setOffer(null);
        refreshView();
        return run.step;
      } catch (e) {
        setError(`${(e as Error).name}: ${(e as Error).message}`);
        throw e;
      } finally {
        setBusy(null);
      }
    },
    [rt, handlers, refreshView],
  );

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
      resumable: async () => (await resumeOffer(rt))?.id ?? null,
      resumeStored: (runId: string) => resumeStored(runId),
      killBuilder: () => rt.builder.kill(),
      builderRestarts: () => rt.builder.restarts,
      builderBackend: () => rt.builder.handle.api.backendName(),
      deviceLosses: () => runRef.current?.deviceLosses ?? 0,
    });
  }, [rt, startNew, resumeStored]);

  const run = runRef.current;
  const running = view.status === 'running';
  const eta = view.stepsPerSecond > 0 ? (view.total - view.step) / view.stepsPerSecond : null;
  return (
    <section className="panel run-panel" aria-labelledby="run-title" data-testid="run-panel">
      <h2 id="run-title">Training</h2>
      {offer && !run && (
        <div className="notice" data-testid="resume-offer">
          Run {offer.id} stopped at step {offer.step} ({offer.status}).{' '}
          <button type="button" onClick={() => void resumeStored(offer.id)}>
            Resume from its last checkpoint
          </button>
        </div>
      )}
      <div className="run-buttons">
        <button
          type="button"
          onClick={() => void startNew()}
          disabled={running || !!busy}
          title="Start a new run on the active corpus: ICT, then MLM, then REALM"
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
        <button type="button" onClick={() => run?.resume()} disabled={view.status !== 'paused'}>
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
      {busy && <p role="status">{busy}</p>}
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
      <dl className="run-stats" data-testid="run-stats">
        <dt>Status</dt>
        <dd data-testid="run-status">{view.status}</dd>
        <dt>Phase</dt>
        <dd>{view.phase}</dd>
        <dt>Step</dt>
        <dd data-testid="run-step">
          {view.step} / {view.total}
        </dd>
        <dt>Steps/s</dt>
        <dd>{view.stepsPerSecond.toFixed(2)}</dd>
        <dt>Loss</dt>
        <dd>{Number.isFinite(view.lastLoss) ? view.lastLoss.toFixed(3) : '–'}</dd>
      </dl>
      {run && (
        <ProgressBar
          progress={{
            task: 'training',
            done: view.step,
            total: view.total,
            unit: 'steps',
            rate: view.stepsPerSecond,
            etaSeconds: eta,
          }}
          label="Training"
        />
      )}
    </section>
  );
}
