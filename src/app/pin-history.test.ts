import { afterEach, describe, expect, it } from 'vitest';
import type { CandidateInspection, QueryInspection } from '../model/inspection';
import type { ChunkRecord } from '../storage/db';
import type { PretrainingRun } from './pretraining-run';
import { useStudio } from './studio-store';
import { pinLabels, pinPoint, seriesKeys, topRowsOf, usePinHistory, watchSwaps } from './pin-history';
import { NULL_KEY, pinLogEntry, restorePin, type PinLogEntry, type PinPoint } from './pin-log';

function cand(z: number, row: number | null, pz: number): CandidateInspection {
  return {
    z,
    row,
    docId: row === null ? null : `d${row}`,
    score: 0,
    pz,
    pTarget: [],
    utility: null,
    staleRank: z || null,
    currentRank: z || null,
    agrees: z ? true : null,
  };
}
const inspection = (version: number, cands: CandidateInspection[]) =>
  ({ k: cands.length, indexVersion: version, candidates: cands }) as unknown as QueryInspection;
const chunk = (id: string, title: string) => ({ id, title, text: '', corpusId: 'c', seq: 0 }) as ChunkRecord;

afterEach(() => {
  usePinHistory.getState().reset(null, null);
  useStudio.getState().setRun(null);
});

describe('pin points', () => {
  it('keys p(z|x) by passage row (null document as "null"), labels by title, and orders rows by p(z|x)', () => {
    const r = {
      step: 7,
      inspection: inspection(2, [cand(0, null, 0.1), cand(1, 12, 0.3), cand(2, 5, 0.6)]),
      passages: [null, chunk('d12', 'Paris'), chunk('d5', 'A very long title that goes on and on')],
    };
    expect(pinPoint(r)).toEqual({ step: 7, version: 2, pz: { null: 0.1, '12': 0.3, '5': 0.6 } });
    expect(pinLabels(r, 12)).toEqual({ null: 'null document', '12': 'Paris', '5': 'A very long…' });
    expect(topRowsOf(r)).toEqual([5, 12]);
  });

  it('keeps one point per (step, version), replacing a repeat, and merges labels', () => {
    const h = usePinHistory.getState();
    h.reset('heldout:0', 'run-a');
    h.add({ step: 5, version: 1, pz: { null: 1 } }, { '3': 'a' });
    h.add({ step: 5, version: 1, pz: { null: 0.5, '3': 0.5 } }, { '4': 'b' });
    h.add({ step: 8, version: 2, pz: { null: 0.2 } }, {});
    const s = usePinHistory.getState();
    expect(s.points.map((p) => [p.step, p.pz.null])).toEqual([
      [5, 0.5],
      [8, 0.2],
    ]);
    expect(s.labels).toEqual({ '3': 'a', '4': 'b' });
    expect([s.pinId, s.runId]).toEqual(['heldout:0', 'run-a']);
  });

  it('draws the null document first, then the rows seen latest with the highest p(z|x), at most max', () => {
    const pts: PinPoint[] = [
      { step: 1, version: 1, pz: { null: 0.1, a: 0.8, b: 0.1 } },
      { step: 2, version: 2, pz: { null: 0.2, b: 0.3, c: 0.5 } },
    ];
    expect(seriesKeys(pts)).toEqual([NULL_KEY, 'c', 'b', 'a']);
    expect(seriesKeys(pts, 3)).toEqual([NULL_KEY, 'c', 'b']);
  });
});

describe('watchSwaps', () => {
  it('reports each swap recorded after it starts, once, and starts over when a new run is opened', () => {
    const store = useStudio.getState();
    store.record({ type: 'swap', step: 1, version: 1 });
    const seen: number[] = [];
    const stop = watchSwaps((e) => seen.push(e.version!));
    store.record({ type: 'step', step: 2 });
    store.record({ type: 'swap', step: 3, version: 2 });
    store.record({ type: 'checkpoint', step: 3 });
    store.setBuild(null);
    expect(seen).toEqual([2]);
    useStudio.getState().setRun({ status: 'running' } as PretrainingRun);
    useStudio.getState().record({ type: 'swap', step: 1, version: 1 });
    expect(seen).toEqual([2, 1]);
    stop();
    useStudio.getState().record({ type: 'swap', step: 5, version: 3 });
    expect(seen).toEqual([2, 1]);
  });
});

describe('the pin in the run log', () => {
  const query = {
    inputIds: Int32Array.from([2, 7, 4, 3]),
    maskPositions: Int32Array.from([2]),
    targets: Int32Array.from([9]),
    sourceDocId: 'd1',
  };
  const pinned = (id: string) => ({ id, text: `sentence ${id}`, query, topRows: [4, 1] });
  const point = (pinId: string, step: number, topRows: number[]): PinLogEntry => ({
    kind: 'pin-point',
    record: {
      pinId,
      point: { step, version: step, pz: { null: 0.5, [String(topRows[0])]: 0.5 } },
      labels: { [String(topRows[0])]: `t${topRows[0]}` },
      topRows,
    },
  });

  it('stores the query as plain arrays, so the record survives JSON (a run export)', () => {
    const e = pinLogEntry(pinned('heldout:0'));
    const back = JSON.parse(JSON.stringify(e)) as PinLogEntry;
    expect(back).toEqual({
      kind: 'pin',
      record: {
        pinned: {
          id: 'heldout:0',
          text: 'sentence heldout:0',
          topRows: [4, 1],
          query: { inputIds: [2, 7, 4, 3], maskPositions: [2], targets: [9], sourceDocId: 'd1' },
        },
      },
    });
    expect(pinLogEntry(null)).toEqual({ kind: 'pin', record: { pinned: null } });
  });

  it('restores the last pin with its own points, and its latest retrieved rows', () => {
    const a = pinLogEntry(pinned('heldout:0'));
    const b = pinLogEntry(pinned('training:5'));
    const log = [
      a,
      point('heldout:0', 4, [1]),
      b,
      point('heldout:0', 6, [2]),
      point('training:5', 6, [3]),
      point('training:5', 8, [7]),
    ];
    const r = restorePin(log)!;
    expect(r.pinned.id).toBe('training:5');
    expect(r.points.map((p) => p.point.step)).toEqual([6, 8]); // heldout:0's point at 6 is another pin's
    expect(r.pinned.topRows).toEqual([7]);
    expect(r.pinned.query.inputIds).toEqual([2, 7, 4, 3]);
  });

  it('restores nothing after an unpin, or from a log without pins; a pin without points keeps its own rows', () => {
    expect(restorePin([pinLogEntry(pinned('heldout:0')), point('heldout:0', 2, [1]), pinLogEntry(null)])).toBeNull();
    expect(restorePin([])).toBeNull();
    expect(restorePin([pinLogEntry(pinned('heldout:0'))])).toEqual({
      pinned: { ...pinned('heldout:0'), query: { ...query, inputIds: [2, 7, 4, 3], maskPositions: [2], targets: [9] } },
      points: [],
    });
  });
});
