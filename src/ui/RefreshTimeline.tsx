// The refresh timeline: wall time left to right; a lane of the trainer's steps (shaded by phase), a
// lane of the index builder's jobs (each bar from the snapshot of θ′ to the swap that puts the new
// index in use, labelled with its version), and the staleness of the index in use below. With the
// asynchronous refresh the builder bars overlap the trainer's steps: both run at once. SVG, so the
// theme's CSS colours apply directly and every mark can carry a tooltip.
import { useEffect, useRef, useState } from 'react';
import { PHASE_EXPLAIN, PHASE_LABEL } from '../app/chart-series';
import { plural } from '../app/progress-view';
import { secondTicks, timeScale, type BuilderBar, type Timeline } from '../app/refresh-timeline';

const GUTTER = 78; // lane labels
const RIGHT = 10;
const TRAINER_Y = 16;
const BUILDER_Y = 46;
const LANE_H = 22;
const STALE_Y = 84;
const STALE_H = 56;
const AXIS_Y = STALE_Y + STALE_H + 4;
const HEIGHT = AXIS_Y + 22;

const PHASE_FILL: Record<string, string> = { ict: 'var(--series-4)', mlm: 'var(--series-2)', realm: 'var(--series-3)' };

function barTitle(b: BuilderBar): string {
  const secs = ((b.end - b.start) / 1000).toFixed(1);
  const head = `Index v${b.version}: the builder embeds the corpus with a snapshot θ′ of the weights from step ${b.snapshotStep}`;
  switch (b.state) {
    case 'swapped':
      return `${head}; swapped in at step ${b.swapStep} (${plural((b.swapStep ?? b.snapshotStep) - b.snapshotStep, 'step')} stale on arrival), ${secs} s from snapshot to swap.`;
    case 'built':
      return `${head}; built in ${secs} s, swapped in at the next step.`;
    case 'failed':
      return `${head}; failed after ${secs} s: ${b.error ?? 'unknown error'}. The trainer kept the previous index.`;
    default:
      return `${head}; building for ${secs} s while the trainer keeps training on the previous index.`;
  }
}

