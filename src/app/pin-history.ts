// The pinned sentence's retrieval over time: one point per re-inspection (at every index swap and
// every few steps), holding p(z|x) of each candidate by passage row, so the chart can follow a
// passage as it enters and leaves the top k-1.
import { create } from 'zustand';
import { useStudio, type RunEvent } from './studio-store';
import type { InspectorResult } from './inspector-source';
import { NULL_KEY, type CandidateKey, type PinPoint } from './pin-log';

interface PinHistory {
  /** Which pinned sentence (and run) the points belong to. */
  pinId: string | null;
  runId: string | null;
  points: PinPoint[];
  /** Passage titles by key, for the legend. */
  labels: Record<CandidateKey, string>;
  reset(pinId: string | null, runId: string | null): void;
  add(point: PinPoint, labels: Record<CandidateKey, string>): void;
}

export const usePinHistory = create<PinHistory>((set) => ({
  pinId: null,
  runId: null,
  points: [],
  labels: {},
  reset: (pinId, runId) => set({ pinId, runId, points: [], labels: {} }),
  add: (point, labels) =>
    set((s) => {
      // One point per (step, version): a second inspection at the same point replaces the first.
      const last = s.points.at(-1);
      const same = last && last.step === point.step && last.version === point.version;
      return { points: same ? [...s.points.slice(0, -1), point] : [...s.points, point], labels: { ...s.labels, ...labels } };
    }),
}));

/** The keys to draw: the null document, then rows by their latest p(z|x), at most `max` in all. */
export function seriesKeys(points: readonly PinPoint[], max = 8): CandidateKey[] {
  const latest = new Map<CandidateKey, number>();
  points.forEach((p, i) => Object.keys(p.pz).forEach((k) => latest.set(k, i * 10 + p.pz[k])));
  const rows = [...latest.keys()].filter((k) => k !== NULL_KEY).sort((a, b) => latest.get(b)! - latest.get(a)!);
  return [NULL_KEY, ...rows].slice(0, max);
}

/** The point an inspection of the pinned sentence adds: p(z|x) of each candidate by its key. */
export function pinPoint(r: Pick<InspectorResult, 'step' | 'inspection'>): PinPoint {
  const pz: Record<CandidateKey, number> = {};
  for (const c of r.inspection.candidates) pz[c.row === null ? NULL_KEY : String(c.row)] = c.pz;
  return { step: r.step, version: r.inspection.indexVersion, pz };
}

/** Legend labels of an inspection's candidates: the passage title (or id), cut to `max` characters. */
export function pinLabels(r: Pick<InspectorResult, 'inspection' | 'passages'>, max = 28): Record<CandidateKey, string> {
  const out: Record<CandidateKey, string> = { [NULL_KEY]: 'null document' };
  r.inspection.candidates.forEach((c, i) => {
    if (c.row === null) return;
    const name = r.passages[i]?.title || c.docId || `row ${c.row}`;
    out[String(c.row)] = name.length > max ? `${name.slice(0, max - 1)}…` : name;
  });
  return out;
}

/** Rows of the retrieved passages, best p(z|x) first (the pinned query's `topRows`). */
export function topRowsOf(r: Pick<InspectorResult, 'inspection'>): number[] {
  return r.inspection.candidates
    .filter((c) => c.row !== null)
    .sort((a, b) => b.pz - a.pz)
    .map((c) => c.row!);
}

/**
 * Calls `onSwap` for every index swap the studio store records from now on (the store's event log
 * only grows, and starts over when a new run is opened). Returns the unsubscribe function.
 */
export function watchSwaps(onSwap: (e: RunEvent) => void): () => void {
  let events = useStudio.getState().events;
  let seen = events.length;
  return useStudio.subscribe((s) => {
    if (s.events !== events) {
      events = s.events;
      seen = 0;
    }
    for (; seen < events.length; seen++) if (events[seen].type === 'swap') onSwap(events[seen]);
  });
}
