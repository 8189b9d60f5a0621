// The first-run guide: shown on a first visit until dismissed, remembered in this browser's
// localStorage (not IndexedDB: it must be known before storage opens, to paint with the page).
import { RUN_PARAMS } from './run-settings';

const KEY = 'realm.firstRunGuide.dismissed';

export function guideDismissed(): boolean {
  try {
    return globalThis.localStorage?.getItem(KEY) === '1';
  } catch {
    return false; // storage blocked: show the guide, it can still be closed for this page
  }
}

export function dismissGuide(): void {
  try {
    globalThis.localStorage?.setItem(KEY, '1');
  } catch {
    // blocked storage: the guide stays closed for this page only
  }
}

/**
 * The Classroom demo: the warm start, REALM only, on the bundled corpus. 150 REALM steps of the mini preset
 * are sized to finish in under 5 minutes on wasm on a 2-core machine (docs/studio.md, "Warm and cold starts").
 * The trivial candidate is the query sentence, not its whole passage (as `npm run bench:learning`), so a
 * held-out sentence's gold passage can be retrieved and the inspector shows it. τ = 4 and the embedders at
 * 0.1 x the learning rate keep the warm start's retriever (at τ = 1 and 1 x, 150 steps took its
 * gold-passage recall@5 from 0.33 to 0.03: docs/research/06-warm-start-demo.md).
 */
export const CLASSROOM_QUERY =
  'preset=mini&start=warm&ict=0&mlm=0&realm=150&exclude=sentence&tau=4&rlr=0.1&refresh=async&every=20&eval=50&ckpt=50';

declare const __WARM_START_SHIPPED__: boolean | undefined;

/**
 * Whether the build shipped public/warmstart/mini (vite.config.ts's define). A build without it keeps
 * a first visit's defaults (cold), so Start does not meet a missing warm start.
 */
export const WARM_START_SHIPPED = typeof __WARM_START_SHIPPED__ === 'boolean' && __WARM_START_SHIPPED__;

/** Keys that make a link a setup of its own (the page keys, backend, bundle and worker, do not). */
const SETUP_KEYS = ['preset', ...RUN_PARAMS.map((p) => p.key)];

/**
 * A new user's first run starts warm: on a first visit (the guide not dismissed) with a link that
 * sets no run setting, the page's URL becomes the Classroom demo (the page keys kept). Otherwise the
 * link is left as it is, so a shared setup means what it says; and so is every link while the build
 * ships no warm start. Returns the search to use.
 */
export function firstRunSearch(search: string, firstVisit = !guideDismissed(), warmShipped = WARM_START_SHIPPED): string {
  const params = new URLSearchParams(search);
  if (!warmShipped || !firstVisit || SETUP_KEYS.some((k) => params.has(k))) return search;
  for (const [k, v] of new URLSearchParams(CLASSROOM_QUERY)) params.set(k, v);
  return `?${params.toString()}`;
}
