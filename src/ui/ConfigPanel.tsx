// Placeholder: the studio's Model & run config panel is being built (issue #8).
import type { Runtime } from './runtime';

export function ConfigPanel({ rt }: { rt: Runtime }) {
  void rt;
  return (
    <section className="panel panel-config" aria-labelledby="config-title" data-testid="config-panel">
      <h2 id="config-title">Model & run config</h2>
      <p className="muted">Not built yet.</p>
    </section>
  );
}
