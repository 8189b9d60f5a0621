// When the MIPS index is refreshed (docs/refresh.md): 'async' builds in the worker while training goes on
// with the stale index (REALM's way); 'sync' waits for each build; 'frozen' keeps the first index;
// 'every-R-steps' refreshes on a fixed schedule. Its own module, free of tfjs, so that the run-archive
// reader worker can check a stored policy without loading a backend.
export type RefreshPolicy = 'async' | 'sync' | 'frozen' | 'every-R-steps';
export const REFRESH_POLICIES: readonly RefreshPolicy[] = ['async', 'sync', 'frozen', 'every-R-steps'];
