// The pinned sentence as data: its query, the points of its retrieval chart, and the records that keep
// both in the run log so that a resumed run gets its pin back. Plain types and functions: the run
// (pretraining-run.ts) writes these records, the pin history (pin-history.ts) and the studio store read them.
import type { RealmQuery } from '../corpus/data';

/** A masked sentence the user pinned in the inspector, watched across refreshes (and on the map). */
export interface PinnedQuery {
  /** Stable key of the sentence (its source and position). */
  id: string;
  /** The sentence as shown, with [MASK] in place of the span. */
  text: string;
  query: RealmQuery;
  /** Index rows (chunk seq) of its retrieved passages at the latest inspection, best first. */
  topRows: number[];
}

/** Key of a candidate in a point: 'null' for the null document, else its index row. */
export type CandidateKey = string;
export const NULL_KEY: CandidateKey = 'null';

export interface PinPoint {
  step: number;
  /** Index version that chose the candidates. */
  version: number;
  pz: Record<CandidateKey, number>;
}

/**
 * The pin in the run log, so it survives a reload: a 'pin' record when a sentence is pinned (or
 * `pinned: null` when unpinned), a 'pin-point' record for every point of its chart. The run writes
 * them with its metrics at each checkpoint (at once while paused).
 */
interface PinLogRecord {
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
