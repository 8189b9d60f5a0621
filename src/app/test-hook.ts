// `window.__realm` is a console and test hook: tests read state through it instead of scraping
// text. Panels add their own namespace with `extendTestHook` when they mount.
type Hook = Record<string, unknown>;

export function extendTestHook(name: string, api: object): void {
  const g = globalThis as unknown as { __realm?: Hook };
  g.__realm ??= {};
  g.__realm[name] = api;
}
