// The first-run guide: four steps from an empty page to a retrieval you can inspect. Shown on a
// first visit until dismissed (remembered in this browser); compact, so the Training panel and the
// charts stay in the first screen.
import { useState } from 'react';
import { dismissGuide, guideDismissed } from '../app/first-run';

export function FirstRunGuide() {
  const [open, setOpen] = useState(() => !guideDismissed());
  if (!open) return null;
  return (
    <aside className="first-run-guide" aria-label="First run guide" data-testid="first-run-guide">
      <strong>First run:</strong>
      <ol>
        <li>
          <b>Corpus</b>: the bundled one loads by itself, or import yours
        </li>
        <li>
          press <b>Start</b>
        </li>
        <li>
          watch <b>Loss</b>, <b>MLM accuracy</b> and <b>p(null)</b>
        </li>
        <li>
          in REALM, <b>Inspect</b> a held-out sentence: what it retrieves, and why
        </li>
      </ol>
      <button
        type="button"
        onClick={() => {
          dismissGuide();
          setOpen(false);
        }}
        title="Hide this guide (it stays hidden in this browser)"
      >
        Got it
      </button>
    </aside>
  );
}
