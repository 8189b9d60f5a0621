// The studio's shared state: the pre-training run in the page and what it has reported, so every panel
// (training, index, charts, inspector, embedding map, runs) reads one source. The Training panel owns
// the run and writes here; the other panels subscribe with `useStudio(selector)`.
import { create } from 'zustand';
import type { StepMetrics } from '../model/metrics';
import type { Progress } from '../model/progress';
import type { PinnedQuery } from './pin-log';
import type { PretrainingRun, RunStatus } from './pretraining-run';

/** One entry of the event log the e2e tests and the refresh timeline read. */
export interface RunEvent {
  type: 'step' | 'build-start' | 'build-end' | 'swap' | 'checkpoint' | 'status' | 'error' | 'eval' | 'notice';
  /** Trainer step (steps taken so far) when the event happened. */
  step: number;
  time: number;
  version?: number;
  /** build-start: the step whose weights θ′ were snapshotted. */
  snapshotStep?: number;
  staleness?: number;
  detail?: string;
}

/** The index build under way: from the snapshot of θ′ until its swap (or failure). */
export interface BuildInFlight {
  version: number;
  snapshotStep: number;
  /** Date.now() when the snapshot was sent. */
  start: number;
  progress: Progress | null;
}

/** A stored run whose step metrics the charts overlay on the page's run. */
export interface CompareRun {
  runId: string;
  steps: StepMetrics[];
}

interface StudioState {
  /** The run in the page (new, resumed, or imported and opened), or null. */
  run: PretrainingRun | null;
  status: RunStatus;
  /** Bumped on every event of the run: subscribe to it to redraw from `run.history`. */
  tick: number;
  /** The run's events in order (steps, builds, swaps, checkpoints, evaluations, errors). */
  events: RunEvent[];
  build: BuildInFlight | null;
  pinned: PinnedQuery | null;
  setPinned(p: PinnedQuery | null): void;
  compare: CompareRun | null;
  setCompare(c: CompareRun | null): void;
  /**
   * Opens a stored run in the page from its last checkpoint (the Training panel registers it); with
   * `train` it carries on training. Resolves to the step it was restored at.
   */
  openStored: ((runId: string, train: boolean) => Promise<number>) | null;
  setOpenStored(f: ((runId: string, train: boolean) => Promise<number>) | null): void;
  /** Puts `run` in the page; `events` are its past events when it was restored from storage. */
  setRun(run: PretrainingRun | null, events?: RunEvent[]): void;
  record(e: Omit<RunEvent, 'time'>): void;
  setBuild(b: BuildInFlight | null): void;
  setBuildProgress(p: Progress): void;
  /**
   * A long job other than the Training run that holds the GPU and the index builder (the ablation
   * table, Open-QA fine-tuning), named for the message, or null. Start, Resume and the other such jobs
   * wait until it ends.
   */
  pageJob: string | null;
  setPageJob(job: string | null): void;
  /** Bumped when a stored ablation table changes or is deleted: the panels that list tables re-read. */
  tablesVersion: number;
  tablesChanged(): void;
}

export const useStudio = create<StudioState>((set) => ({
  run: null,
  status: 'idle',
  tick: 0,
  events: [],
  build: null,
  pinned: null,
  setPinned: (pinned) => set({ pinned }),
  compare: null,
  setCompare: (compare) => set({ compare }),
  openStored: null,
  setOpenStored: (openStored) => set({ openStored }),
  setRun: (run, events = []) => set((s) => ({ run, status: run?.status ?? 'idle', events, build: null, tick: s.tick + 1 })),
  record: (e) =>
    set((s) => {
      s.events.push({ ...e, time: Date.now() });
      return { tick: s.tick + 1, status: s.run?.status ?? s.status };
    }),
  setBuild: (build) => set((s) => ({ build, tick: s.tick + 1 })),
  setBuildProgress: (progress) => set((s) => (s.build ? { build: { ...s.build, progress } } : {})),
  pageJob: null,
  setPageJob: (pageJob) => set({ pageJob }),
  tablesVersion: 0,
  tablesChanged: () => set((s) => ({ tablesVersion: s.tablesVersion + 1 })),
}));
