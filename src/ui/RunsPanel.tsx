// Placeholder: the studio's Runs panel is being built (issue #8).
import type { Runtime } from './runtime';

export function RunsPanel({ rt }: { rt: Runtime }) {
  void rt;
  return (
    <section className="panel panel-runs" aria-labelledby="runs-title" data-testid="runs-panel">
      <h2 id="runs-title">Runs</h2>
      <p className="muted">Not built yet.</p>
    </section>
  );
}
