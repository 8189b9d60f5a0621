// A passage in full, in a modal <dialog>: focus moves into it, Escape or the Close button closes it and
// focus returns to the button that opened it (the browser does both for showModal()).
import { useEffect, useId, useRef } from 'react';
import type { Ranges } from './highlight';
import { PassageView } from './PassageView';

export interface OpenPassage {
  title: string;
  text: string;
  titleRanges: Ranges;
  textRanges: Ranges;
  /** A line under the title: p(z|x), utility, ranks. */
  detail: string;
}

export function PassageDialog({ passage, onClose }: { passage: OpenPassage | null; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (passage && !d.open) d.showModal();
    if (!passage && d.open) d.close();
  }, [passage]);
  return (
    <dialog ref={ref} className="passage-dialog" aria-labelledby={titleId} onClose={onClose} data-testid="passage-dialog">
      {passage && (
        <>
          <h3 id={titleId} className="visually-hidden">
            Passage: {passage.title}
          </h3>
          <PassageView
            title={passage.title}
            text={passage.text}
            titleRanges={passage.titleRanges}
            textRanges={passage.textRanges}
          />
          <p className="muted small">{passage.detail}</p>
          <form method="dialog">
            <button type="submit" autoFocus>
              Close
            </button>
          </form>
        </>
      )}
    </dialog>
  );
}
