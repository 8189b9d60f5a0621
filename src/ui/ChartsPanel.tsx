// The Charts panel: live uPlot charts of the run's metrics by step: loss, MLM accuracy on masked
// tokens, mean p(null), mean retrieval utility, retrieval entropy, and the held-out cloze accuracy and
// recall@5 evaluated every E steps. uPlot draws straight to a canvas and takes new data without
// rebuilding the chart, so thousands of steps stay smooth; the panel reads `run.history` on the store's
// `tick` and redraws at most once per animation frame. The phases (ICT, MLM, REALM) are shaded and
// their boundaries marked on every chart.
import { useEffect, useMemo, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { EvalMetrics, StepMetrics } from '../model/metrics';
import {
  EVAL_METRICS,
  formatMetric,
  overlaySteps,
  PHASE_EXPLAIN,
  PHASE_LABEL,
  phaseSpans,
  SeriesColumns,
  STEP_METRICS,
  type PhaseSpan,
} from '../app/chart-series';
import { plural } from '../app/progress-view';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { extendTestHook } from '../app/test-hook';
import { resolveCssColour, useThemeVersion, withAlpha } from './theme-colors';
import './charts-panel.css';

const SERIES_VARS = ['--series-1', '--series-2', '--series-3', '--series-4'];
const PHASE_VARS: Record<string, string> = { ict: '--series-4', mlm: '--series-2', realm: '--series-3' };
const CHART_HEIGHT = 150;

interface ChartSpec {
  id: string;
  title: string;
  explain: string;
  /** Which columns of the source, and their labels and colours. */
  series: { column: number; label: string; colourVar: string; explain: string }[];
  range?: [number, number];
  source: 'steps' | 'evals';
  /** Draw a dot at every value (sparse evaluation points). */
  points: boolean;
}

const SPECS: ChartSpec[] = [
  ...STEP_METRICS.map((m, i): ChartSpec => ({
    id: m.key,
    title: m.label,
    explain: m.explain,
    series: [{ column: i, label: m.label, colourVar: SERIES_VARS[i % SERIES_VARS.length], explain: m.explain }],
    range: m.range,
    source: 'steps',
    points: false,
  })),
  {
    id: 'eval',
    title: 'Held-out cloze and recall@5',
    explain: 'Evaluated every E steps on held-out cloze sentences that training never sees.',
    series: EVAL_METRICS.map((m, i) => ({
      column: i,
      label: m.label,
      colourVar: SERIES_VARS[[0, 3, 2, 1][i]],
      explain: m.explain,
    })),
    range: [0, 1],
    source: 'evals',
    points: true,
  },
];

/** The columns every chart reads, kept across frames and grown in place. */
interface Columns {
  steps: SeriesColumns<StepMetrics>;
  evals: SeriesColumns<EvalMetrics>;
  spans: PhaseSpan[];
}

/** The x range of the evaluation chart: the steps trained so far (and its own points), at least 1 wide. */
function stepRange(steps: readonly number[], min: number | null, max: number | null): [number, number] {
  const lo = Math.min(steps[0] ?? Infinity, min ?? Infinity);
  const hi = Math.max(steps.at(-1) ?? -Infinity, max ?? -Infinity);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  return [lo, Math.max(hi, lo + 1)];
}

/** uPlot plugin: shades each phase and draws a labelled line at each phase boundary. */
function phasePlugin(getSpans: () => PhaseSpan[], colours: Record<string, string>, fg: string): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        for (const s of getSpans()) {
          const x0 = u.valToPos(s.firstStep - 0.5, 'x', true);
          const x1 = u.valToPos(s.lastStep + 0.5, 'x', true);
          const left = Math.max(u.bbox.left, x0);
          const right = Math.min(u.bbox.left + u.bbox.width, x1);
          if (right <= left) continue;
          ctx.fillStyle = withAlpha(colours[s.phase] ?? fg, 0.09);
          ctx.fillRect(left, top, right - left, height);
        }
        ctx.restore();
      },
      draw: (u) => {
        const { ctx } = u;
        const { top, height, left, width } = u.bbox;
        const dpr = devicePixelRatio || 1;
        ctx.save();
        ctx.font = `${11 * dpr}px system-ui, sans-serif`;
        ctx.textBaseline = 'bottom';
        const spans = getSpans();
        spans.forEach((s, i) => {
          const x = u.valToPos(s.firstStep - 0.5, 'x', true);
          const xEnd = u.valToPos(s.lastStep + 0.5, 'x', true);
          if (xEnd < left + 2 || x > left + width) return;
          if (i > 0 && x >= left) {
            ctx.strokeStyle = withAlpha(fg, 0.55);
            ctx.setLineDash([4 * dpr, 3 * dpr]);
            ctx.lineWidth = dpr;
            ctx.beginPath();
            ctx.moveTo(x, top);
            ctx.lineTo(x, top + height);
            ctx.stroke();
          }
          // The phase's name above the plot, where it fits before the next phase starts.
          const label = PHASE_LABEL[s.phase];
          const lx = Math.max(left, x) + 2 * dpr;
          const room = (i + 1 < spans.length ? u.valToPos(spans[i + 1].firstStep - 0.5, 'x', true) : left + width) - lx;
          if (ctx.measureText(label).width + 2 * dpr > room) return;
          ctx.fillStyle = colours[s.phase] ?? fg;
          ctx.fillText(label, lx, top - 1 * dpr);
        });
        ctx.restore();
      },
    },
  };
}

