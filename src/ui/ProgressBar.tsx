// Renders one Progress (src/model/progress.ts) as a bar with the rate and ETA. Used by every long
// task: import, tokenization, index build, training, evaluation. With total 0 the bar is
// indeterminate (it moves without claiming a fraction).
import type { Progress } from '../model/progress';
import { formatAmount, formatEta } from '../app/progress-view';
import './progress-bar.css';

interface ProgressBarProps {
  progress: Progress | null;
  /** Shown before the numbers; defaults to the progress task. */
  label?: string;
  /** Shows a Cancel button when given. */
  onCancel?: () => void;
  /** The cancel was asked for and is under way. */
  cancelling?: boolean;
  testId?: string;
  /** The ETA in words, instead of one from `progress.etaSeconds` ('' shows none). */
  eta?: string;
}

export function ProgressBar({ progress, label, onCancel, cancelling, testId, eta: etaText }: ProgressBarProps) {
  const p = progress;
  const known = !!p && p.total > 0;
  const fraction = known ? Math.min(1, Math.max(0, p.done / p.total)) : 0;
  const amount = !p
    ? 'starting…'
    : known
      ? `${formatAmount(p.done, p.unit)} of ${formatAmount(p.total, p.unit)}`
      : p.done > 0
        ? formatAmount(p.done, p.unit)
        : '';
  const rate = p && p.rate > 0 ? `${formatAmount(p.rate, p.unit)}/s` : '';
  const eta =
    etaText !== undefined ? etaText && `ETA ${etaText}` : p && known && p.done < p.total ? `ETA ${formatEta(p.etaSeconds)}` : '';
  return (
    <div className="progress" data-testid={testId} data-task={p?.task ?? ''}>
      <div className="progress-head">
        <span className="progress-label">{label ?? p?.task ?? ''}</span>
        <span className="progress-numbers">{[amount, rate, eta].filter(Boolean).join(' · ')}</span>
        {onCancel && (
          <button type="button" className="progress-cancel" onClick={onCancel} disabled={cancelling}>
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      <div
        className={known ? 'progress-track' : 'progress-track indeterminate'}
        role="progressbar"
        aria-label={label ?? p?.task ?? 'progress'}
        aria-valuemin={0}
        aria-valuemax={known ? p.total : undefined}
        aria-valuenow={known ? p.done : undefined}
      >
        <div className="progress-fill" style={known ? { width: `${(fraction * 100).toFixed(1)}%` } : undefined} />
      </div>
      {p?.detail && <div className="progress-detail">{p.detail}</div>}
    </div>
  );
}
