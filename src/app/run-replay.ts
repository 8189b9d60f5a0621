// A stored run's event log, rebuilt from what its run log kept (steps, index builds, swaps,
// evaluations), so a resumed or reopened run shows its refresh timeline and index panel as they were.
// Pure: the Training and Runs panels hand the result to the studio store.
import type { EvalMetrics, RefreshRecord, StepMetrics } from '../model/metrics';
import type { RunEvent } from './studio-store';

/** A build the run log kept (the refresher's build-end event). */
export interface LoggedBuild {
  version: number;
  snapshotStep: number;
  /** Date.now() when the build ended, and the trainer step then. */
  time: number;
  step: number;
  ok: boolean;
  error?: string;
  durationMs?: number;
}

export interface ReplayHistory {
  steps: readonly StepMetrics[];
  refreshes: readonly RefreshRecord[];
  builds: readonly LoggedBuild[];
  evals: readonly EvalMetrics[];
}

/**
 * The events of a stored run up to its last step, in time order: one per step, a build start and end
 * per index build, a swap per refresh, one per evaluation, and a closing 'paused' status so the next
 * step starts a new span in the trainer lane.
 */
export function eventsFromHistory(h: ReplayHistory): RunEvent[] {
  const lastStep = h.steps.at(-1)?.step ?? 0;
  const events: RunEvent[] = [];
  for (const m of h.steps)
    events.push({
      type: 'step',
      step: m.step,
      time: m.time,
      version: m.indexVersion,
      staleness: m.staleness,
      detail: m.phase,
    });
  const started = new Set<number>();
  for (const r of h.refreshes) {
    if (r.swapStep > lastStep) continue;
    started.add(r.version);
    events.push({ type: 'build-start', step: r.snapshotStep, time: r.start, version: r.version, snapshotStep: r.snapshotStep });
    events.push({ type: 'swap', step: r.swapStep, time: r.end, version: r.version, staleness: r.swapStep - r.snapshotStep });
  }
  for (const b of h.builds) {
    if (b.snapshotStep > lastStep) continue;
    if (!started.has(b.version)) {
      started.add(b.version);
      const start = b.time - Math.max(0, b.durationMs ?? 0);
      events.push({ type: 'build-start', step: b.snapshotStep, time: start, version: b.version, snapshotStep: b.snapshotStep });
    }
    events.push({
      type: 'build-end',
      step: Math.min(b.step, lastStep),
      time: b.time,
      version: b.version,
      snapshotStep: b.snapshotStep,
      detail: b.ok ? 'ok' : (b.error ?? 'failed'),
    });
  }
  for (const e of h.evals) if (e.step <= lastStep) events.push({ type: 'eval', step: e.step, time: e.time });
  // Stable by time; at equal times a build starts before it ends and ends before its swap.
  const order: Record<string, number> = { 'build-start': 0, step: 1, 'build-end': 2, swap: 3, eval: 4 };
  events.sort((a, b) => a.time - b.time || order[a.type] - order[b.type]);
  if (events.length > 0) {
    const time = Math.max(...events.map((e) => e.time));
    events.push({ type: 'status', step: lastStep, time, detail: 'paused' });
  }
  return events;
}
