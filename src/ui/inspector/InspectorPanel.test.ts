// The panel before any run (server-rendered in Node): it says what to do, explains its terms, and
// offers no inspection yet.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { InspectorPanel } from '../InspectorPanel';
import type { Runtime } from '../../app/runtime';
import { EXPLAIN } from './explain';

describe('InspectorPanel without a run', () => {
  it('says to start a run, explains p(z|x), utility, the null document and stale rank, and disables Inspect', () => {
    const rt = { store: {} } as unknown as Runtime;
    const html = renderToStaticMarkup(createElement(InspectorPanel, { rt }));
    expect(html).toContain('data-testid="inspector-panel"');
    expect(html).toMatch(/data-testid="inspector-stage"[^>]*>No run yet\. Press Start in the Training panel/);
    for (const text of [EXPLAIN.pz, EXPLAIN.utility, EXPLAIN.nullDoc, EXPLAIN.rank])
      expect(html).toContain(text.replace(/'/g, '&#x27;').slice(0, 60));
    expect(html).toMatch(/<button type="submit" disabled=""[^>]*data-testid="inspector-inspect"/);
    expect(html).not.toContain('inspector-result');
  });
});
