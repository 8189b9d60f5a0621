// The fine-tuning phase of the Training panel (issue #34): once the run is paused or done, "Fine-tune
// for Open-QA" trains a span reader from the run's weights on the corpus's qa-train.jsonl (steps, k = 5
// by default, dev EM every E steps), with its progress, ETA and its own charts: the loss by step, and
// the dev set's exact match and recall@5 (step 0 is before fine-tuning). The Ask panel reads its model.
// Its checkpoint is stored with the run when it ends, and comes back when the run is put in the page again.
import { useCallback, useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { FinetuneRun, PAGE_FINETUNE_DEFAULTS, type FinetuneEvents, type FinetuneSettings } from '../app/finetune-run';
import { openQaSourceFor } from '../app/open-qa-source';
import { formatEta } from '../app/progress-view';
import { useOpenQa } from '../app/qa-store';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { extendTestHook } from '../app/test-hook';
import { ProgressBar } from './ProgressBar';
import { resolveCssColour, useThemeVersion } from './theme-colors';
import './ask-panel.css';

const SERIES_VARS = ['--series-1', '--series-2', '--series-3'];

/** A small uPlot line chart of one or more series over fine-tuning steps. */
function StepChart({
  title,
  x,
  ys,
  labels,
  range,
  testId,
}: {
  title: string;
  x: number[];
  ys: number[][];
  labels: string[];
  range?: [number, number];
  testId: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeVersion();
  const signature = labels.join('|');
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const colour = (v: string) => resolveCssColour(el, v);
    const axis: uPlot.Axis = { stroke: colour('--muted'), font: '11px system-ui, sans-serif', size: 30 };
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth || 300),
        height: 120,
        padding: [10, 8, 0, 0],
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false }, y: range ? { range } : { auto: true } },
        axes: [axis, { ...axis, size: 40 }],
        series: [
          {},
          ...labels.map((label, i) => ({
            label,
            stroke: colour(SERIES_VARS[i % SERIES_VARS.length]),
            width: 1.5,
            points: { show: x.length < 40, size: 5 },
          })),
        ],
      },
      [x, ...ys] as uPlot.AlignedData,
      el,
    );
    plot.current = u;
    return () => {
      u.destroy();
      plot.current = null;
    };
    // The chart is rebuilt when its series or the theme change; new points go through setData below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signature, theme]);
  useEffect(() => {
    plot.current?.setData([x, ...ys] as uPlot.AlignedData);
  }, [x, ys]);
  const last = (i: number) => ys[i]?.at(-1);
  return (
    <figure className="finetune-chart" data-testid={testId} data-points={x.length}>
      <figcaption className="small">
        {title}:{' '}
        {labels.map((l, i) => (
          <span key={l} style={{ color: `var(${SERIES_VARS[i % SERIES_VARS.length]})` }}>
            {l} {last(i) === undefined ? '–' : last(i)!.toFixed(3)}{' '}
          </span>
        ))}
      </figcaption>
      <div ref={host} role="img" aria-label={`${title} by fine-tuning step`} />
    </figure>
  );
}

/** The name fine-tuning holds the page's GPU under (studio-store's pageJob). */
const FINETUNE_JOB = 'Open-QA fine-tuning';

