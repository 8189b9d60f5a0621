// Placeholder: the studio's Index panel is being built (issue #8).
import type { Runtime } from './runtime';

export function IndexPanel({ rt }: { rt: Runtime }) {
  void rt;
  return (
    <section className="panel panel-index" aria-labelledby="index-title" data-testid="index-panel">
      <h2 id="index-title">Index</h2>
      <p className="muted">Not built yet.</p>
    </section>
  );
}