function LiveChart({
  spec,
  columns,
  frame,
  registry,
  compare,
}: {
  spec: ChartSpec;
  columns: Columns;
  frame: number;
  registry: Map<string, uPlot>;
  /** A stored run's step metrics, overlaid dashed on the step charts. */
  compare: { runId: string; columns: SeriesColumns<StepMetrics> } | null;
}) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const theme = useThemeVersion();
  // The step under the pointer (all charts follow one cursor), or null: the header shows its values.
  const [cursorIdx, setCursorIdx] = useState<number | null>(null);

  const overlay = spec.source === 'steps' ? compare : null;
  const dataOf = (): uPlot.AlignedData => {
    const cols = spec.source === 'steps' ? columns.steps : columns.evals;
    if (overlay) {
      const j = spec.series[0].column;
      return overlaySteps(cols.x, cols.ys[j], overlay.columns.x, overlay.columns.ys[j]) as uPlot.AlignedData;
    }
    return [cols.x, ...spec.series.map((s) => cols.ys[s.column])] as uPlot.AlignedData;
  };

  // Create the chart (again when the theme changes: the colours are resolved once per chart).
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const colour = (v: string) => resolveCssColour(el, v);
    const fg = colour('--fg');
    const muted = colour('--muted');
    const grid = withAlpha(colour('--border'), 0.9);
    const phaseColours = Object.fromEntries(Object.entries(PHASE_VARS).map(([p, v]) => [p, colour(v)]));
    const axis: uPlot.Axis = {
      stroke: muted,
      font: '11px system-ui, sans-serif',
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
    };
    const multi = spec.series.length > 1;
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth || 300),
        height: CHART_HEIGHT,
        padding: [16, 8, 0, 0],
        cursor: { sync: { key: 'realm-charts' }, drag: { x: true, y: false } },
        // The header and the key below the plot name the series and show their values.
        legend: { show: false },
        scales: {
          // Evaluation points share the step axis of the other charts, so one cursor reads them all.
          x: multi ? { time: false, range: (_u, min, max) => stepRange(columns.steps.x, min, max) } : { time: false },
          y: spec.range ? { range: spec.range } : { auto: true },
        },
        axes: [
          { ...axis, size: 30 },
          {
            ...axis,
            size: 50,
            ...(spec.range ? { values: (_u: uPlot, splits: number[]) => splits.map((v) => `${Math.round(v * 100)}%`) } : {}),
          },
        ],
        series: [
          { label: 'step' },
          ...spec.series.map((s): uPlot.Series => ({
            label: s.label,
            stroke: colour(s.colourVar),
            width: 1.5,
            spanGaps: false,
            points: spec.points ? { show: true, size: 6, fill: colour(s.colourVar) } : { show: false },
            value: (_u, v) => formatMetric(v, spec.range),
          })),
          ...(overlay
            ? [
                {
                  label: overlay.runId,
                  stroke: muted,
                  width: 1.5,
                  dash: [5, 4],
                  spanGaps: true,
                  points: { show: false },
                  value: (_u: uPlot, v: number | null) => formatMetric(v, spec.range),
                } satisfies uPlot.Series,
              ]
            : []),
        ],
        plugins: [phasePlugin(() => columns.spans, phaseColours, fg)],
        hooks: { setCursor: [(c) => setCursorIdx(c.cursor.idx ?? null)] },
      },
      dataOf(),
      el,
    );
    plot.current = u;
    registry.set(spec.id, u);
    const resize = new ResizeObserver(() => {
      const w = Math.max(200, el.clientWidth);
      if (Math.abs(w - u.width) > 1) u.setSize({ width: w, height: CHART_HEIGHT });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      registry.delete(spec.id);
      plot.current = null;
      u.destroy();
    };
    // The chart reads the shared columns through closures; it is rebuilt only for a new theme or overlay.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [theme, overlay?.runId, overlay?.columns]);

  // New data: one setData per animation frame at most (the panel throttles `frame`).
  useEffect(() => {
    plot.current?.setData(dataOf());
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [frame]);

  const cols = spec.source === 'steps' ? columns.steps : columns.evals;
  // What the chart draws (with an overlay, both runs on one step axis): the header reads it too.
  const data = overlay ? dataOf() : null;
  const xs = data ? (data[0] as number[]) : cols.x;
  const hovered = cursorIdx !== null && cursorIdx < xs.length ? cursorIdx : null;
  const shown = spec.series.map((s, i) => {
    const ys = data ? (data[i + 1] as (number | null)[]) : cols.ys[s.column];
    if (hovered !== null) return ys[hovered];
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null) return ys[i];
    return null;
  });
  const multi = spec.series.length > 1;
  const values = multi ? '' : formatMetric(shown[0], spec.range);
  return (
    <figure
      className="live-chart"
      data-testid={`chart-${spec.id}`}
      data-points={cols.length}
      data-compare-points={overlay ? overlay.columns.length : undefined}
    >
      <figcaption title={spec.explain}>
        <span className="live-chart-title">{spec.title}</span>
        <span className="live-chart-latest" data-testid={`chart-${spec.id}-value`}>
          {hovered !== null ? `step ${xs[hovered]}${values ? `: ${values}` : ''}` : values}
        </span>
      </figcaption>
      <div ref={host} className="live-chart-plot" role="img" aria-label={`${spec.title} by training step. ${spec.explain}`} />
      {multi && (
        <ul className="live-chart-key">
          {spec.series.map((s, i) => (
            <li key={s.label} title={s.explain}>
              <span className="live-chart-swatch" style={{ background: `var(${s.colourVar})` }} />
              {s.label} <span className="live-chart-key-value">{formatMetric(shown[i], spec.range)}</span>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

export function ChartsPanel({ rt }: { rt: Runtime }) {
  void rt;
  const run = useStudio((s) => s.run);
  // Mutable buffers shared with the charts: grown in place, never replaced.
  const [columns] = useState<Columns>(() => ({
    steps: new SeriesColumns<StepMetrics>(STEP_METRICS.map((m) => m.key)),
    evals: new SeriesColumns<EvalMetrics>(EVAL_METRICS.map((m) => m.key)),
    spans: [],
  }));
  const [registry] = useState(() => new Map<string, uPlot>());
  const redraws = useRef(0);
  const [frame, setFrame] = useState(0);

  // Read run.history on every tick, at most once per animation frame.
  useEffect(() => {
    let pending = 0;
    const update = () => {
      pending = 0;
      const r = useStudio.getState().run;
      const c = columns;
      const before = c.steps.length;
      const stepsChanged = c.steps.sync(r?.history.steps);
      const evalsChanged = c.evals.sync(r?.history.evals);
      const changed = stepsChanged || evalsChanged;
      const stepsMoved = c.steps.length !== before || c.steps.length === 0;
      if (stepsMoved) c.spans = phaseSpans(r?.history.steps ?? []);
      if (changed || stepsMoved) {
        redraws.current++;
        setFrame((f) => f + 1);
      }
    };
    const schedule = () => {
      if (!pending) pending = requestAnimationFrame(update);
    };
    schedule();
    const unsubscribe = useStudio.subscribe((s, prev) => {
      if (s.tick !== prev.tick || s.run !== prev.run) schedule();
    });
    return () => {
      unsubscribe();
      if (pending) cancelAnimationFrame(pending);
    };
  }, [columns]);

  useEffect(() => {
    extendTestHook('charts', {
      /** Points each chart holds (what uPlot draws), and non-null values per series. */
      points: () =>
        Object.fromEntries(
          [...registry].map(([id, u]) => [
            id,
            {
              points: u.data[0].length,
              values: u.data
                .slice(1)
                .map((ys) => Array.from(ys as ArrayLike<number | null>).filter((v) => v !== null && v !== undefined).length),
            },
          ]),
        ),
      canvases: () => document.querySelectorAll('[data-testid="charts-panel"] canvas').length,
      redraws: () => redraws.current,
      phases: () => columns.spans,
    });
  }, [columns, registry]);

  const compareRun = useStudio((s) => s.compare);
  const compare = useMemo(() => {
    if (!compareRun) return null;
    const columns = new SeriesColumns<StepMetrics>(STEP_METRICS.map((m) => m.key));
    columns.sync(compareRun.steps);
    return { runId: compareRun.runId, columns };
  }, [compareRun]);
  const evalEvery = run?.settings.evalEvery ?? 0;
  return (
    <section className="panel panel-charts" aria-labelledby="charts-title" data-testid="charts-panel">
      <h2 id="charts-title">Charts</h2>
      <details className="charts-help">
        <summary>What the charts show</summary>
        <dl>
          {[...STEP_METRICS, ...EVAL_METRICS].map((m) => (
            <div key={m.key}>
              <dt>{m.label}</dt>
              <dd>{m.explain}</dd>
            </div>
          ))}
          {(['ict', 'mlm', 'realm'] as const).map((p) => (
            <div key={p}>
              <dt>{PHASE_LABEL[p]} (shaded)</dt>
              <dd>{PHASE_EXPLAIN[p]}</dd>
            </div>
          ))}
        </dl>
        <p className="muted">
          Hover a chart to read values at a step (all charts follow); drag across one to zoom, double-click to reset.
        </p>
      </details>
      {!run && <p className="muted">Start a run in the Training panel: the charts fill in as it trains.</p>}
      {run && (
        <p className="muted charts-note">
          x axis: training step · {plural(columns.steps.length, 'step')} so far
          {evalEvery > 0
            ? ` · held-out evaluation every ${plural(evalEvery, 'step')} (${columns.evals.length} so far)`
            : ' · held-out evaluation at the end'}
        </p>
      )}
      {compare && (
        <p className="charts-note" data-testid="charts-compare">
          <span className="charts-compare-swatch" aria-hidden="true" /> Dashed: run {compare.runId} (
          {plural(compare.columns.length, 'step')}
          ), for comparison.{' '}
          <button type="button" onClick={() => useStudio.getState().setCompare(null)}>
            Stop comparing
          </button>
        </p>
      )}
      <div className="charts-grid">
        {SPECS.map((spec) => (
          <LiveChart key={spec.id} spec={spec} columns={columns} frame={frame} registry={registry} compare={compare} />
        ))}
      </div>
    </section>
  );
}
