// The k candidates of one inspection, one row each: the null document and the passages the stale
// index returned, with p(z|x) as a bar, p(y_j|z,x) per mask, the retrieval utility and the stale vs
// current rank. A passage's title opens it in full. The sentence's own passage (the gold one, which a
// held-out sentence was cut from) is marked when it is among them.
import type { CandidateInspection } from '../../model/inspection';
import type { ChunkRecord } from '../../storage/db';
import { EXPLAIN } from './explain';
import { formatProb, formatSigned } from './format';
import type { Ranges } from './highlight';
import { MarkedText } from './PassageView';

export interface CandidateRow {
  candidate: CandidateInspection;
  passage: ChunkRecord | null;
  titleRanges: Ranges;
  textRanges: Ranges;
}

function RankCell({ c }: { c: CandidateInspection }) {
  if (c.staleRank === null) return <td className="num muted">–</td>;
  return (
    <td className={c.agrees ? 'num rank-agrees' : 'num rank-differs'} title={EXPLAIN.rank}>
      {c.staleRank} / {c.currentRank} <span aria-hidden="true">{c.agrees ? '✓' : '≠'}</span>
      <span className="visually-hidden">{c.agrees ? 'ranks agree' : 'ranks differ'}</span>
    </td>
  );
}

export function CandidateTable({
  rows,
  maskLabels,
  onOpen,
  goldDocId = null,
}: {
  rows: CandidateRow[];
  maskLabels: string[];
  onOpen: (i: number) => void;
  /** The doc id of the passage the sentence was cut from (null: a typed or unknown sentence). */
  goldDocId?: string | null;
}) {
  return (
    <table className="inspector-candidates" data-testid="inspector-candidates">
      <caption className="visually-hidden">
        Candidates z for the sentence, with p(z|x), p(y_j|z,x) per mask, retrieval utility and ranks
      </caption>
      <thead>
        <tr>
          <th scope="col">Candidate z</th>
          <th scope="col" title={EXPLAIN.pz}>
            p(z|x) <span className="help">?</span>
          </th>
          {maskLabels.map((l, j) => (
            <th scope="col" key={j} title={EXPLAIN.pTarget}>
              p(y<sub>{j + 1}</sub>|z,x)
              <span className="th-sub">{l}</span>
            </th>
          ))}
          <th scope="col" title={EXPLAIN.utility}>
            utility <span className="help">?</span>
          </th>
          <th scope="col" title={EXPLAIN.rank}>
            rank stale / now <span className="help">?</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map(({ candidate: c, passage, titleRanges, textRanges }, i) => {
          const gold = goldDocId !== null && c.docId === goldDocId;
          return (
            <tr
              key={c.z}
              data-testid="inspector-row"
              data-pz={c.pz}
              data-gold={gold ? 'true' : undefined}
              className={c.row === null ? 'null-doc' : gold ? 'gold' : undefined}
            >
              <th scope="row" className="cand">
                {c.row === null ? (
                  <span title={EXPLAIN.nullDoc}>
                    <strong>∅ null document</strong>
                    <span className="muted"> — the reader sees the sentence alone</span>
                  </span>
                ) : (
                  <div className="passage" data-testid="passage">
                    {gold && (
                      <span className="gold-badge" title={EXPLAIN.gold} data-testid="inspector-gold">
                        ★ gold: the sentence's own passage
                      </span>
                    )}
                    <button type="button" className="passage-open" onClick={() => onOpen(i)} title="Open the whole passage">
                      <MarkedText text={passage?.title || c.docId || `row ${c.row}`} ranges={passage?.title ? titleRanges : []} />
                    </button>
                    {/* The excerpt opens the passage too, by pointer; the title button is its keyboard stop. */}
                    <p
                      className="passage-text passage-excerpt passage-clickable"
                      data-testid="passage-excerpt"
                      title="Open the whole passage"
                      onClick={() => onOpen(i)}
                    >
                      <MarkedText
                        text={passage?.text ?? '(passage text not found in storage)'}
                        ranges={passage ? textRanges : []}
                      />
                    </p>
                  </div>
                )}
              </th>
              <td className="num">
                <span className="pz-bar" aria-hidden="true">
                  <span style={{ width: `${Math.max(0, Math.min(1, c.pz)) * 100}%` }} />
                </span>
                {c.pz.toFixed(3)}
              </td>
              {maskLabels.map((_, j) => (
                <td className="num" key={j}>
                  {formatProb(c.pTarget[j])}
                </td>
              ))}
              <td
                className={`num ${c.utility !== null && c.utility > 0 ? 'util-pos' : c.utility !== null && c.utility < 0 ? 'util-neg' : ''}`}
                title={EXPLAIN.utility}
              >
                {c.row === null ? '0 (by definition)' : formatSigned(c.utility)}
              </td>
              <RankCell c={c} />
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