export function FinetuneSection({ rt }: { rt: Runtime }) {
  const run = useStudio((s) => s.run);
  const status = useStudio((s) => s.status);
  const finetune = useOpenQa((s) => s.finetune);
  useOpenQa((s) => s.tick);
  const [settings, setSettings] = useState<FinetuneSettings>(PAGE_FINETUNE_DEFAULTS);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [questions, setQuestions] = useState<{ train: number; dev: number } | null>(null);
  /** Said when the run's stored fine-tuned model was loaded back. */
  const [restored, setRestored] = useState<string | null>(null);

  const events = useCallback((): FinetuneEvents => {
    const { bump } = useOpenQa.getState();
    return { step: bump, evaluated: bump, status: bump, error: (e) => setError(`${e.name}: ${e.message}`) };
  }, []);

  // A fine-tuning run of another pre-training run (a new run in the page) is stopped and freed; a run
  // put in the page (after a reload, or opened from the Runs panel) gets its stored fine-tuned model back.
  useEffect(() => {
    const qa = useOpenQa.getState();
    if (qa.finetune && qa.finetune.runId === run?.settings.runId) return;
    setRestored(null);
    void qa.setFinetune(null);
    if (!run) return;
    let live = true;
    void (async () => {
      const c = await rt.store.getFinetuneCheckpoint(run.settings.runId);
      if (!c || !live) return;
      const ctx = await openQaSourceFor(rt.store).context(run);
      const f = await FinetuneRun.restore(run.settings.runId, ctx, c, events(), rt.store);
      if (!live || useOpenQa.getState().finetune) {
        f.dispose();
        return;
      }
      await useOpenQa.getState().setFinetune(f);
      setRestored(`Restored the fine-tuned model stored with this run (${f.step} steps).`);
    })().catch((e: Error) => live && setError(`${e.name}: ${e.message}`));
    return () => {
      live = false;
    };
  }, [run, rt, events]);

  useEffect(() => {
    setQuestions(null);
    if (!run) return;
    let live = true;
    openQaSourceFor(rt.store)
      .context(run)
      .then(
        (c) => live && setQuestions({ train: c.train.length, dev: c.dev.length }),
        () => {},
      );
    return () => {
      live = false;
    };
  }, [run, rt]);

  const ft = finetune && run && finetune.runId === run.settings.runId ? finetune : null;
  const running = ft?.status === 'running' || ft?.status === 'preparing';
  const pageJob = useStudio((s) => s.pageJob);
  // While it trains, fine-tuning holds the GPU: Start, Resume and the ablation table wait for it.
  useEffect(() => {
    if (!running) return;
    useStudio.getState().setPageJob(FINETUNE_JOB);
    return () => {
      if (useStudio.getState().pageJob === FINETUNE_JOB) useStudio.getState().setPageJob(null);
    };
  }, [running]);

  const start = useCallback(
    async (chosen: FinetuneSettings) => {
      if (!run) throw new Error('no run in the page');
      setError(null);
      setBusy(true);
      try {
        const ctx = await openQaSourceFor(rt.store).context(run);
        const f = await FinetuneRun.create(run, ctx, chosen, events(), rt.store);
        setRestored(null);
        await useOpenQa.getState().setFinetune(f);
        f.start();
        return f.runId;
      } catch (e) {
        setError(`${(e as Error).name}: ${(e as Error).message}`);
        throw e;
      } finally {
        setBusy(false);
      }
    },
    [run, rt, events],
  );

  useEffect(() => {
    extendTestHook('finetune', {
      /** Starts fine-tuning with the form's settings and `s` over them (the button does the same). */
      start: (s: Partial<FinetuneSettings> = {}) => start({ ...settings, ...s }),
      state: () => {
        const f = useOpenQa.getState().finetune;
        return f
          ? { runId: f.runId, status: f.status, step: f.step, steps: f.settings.steps, k: f.settings.k, evals: f.history.evals }
          : null;
      },
      stop: () => useOpenQa.getState().finetune?.stop(),
      continue: () => useOpenQa.getState().finetune?.continue(),
    });
  }, [start, settings]);

  if (!run) return null;
  const otherJob = pageJob !== null && pageJob !== FINETUNE_JOB ? pageJob : null;
  const canStart = !running && !busy && !otherJob && status !== 'running' && run.step > 0 && (questions?.train ?? 0) > 0;
  const field = (key: 'steps' | 'k' | 'evalEvery', label: string, title: string, min: number) => (
    <label title={title}>
      {label}
      <input
        type="number"
        min={min}
        step={1}
        value={settings[key]}
        disabled={running}
        data-testid={`finetune-${key}`}
        onChange={(e) => setSettings((s) => ({ ...s, [key]: Number(e.target.value) }))}
      />
    </label>
  );
  const steps = ft?.history.steps ?? [];
  const evals = ft?.history.evals ?? [];
  return (
    <div className="finetune" data-testid="finetune-section">
      <h3>Fine-tune for Open-QA</h3>
      <p className="muted small">
        Trains a span reader from this run's weights on the corpus's{' '}
        {questions ? `${questions.train} training questions (qa-train.jsonl)` : 'training questions'}, retrieving k documents per
        question from a fixed index (Embed_doc frozen, as in REALM's fine-tuning). The Ask panel then answers with it.
        {status === 'running' ? ' Pause the run (or let it finish) first.' : ''}
        {otherJob ? ` ${otherJob} is running in this page: fine-tuning waits for it.` : ''}
        {questions && questions.train === 0 ? ' This corpus has no training questions.' : ''}
      </p>
      <div className="finetune-form">
        {field('steps', 'Steps', 'Fine-tuning steps (AdamW with warm-up and linear decay)', 1)}
        {field('k', 'k', 'Documents retrieved and read per question (REALM fine-tunes with k = 5)', 1)}
        {field(
          'evalEvery',
          'Dev EM every',
          'Evaluate exact match and recall@5 on the dev questions every E steps (0: at the end only)',
          0,
        )}
        <button
          type="button"
          disabled={!canStart}
          onClick={() => void start(settings).catch(() => {})}
          data-testid="finetune-start"
        >
          Fine-tune for Open-QA
        </button>
        <button type="button" disabled={!running} onClick={() => void ft?.stop()} data-testid="finetune-stop">
          End fine-tuning
        </button>
        {ft?.canContinue && (
          <button
            type="button"
            disabled={busy || !!otherJob || status === 'running'}
            onClick={() => ft.continue()}
            title="Go on from where it stopped (weights, AdamW, RNG and question order carry on) to its last step"
            data-testid="finetune-continue"
          >
            Continue to step {ft.settings.steps}
          </button>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {restored && ft && (
        <p className="muted small" role="status" data-testid="finetune-restored">
          {restored}
        </p>
      )}
      {ft && (
        <>
          <p className="small" data-testid="finetune-status">
            Fine-tuning {ft.status}: step {ft.step} of {ft.settings.steps}, k = {ft.settings.k}, from pre-training step{' '}
            {ft.fromStep}
            {steps.length > 0 ? `; loss ${steps.at(-1)!.loss.toFixed(3)}` : ''}
            {evals.length > 0
              ? `; dev EM ${evals.at(-1)!.exactMatch.toFixed(3)}, recall@5 ${evals.at(-1)!.recallAt5.toFixed(3)} (${evals.at(-1)!.questions}${questions && questions.dev > evals.at(-1)!.questions ? ` of ${questions.dev}` : ''} dev questions)`
              : ''}
          </p>
          <ProgressBar
            progress={
              ft.progress ?? { task: 'finetune', done: 0, total: ft.settings.steps, unit: 'steps', rate: 0, etaSeconds: null }
            }
            eta={running ? formatEta(ft.progress?.etaSeconds ?? null) : ''}
            label={running ? 'Fine-tuning' : `Fine-tuning (${ft.status})`}
            testId="finetune-progress"
          />
          <div className="finetune-charts">
            <StepChart
              title="Fine-tuning loss"
              x={steps.map((m) => m.step)}
              ys={[steps.map((m) => m.loss)]}
              labels={['loss']}
              testId="finetune-loss-chart"
            />
            <StepChart
              title="Dev set"
              x={evals.map((e) => e.step)}
              ys={[evals.map((e) => e.exactMatch), evals.map((e) => e.recallAt5)]}
              labels={['EM', 'recall@5']}
              range={[0, 1]}
              testId="finetune-eval-chart"
            />
          </div>
        </>
      )}
    </div>
  );
}
