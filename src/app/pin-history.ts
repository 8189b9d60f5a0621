// The pinned sentence's retrieval over time: one point per re-inspection (at every index swap and
// every few steps), holding p(z|x) of each candidate by passage row, so the chart can follow a
// passage as it enters and leaves the top k-1.
import { create } from 'zustand';
import { useStudio, type PinnedQuery, type RunEvent } from './studio-store';
import type { InspectorResult } from './inspector-source';

/** Key of a candidate in a point: 'null' for the null document, else its index row. */
export type CandidateKey = string;
export const NULL_KEY: CandidateKey = 'null';

export interface PinPoint {
  step: number;
  /** Index version that chose the candidates. */
  version: number;
  pz: Record<CandidateKey, number>;
}

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

/**
 * The pin in the run log, so it survives a reload: a 'pin' record when a sentence is pinned (or
 * `pinned: null` when unpinned), a 'pin-point' record for every point of its chart. The run writes
 * them with its metrics at each checkpoint (at once while paused).
 */
export interface PinLogRecord {
  pinned: PinnedQuery | null;
}
export interface PinPointLogRecord {
  pinId: string;
  point: PinPoint;
  labels: Record<CandidateKey, string>;
  /** The pinned query's retrieved rows at this point, best first. */
  topRows: number[];
}
export type PinLogEntry = { kind: 'pin'; record: PinLogRecord } | { kind: 'pin-point'; record: PinPointLogRecord };

/** The 'pin' record of a pin (or of an unpin): the query's ids as plain arrays, so the record survives a JSON export. */
export function pinLogEntry(pinned: PinnedQuery | null): PinLogEntry {
  if (!pinned) return { kind: 'pin', record: { pinned: null } };
  const q = pinned.query;
  const query = {
    ...q,
    inputIds: Array.from(q.inputIds),
    maskPositions: Array.from(q.maskPositions),
    targets: Array.from(q.targets),
  };
  return { kind: 'pin', record: { pinned: { ...pinned, query } } };
}

/** The pin a resumed run had: the last pin of its log (none if unpinned after it) and that pin's points. */
export function restorePin(log: readonly PinLogEntry[]): { pinned: PinnedQuery; points: PinPointLogRecord[] } | null {
  let out: { pinned: PinnedQuery; points: PinPointLogRecord[] } | null = null;
  for (const e of log) {
    if (e.kind === 'pin') out = e.record.pinned ? { pinned: e.record.pinned, points: [] } : null;
    else if (out && e.record.pinId === out.pinned.id) out.points.push(e.record);
  }
  const last = out?.points.at(-1);
  return out && last ? { pinned: { ...out.pinned, topRows: last.topRows }, points: out.points } : out;
}
