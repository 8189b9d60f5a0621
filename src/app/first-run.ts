// The first-run guide: shown on a first visit until dismissed, remembered in this browser's
// localStorage (not IndexedDB: it must be known before storage opens, to paint with the page).
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
