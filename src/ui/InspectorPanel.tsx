// Placeholder: the studio's Inspector panel is being built (issue #8).
import type { Runtime } from './runtime';

export function InspectorPanel({ rt }: { rt: Runtime }) {
  void rt;
  return (
    <section className="panel panel-inspector" aria-labelledby="inspector-title" data-testid="inspector-panel">
      <h2 id="inspector-title">Inspector</h2>
      <p className="muted">Not built yet.</p>
    </section>
  );
}
