// Placeholder: the studio's Embedding map panel is being built (issue #8).
import type { Runtime } from './runtime';

export function EmbeddingMapPanel({ rt }: { rt: Runtime }) {
  void rt;
  return (
    <section className="panel panel-map" aria-labelledby="map-title" data-testid="map-panel">
      <h2 id="map-title">Embedding map</h2>
      <p className="muted">Not built yet.</p>
    </section>
  );
}
