// Placeholder: the studio's Charts panel is being built (issue #8).
import type { Runtime } from './runtime';

export function ChartsPanel({ rt }: { rt: Runtime }) {
  void rt;
  return (
    <section className="panel panel-charts" aria-labelledby="charts-title" data-testid="charts-panel">
      <h2 id="charts-title">Charts</h2>
      <p className="muted">Not built yet.</p>
    </section>
  );
}
