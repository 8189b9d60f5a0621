// The Open-QA state the panels share (issue #34): the fine-tuning run in the page, if any. The Training
// panel starts it and writes here; the Charts-like view of the Training panel and the Ask panel subscribe
// with `useOpenQa(selector)`. A fine-tuning run belongs to one pre-training run (`runId`): a new run in
// the page makes it stale, and the Ask panel only uses one of the run it asks.
import { create } from 'zustand';
import type { FinetuneRun } from './finetune-run';

interface OpenQaState {
  finetune: FinetuneRun | null;
  /** Bumped on every event of the fine-tuning run: subscribe to it to redraw from `finetune.history`. */
  tick: number;
  /** Puts `f` in the page, disposing of the one it replaces (stopped first if it was training). */
  setFinetune(f: FinetuneRun | null): Promise<void>;
  bump(): void;
}

export const useOpenQa = create<OpenQaState>((set, get) => ({
  finetune: null,
  tick: 0,
  setFinetune: async (f) => {
    const old = get().finetune;
    if (old && old !== f) {
      await old.stop();
      old.dispose();
    }
    set((s) => ({ finetune: f, tick: s.tick + 1 }));
  },
  bump: () => set((s) => ({ tick: s.tick + 1 })),
}));
