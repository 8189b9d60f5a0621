// A small uPlot chart of p(z|x) by step for the pinned sentence's candidates: the null document
// (dashed) and each passage it retrieved; a gap where a passage was not among the top k-1.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { resolveCssColour as resolveColour, useThemeVersion } from '../theme-colors';
import { seriesKeys } from '../../app/pin-history';
import { NULL_KEY, type PinPoint } from '../../app/pin-log';

const COLOURS = ['--series-1', '--series-2', '--series-3', '--series-4'];

export function PinnedChart({ points, labels }: { points: PinPoint[]; labels: Record<string, string> }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<{ u: uPlot; keys: string } | null>(null);
  // The colours are resolved when the chart is made: a theme change makes it again.
  const theme = useThemeVersion();

  useEffect(() => {
    const el = host.current;
    if (!el || points.length === 0) return;
    const keys = seriesKeys(points);
    const data: uPlot.AlignedData = [
      points.map((p) => p.step),
      ...keys.map((k) => points.map((p) => (k in p.pz ? p.pz[k] : null))),
    ];
    const signature = `${theme}|` + keys.map((k) => `${k}:${labels[k] ?? ''}`).join('|');
    if (plot.current && plot.current.keys === signature) {
      plot.current.u.setData(data);
      return;
    }
    plot.current?.u.destroy();
    const fg = resolveColour(el, '--fg');
    const muted = resolveColour(el, '--muted');
    const grid = resolveColour(el, '--border');
    const series: uPlot.Series[] = [
      { label: 'step' },
      ...keys.map((k, i) => {
        const isNull = k === NULL_KEY;
        const colour = isNull ? muted : resolveColour(el, COLOURS[(i - 1) % COLOURS.length]);
        return {
          label: isNull ? 'null document' : (labels[k] ?? `row ${k}`),
          stroke: colour,
          width: 2,
          dash: isNull ? [6, 4] : i > COLOURS.length ? [2, 3] : undefined,
          points: { show: true, size: 5, fill: colour },
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : v.toFixed(3)),
        } satisfies uPlot.Series;
      }),
    ];
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const u = new uPlot(
      {
        width: Math.max(280, el.clientWidth || 480),
        height: 170,
        scales: { x: { time: false }, y: { range: [0, 1] } },
        axes: [
          // Steps are whole numbers: tick only at whole steps.
          { ...axis, label: 'step', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000] },
          { ...axis, label: 'p(z|x)', size: 50 },
        ],
        series,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      data,
      el,
    );
    plot.current = { u, keys: signature };
  }, [points, labels, theme]);

  // Follow the panel's width; destroy the chart with the component.
  useEffect(() => {
    const el = host.current;
    const ro =
      el && typeof ResizeObserver !== 'undefined'
        ? new ResizeObserver(() => {
            const w = Math.max(280, el.clientWidth);
            if (plot.current && Math.abs(plot.current.u.width - w) > 1) plot.current.u.setSize({ width: w, height: 170 });
          })
        : null;
    if (el) ro?.observe(el);
    return () => {
      ro?.disconnect();
      plot.current?.u.destroy();
      plot.current = null;
    };
  }, []);

  return (
    <div
      ref={host}
      className="pinned-chart"
      data-testid="pinned-chart"
      data-points={points.length}
      role="img"
      aria-label={`p(z|x) of the pinned sentence's passages over ${points.length} inspections, steps ${points[0]?.step ?? '–'} to ${points.at(-1)?.step ?? '–'}`}
    />
  );
}
