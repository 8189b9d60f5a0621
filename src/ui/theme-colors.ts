// Theme colours for canvas drawing. The CSS variables use light-dark(), which a canvas cannot parse and
// getComputedStyle does not resolve on a custom property, so a colour is read back from a probe
// element styled with it. `useThemeVersion` bumps when the theme changes (the toggle's data-theme or
// the system's light/dark), so canvases can redraw with the new colours.
import { useEffect, useState } from 'react';

/** Resolves a CSS colour variable (e.g. '--series-1') to an rgb() string a canvas can draw. */
export function resolveCssColour(host: Element, cssVar: string, fallback = '#888'): string {
  const probe = host.ownerDocument.createElement('span');
  probe.style.color = `var(${cssVar})`;
  probe.style.display = 'none';
  host.appendChild(probe);
  const c = getComputedStyle(probe).color;
  probe.remove();
  return c || fallback;
}

/** `rgb(r, g, b)` -> `rgba(r, g, b, alpha)`; other strings unchanged. */
export function withAlpha(colour: string, alpha: number): string {
  const m = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(colour.replace(/\s+/g, ''));
  return m ? `rgba(${m[1]},${m[2]},${m[3]},${alpha})` : colour;
}

/** Calls `listener` when the page's theme changes; returns the unsubscribe function. */
export function onThemeChange(listener: () => void): () => void {
  const observer = new MutationObserver(listener);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  const media = window.matchMedia?.('(prefers-color-scheme: dark)');
  media?.addEventListener('change', listener);
  return () => {
    observer.disconnect();
    media?.removeEventListener('change', listener);
  };
}

/** A number that changes whenever the theme does. */
export function useThemeVersion(): number {
  const [version, setVersion] = useState(0);
  useEffect(() => onThemeChange(() => setVersion((v) => v + 1)), []);
  return version;
}
