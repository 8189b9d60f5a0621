// The studio: one page of panels (corpus, model & run config, training, index, charts, inspector,
// embedding map, runs), each inside its own error boundary. The config lives in the URL.
import { useEffect, useState, type ReactNode } from 'react';
import { BackendBadge } from './BackendBadge';
import { ChartsPanel } from './ChartsPanel';
import { ConfigPanel } from './ConfigPanel';
import { CorpusPanel } from './CorpusPanel';
import { EmbeddingMapPanel } from './EmbeddingMapPanel';
import { IndexPanel } from './IndexPanel';
import { InspectorPanel } from './InspectorPanel';
import { PanelBoundary } from './PanelBoundary';
import { RunPanel } from './RunPanel';
import { RunsPanel } from './RunsPanel';
import { installTestHook, startRuntime, type Runtime } from '../app/runtime';
import { watchUncaughtErrors } from '../app/uncaught-errors';
import { ThemeToggle } from './ThemeToggle';

type State = { kind: 'starting' } | { kind: 'ready'; rt: Runtime } | { kind: 'failed'; error: Error };

function Area({ name, area, children }: { name: string; area: string; children: ReactNode }) {
  return (
    <div className={`area area-${area}`}>
      <PanelBoundary name={name}>{children}</PanelBoundary>
    </div>
  );
}

export function App() {
  const [state, setState] = useState<State>({ kind: 'starting' });
  // Errors nobody caught, shown in the header instead of being lost in the console.
  const [uncaught, setUncaught] = useState<string | null>(null);
  useEffect(() => watchUncaughtErrors(window, setUncaught), []);

  useEffect(() => {
    let cancelled = false;
    startRuntime(window.location.search).then(
      (rt) => {
        if (cancelled) return;
        installTestHook(rt);
        setState({ kind: 'ready', rt });
      },
      (error: Error) => !cancelled && setState({ kind: 'failed', error }),
    );
    return () => {
      cancelled = true;
    };
  }, []);

  const notes = state.kind === 'ready' ? state.rt.backend.notes : [];
  const builderNote = state.kind === 'ready' ? state.rt.builder.handle.fallbackReason : undefined;
  return (
    <div className="app" data-ready={state.kind === 'ready'}>
      <header className="app-header">
        <h1>REALM in the browser</h1>
        <span className="muted tagline">Retrieval-augmented language model pre-training, on your GPU</span>
        {state.kind === 'ready' && <BackendBadge report={state.rt.backend} builder={state.rt.builder.handle} />}
        {state.kind === 'starting' && <span className="badge">starting the backend…</span>}
        <ThemeToggle />
      </header>
      {(notes.length > 0 || builderNote) && (
        <ul className="notices" data-testid="backend-notes">
          {notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
          {builderNote && <li>The index builder runs on the main thread: {builderNote}.</li>}
        </ul>
      )}
      {uncaught && (
        <p className="notice" role="alert" data-testid="uncaught-notice">
          {uncaught}{' '}
          <button type="button" onClick={() => setUncaught(null)}>
            Dismiss
          </button>
        </p>
      )}
      {state.kind === 'failed' && (
        <div className="error" role="alert">
          <strong>{state.error.name}:</strong> {state.error.message}
          <p>Reload the page, or open it with ?backend=wasm to train without WebGPU.</p>
        </div>
      )}
      {state.kind === 'ready' && (
        <main className="studio">
          <Area name="Corpus" area="corpus">
            <CorpusPanel store={state.rt.store} />
          </Area>
          <Area name="Model & run config" area="config">
            <ConfigPanel rt={state.rt} />
          </Area>
          <Area name="Training" area="training">
            <RunPanel rt={state.rt} />
          </Area>
          <Area name="Charts" area="charts">
            <ChartsPanel rt={state.rt} />
          </Area>
          <Area name="Index" area="index">
            <IndexPanel rt={state.rt} />
          </Area>
          <Area name="Inspector" area="inspector">
            <InspectorPanel rt={state.rt} />
          </Area>
          <Area name="Embedding map" area="map">
            <EmbeddingMapPanel rt={state.rt} />
          </Area>
          <Area name="Runs" area="runs">
            <RunsPanel rt={state.rt} />
          </Area>
        </main>
      )}
    </div>
  );
}
