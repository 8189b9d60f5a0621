// The marginal prediction p(y_j|x) next to the null-only prediction p(y_j|null,x): the top tokens for
// each mask, the true token in bold where it appears.
import type { MaskInspection, TokenProb } from '../../model/inspection';
import { EXPLAIN } from './explain';
import { formatProb, pieceName } from './format';

function TopList({
  items,
  target,
  vocab,
  label,
}: {
  items: TokenProb[];
  target: number;
  vocab: readonly string[];
  label: string;
}) {
  if (items.length === 0) return <p className="muted">beyond what the model reads</p>;
  return (
    <ol className="top-tokens" aria-label={label}>
      {items.map((t) => (
        <li key={t.id} className={t.id === target ? 'is-target' : undefined}>
          <span className="tok">{pieceName(vocab, t.id)}</span> <span className="num">{formatProb(t.p)}</span>
        </li>
      ))}
    </ol>
  );
}

export function Predictions({ masks, vocab }: { masks: MaskInspection[]; vocab: readonly string[] }) {
  return (
    <div className="inspector-predictions" data-testid="inspector-predictions">
      {masks.map((m, j) => {
        const truth = m.target >= 0 ? pieceName(vocab, m.target) : null;
        return (
          <div className="mask-prediction" key={j}>
            <h4>
              mask {j + 1}
              {truth !== null && (
                <>
                  {' '}
                  · answer <span className="tok is-target">{truth}</span>
                </>
              )}
            </h4>
            <div className="pred-pair">
              <div>
                <h5 title={EXPLAIN.marginal}>
                  with retrieval p(y|x) <span className="help">?</span>
                </h5>
                <TopList items={m.top} target={m.target} vocab={vocab} label={`top tokens for mask ${j + 1} with retrieval`} />
                {m.pMarginal !== null && <p className="muted small">answer: {formatProb(m.pMarginal)}</p>}
              </div>
              <div>
                <h5 title={EXPLAIN.nullOnly}>
                  null document only <span className="help">?</span>
                </h5>
                <TopList
                  items={m.topNullOnly}
                  target={m.target}
                  vocab={vocab}
                  label={`top tokens for mask ${j + 1} from the null document alone`}
                />
                {m.pNullOnly !== null && <p className="muted small">answer: {formatProb(m.pNullOnly)}</p>}
              </div>
            </div>
          </div>
        );
      })}
    </div>
  );
}