export function RefreshTimeline({ timeline }: { timeline: Timeline }) {
  const host = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(280, Math.round(el.clientWidth)));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const t = timeline;
  const x = timeScale(t.t0, t.t1, GUTTER, width - RIGHT);
  const seconds = (t.t1 - t.t0) / 1000;
  const ticks = secondTicks(seconds, Math.max(3, Math.floor((width - GUTTER) / 80)));
  const maxStale = Math.max(1, t.maxStaleness);
  const staleY = (s: number) => STALE_Y + STALE_H - (s / maxStale) * STALE_H;
  // Staleness as a step function: it holds until the next step changes it.
  let stalePath = '';
  t.staleness.forEach((p, i) => {
    const px = x(p.time).toFixed(1);
    const py = staleY(p.staleness).toFixed(1);
    stalePath += i === 0 ? `M${px},${py}` : `H${px}V${py}`;
  });
  // One tick per step, when they are not too dense to tell apart.
  const showTicks = t.stepTimes.length > 0 && t.stepTimes.length < (width - GUTTER) / 3;
  const tickPath = showTicks ? t.stepTimes.map((s) => `M${x(s).toFixed(1)},${TRAINER_Y + 3}v${LANE_H - 6}`).join('') : '';
  const swaps = t.bars.filter((b) => b.state === 'swapped');

  return (
    <div ref={host} className="refresh-timeline" data-testid="refresh-timeline">
      <svg
        width={width}
        height={HEIGHT}
        role="img"
        aria-label={`Refresh timeline: ${t.spans.length} trainer spans, ${t.bars.length} index builds, over ${seconds.toFixed(0)} seconds`}
      >
        <g className="tl-lanes">
          <text x={4} y={TRAINER_Y + 15} className="tl-label">
            <title>Each tick is one training step; the colour is the phase (ICT, MLM, REALM).</title>
            Trainer
          </text>
          <text x={4} y={BUILDER_Y + 15} className="tl-label">
            <title>
              Each bar is one index build, from the snapshot of the weights θ′ to the swap that puts the new index in use.
            </title>
            Builder
          </text>
          <text x={4} y={STALE_Y + 10} className="tl-label">
            <title>Staleness: steps since the snapshot of the weights that built the index in use.</title>
            Staleness
          </text>
          <text x={4} y={STALE_Y + 24} className="tl-sub">
            (steps)
          </text>
          <rect x={GUTTER} y={TRAINER_Y} width={width - GUTTER - RIGHT} height={LANE_H} className="tl-lane" />
          <rect x={GUTTER} y={BUILDER_Y} width={width - GUTTER - RIGHT} height={LANE_H} className="tl-lane" />
        </g>
        <g className="tl-trainer">
          {t.spans.map((s, i) => (
            <rect
              key={i}
              x={x(s.start)}
              y={TRAINER_Y}
              width={Math.max(2, x(s.end) - x(s.start))}
              height={LANE_H}
              fill={PHASE_FILL[s.phase]}
              className="tl-span"
              data-testid="timeline-span"
            >
              <title>{`${PHASE_LABEL[s.phase]}: steps ${s.firstStep}–${s.lastStep}. ${PHASE_EXPLAIN[s.phase]}`}</title>
            </rect>
          ))}
          {tickPath && <path d={tickPath} className="tl-ticks" />}
          {t.spans.map((s, i) => {
            const w = x(s.end) - x(s.start);
            const prev = t.spans[i - 1];
            return w > 34 && (!prev || prev.phase !== s.phase) ? (
              <text key={i} x={x(s.start) + 4} y={TRAINER_Y + 15} className="tl-span-label">
                {PHASE_LABEL[s.phase]}
              </text>
            ) : null;
          })}
        </g>
        <g className="tl-builder">
          {t.bars.map((b) => {
            const bx = x(b.start);
            const bw = Math.max(3, x(b.end) - bx);
            return (
              <g key={b.version} data-testid="timeline-build" data-version={b.version} data-state={b.state}>
                <rect x={bx} y={BUILDER_Y + 1} width={bw} height={LANE_H - 2} rx={3} className={`tl-build tl-build-${b.state}`}>
                  <title>{barTitle(b)}</title>
                </rect>
                {bw > 22 && (
                  <text x={bx + 4} y={BUILDER_Y + 15} className="tl-build-label">
                    v{b.version}
                  </text>
                )}
              </g>
            );
          })}
        </g>
        <g className="tl-swaps">
          {swaps.map((b) => (
            <line key={b.version} x1={x(b.end)} x2={x(b.end)} y1={TRAINER_Y - 4} y2={STALE_Y + STALE_H} className="tl-swap">
              <title>{`Swap: index v${b.version} in use from step ${(b.swapStep ?? 0) + 1}`}</title>
            </line>
          ))}
        </g>
        <g className="tl-staleness">
          <line x1={GUTTER} x2={width - RIGHT} y1={STALE_Y + STALE_H} y2={STALE_Y + STALE_H} className="tl-axis" />
          <text x={GUTTER - 4} y={STALE_Y + 8} className="tl-tick" textAnchor="end">
            {maxStale}
          </text>
          <text x={GUTTER - 4} y={STALE_Y + STALE_H} className="tl-tick" textAnchor="end">
            0
          </text>
          {stalePath && <path d={stalePath} className="tl-stale-line" data-testid="timeline-staleness" />}
        </g>
        <g className="tl-time">
          {ticks.map((s) => {
            const tx = x(t.t0 + s * 1000);
            return (
              <g key={s}>
                <line x1={tx} x2={tx} y1={AXIS_Y - 4} y2={AXIS_Y} className="tl-axis" />
                <text x={tx} y={AXIS_Y + 12} className="tl-tick" textAnchor="middle">
                  {s}s
                </text>
              </g>
            );
          })}
        </g>
      </svg>
      <p className="tl-key muted">
        <span className="tl-key-item">
          <span className="tl-swatch tl-build-swapped" /> build, snapshot → swap
        </span>
        <span className="tl-key-item">
          <span className="tl-swatch tl-build-building" /> building now
        </span>
        <span className="tl-key-item" title="Built; the trainer swaps it in at its next step">
          <span className="tl-swatch tl-build-built" /> built, swap at next step
        </span>
        <span className="tl-key-item">
          <span className="tl-swatch tl-build-failed" /> failed
        </span>
        <span className="tl-key-item">
          <span className="tl-swatch tl-swap-key" /> swap
        </span>
      </p>
    </div>
  );
}
