// A small uPlot line of a stored run's training loss by step, one colour per phase (ICT, MLM, REALM:
// their losses are different quantities), with the phase key under it. The line colours are read from
// the key's CSS colours at every draw, so a theme switch only needs a redraw.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { sparklineData, type LossPoint } from '../app/runs-view';
import { onThemeChange } from './theme-colors';

const PHASE_TITLES: Record<string, string> = {
  ict: 'Inverse Cloze Task warm start of the retriever (its loss ranks the true passage among the batch)',
  mlm: 'Masked-LM warm-up of the reader, without retrieval: -log p(y|x)',
  realm: 'REALM pre-training with retrieval: -log p(y|x), marginalised over the k documents',
};

export function RunSparkline({ points, width = 180, height = 44 }: { points: LossPoint[]; width?: number; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const keys = useRef<(HTMLSpanElement | null)[]>([]);
  const { phases, data } = sparklineData(points);
  const signature = phases.join('|');

  useEffect(() => {
    const el = host.current;
    if (!el || points.length === 0) return;
    const colour = (i: number) => {
      const key = keys.current[i];
      return key ? getComputedStyle(key).color : '#888';
    };
    const u = new uPlot(
      {
        width,
        height,
        padding: [4, 2, 4, 2],
        legend: { show: false },
        cursor: { show: false },
        select: { show: false, left: 0, top: 0, width: 0, height: 0 },
        scales: { x: { time: false } },
        axes: [{ show: false }, { show: false }],
        series: [{}, ...phases.map((_, i) => ({ stroke: () => colour(i), width: 1.5, spanGaps: false, points: { size: 4 } }))],
      },
      data as uPlot.AlignedData,
      el,
    );
    const stop = onThemeChange(() => u.redraw(false));
    return () => {
      stop();
      u.destroy();
    };
    // `data` follows from `points`; the plot is rebuilt when the points or the phases change.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [points, signature, width, height]);

  if (points.length === 0) return <span className="muted runs-spark-empty">no steps logged</span>;
  const first = points[0];
  const last = points[points.length - 1];
  return (
    <div className="runs-spark">
      <div
        ref={host}
        className="runs-spark-plot"
        role="img"
        data-testid="run-sparkline"
        data-points={points.length}
        aria-label={`Training loss from ${first.loss.toFixed(3)} at step ${first.step} to ${last.loss.toFixed(3)} at step ${last.step}`}
        title={`Training loss by step: ${first.loss.toFixed(3)} at step ${first.step} → ${last.loss.toFixed(3)} at step ${last.step}`}
      />
      <span className="runs-spark-key">
        {phases.map((p, i) => (
          <span
            key={p}
            className={`runs-phase runs-phase-${p}`}
            title={PHASE_TITLES[p] ?? p}
            ref={(node) => {
              keys.current[i] = node;
            }}
          >
            {p.toUpperCase()}
          </span>
        ))}
      </span>
    </div>
  );
}
