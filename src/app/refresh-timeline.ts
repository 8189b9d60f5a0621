// The refresh timeline's data, from the run's event log: the trainer lane (spans of steps per phase),
// the builder lane (one bar per index build, from the snapshot of θ′ to the swap that put the new
// index in use), and the staleness over time (steps since the snapshot behind the index in use).
// Pure: the RefreshTimeline component only draws what this returns.
import type { Phase } from '../model/metrics';
import type { BuildInFlight, RunEvent } from './studio-store';

/** Steps trained back to back in one phase: a bar in the trainer lane. */
interface TrainerSpan {
  phase: Phase;
  firstStep: number;
  lastStep: number;
  /** Time of the step before the first (or of the first step), and of the last step. */
  start: number;
  end: number;
}

type BuildState = 'building' | 'built' | 'swapped' | 'failed';

/** One index build: a bar in the builder lane. */
export interface BuilderBar {
  version: number;
  /** The trainer step whose weights θ′ the builder embeds the corpus with. */
  snapshotStep: number;
  /** Time of the snapshot, and of the swap (or of the failure, or now while building). */
  start: number;
  end: number;
  /** Trainer step when the new index was swapped in (state 'swapped'). */
  swapStep?: number;
  /** When the builder finished (before the swap that follows at the next step). */
  builtAt?: number;
  state: BuildState;
  /** Failure message (state 'failed'). */
  error?: string;
}

interface StalenessPoint {
  time: number;
  step: number;
  staleness: number;
  version: number;
}

export interface Timeline {
  /** Time of the first event and the end of the picture (the last event, or `now` while building). */
  t0: number;
  t1: number;
  spans: TrainerSpan[];
  bars: BuilderBar[];
  staleness: StalenessPoint[];
  /** Step events (time, step) for the ticks of the trainer lane. */
  stepTimes: number[];
  maxStaleness: number;
}

const PHASES: readonly string[] = ['ict', 'mlm', 'realm'];

/**
 * Builds the timeline from the run's events (in order) and the build in flight. `now` closes the bar
 * of a build still running.
 */
export function buildTimeline(events: readonly RunEvent[], build: BuildInFlight | null, now: number): Timeline {
  const spans: TrainerSpan[] = [];
  const bars: BuilderBar[] = [];
  const byVersion = new Map<number, BuilderBar>();
  const staleness: StalenessPoint[] = [];
  const stepTimes: number[] = [];
  const stepTime = new Map<number, number>();
  let prevStepTime: number | null = null;
  let broken = true; // the next step starts a new span (start of run, after a pause or a status change)
  let maxStaleness = 0;

  for (const e of events) {
    if (e.type === 'step') {
      const phase = (PHASES.includes(e.detail ?? '') ? e.detail : 'realm') as Phase;
      stepTimes.push(e.time);
      stepTime.set(e.step, e.time);
      const last = spans.at(-1);
      if (!broken && last && last.phase === phase && e.step === last.lastStep + 1) {
        last.lastStep = e.step;
        last.end = e.time;
      } else {
        spans.push({
          phase,
          firstStep: e.step,
          lastStep: e.step,
          start: !broken && prevStepTime !== null ? prevStepTime : e.time,
          end: e.time,
        });
      }
      broken = false;
      prevStepTime = e.time;
      if (phase === 'realm' && e.staleness !== undefined && e.version !== undefined) {
        staleness.push({ time: e.time, step: e.step, staleness: e.staleness, version: e.version });
        maxStaleness = Math.max(maxStaleness, e.staleness);
      }
    } else if (e.type === 'status') {
      if (e.detail !== 'running') broken = true;
    } else if (e.type === 'build-start' && e.version !== undefined) {
      const bar: BuilderBar = {
        version: e.version,
        snapshotStep: e.snapshotStep ?? e.step,
        start: e.time,
        end: e.time,
        state: 'building',
      };
      bars.push(bar);
      byVersion.set(e.version, bar);
    } else if (e.type === 'build-end' && e.version !== undefined) {
      const bar = byVersion.get(e.version);
      if (!bar) continue;
      bar.end = e.time;
      bar.builtAt = e.time;
      if (e.detail === 'ok') bar.state = 'built';
      else {
        bar.state = 'failed';
        bar.error = e.detail;
      }
    } else if (e.type === 'swap' && e.version !== undefined) {
      let bar = byVersion.get(e.version);
      if (!bar) {
        // A swap without a recorded build start (e.g. an index restored with the run): the bar starts
        // at the snapshot step's time when that step is in the log.
        const snapshotStep = e.step - (e.staleness ?? 0);
        bar = { version: e.version, snapshotStep, start: stepTime.get(snapshotStep) ?? e.time, end: e.time, state: 'swapped' };
        bars.push(bar);
        byVersion.set(e.version, bar);
      }
      bar.state = 'swapped';
      bar.swapStep = e.step;
      bar.end = e.time;
    }
  }

  let t1 = events.length > 0 ? events[events.length - 1].time : now;
  for (const bar of bars) {
    if (bar.state === 'building') {
      bar.end = Math.max(bar.start, now);
      t1 = Math.max(t1, bar.end);
    }
  }
  // The build in flight may not be in the events yet (the store sets it first): show it too.
  if (build && !byVersion.has(build.version)) {
    bars.push({
      version: build.version,
      snapshotStep: build.snapshotStep,
      start: build.start,
      end: Math.max(build.start, now),
      state: 'building',
    });
    t1 = Math.max(t1, now);
  }
  const t0 = events.length > 0 ? events[0].time : build ? build.start : now;
  return { t0, t1: Math.max(t1, t0 + 1), spans, bars, staleness, stepTimes, maxStaleness };
}

/**
 * Builds that overlapped training: for each bar, how many steps the trainer took between its snapshot
 * and its end. The point of the picture: with the asynchronous refresh this is above 0.
 */
export function stepsDuringBuilds(t: Timeline): number[] {
  return t.bars.map((b) => t.stepTimes.filter((s) => s > b.start && s < b.end).length);
}

/** Linear map from [t0, t1] onto [x0, x1]. */
export function timeScale(t0: number, t1: number, x0: number, x1: number): (t: number) => number {
  const span = Math.max(1, t1 - t0);
  return (t) => x0 + ((t - t0) / span) * (x1 - x0);
}

/** Seconds-since-start tick values for an axis of `seconds` length: about `target` round ticks. */
export function secondTicks(seconds: number, target = 6): number[] {
  if (!(seconds > 0)) return [0];
  const raw = seconds / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let s = 0; s <= seconds + 1e-9; s += step) ticks.push(Number(s.toFixed(6)));
  return ticks;
}
