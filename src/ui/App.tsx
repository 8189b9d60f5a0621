// The studio: one page of panels, each inside its own error boundary, in two columns at desktop
// width: what you do (training, corpus, config) on the left, what you watch (charts, index, inspector,
// embedding map, runs) on the right, so Start and the loss chart share the first screen. The config
// lives in the URL. The shell paints at once and lists what is loading while the backend starts.
import { useEffect, useState, type ReactNode } from 'react';
import { AblationsPanel } from './AblationsPanel';
import { AskPanel } from './AskPanel';
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
import { installTestHook, START_STAGES, startRuntime, type Runtime, type StartStage } from '../app/runtime';
import { watchUncaughtErrors } from '../app/uncaught-errors';
import { FirstRunGuide } from './FirstRunGuide';
import { ThemeToggle } from './ThemeToggle';

type State = { kind: 'starting'; stage: StartStage | null } | { kind: 'ready'; rt: Runtime } | { kind: 'failed'; error: Error };

/** While the backend starts: the layout's first panels, with what is loading and what is done. */
function StartingShell({ stage }: { stage: StartStage | null }) {
  const stages = Object.keys(START_STAGES) as StartStage[];
  const at = stage ? stages.indexOf(stage) : -1;
  return (
    <main className="studio" aria-busy="true">
      <div className="studio-col studio-side">
        <section className="panel" data-testid="starting-panel" aria-labelledby="starting-title">
          <h2 id="starting-title">Training</h2>
          <div className="run-buttons">
            <button type="button" disabled>
              Start
            </button>
          </div>
          <ul className="start-stages" role="status">
            {stages.map((s, i) => (
              <li key={s} className={i < at ? 'done' : i === at ? 'now' : 'later'}>
                {i < at ? '✓ ' : i === at ? '… ' : ''}
                {START_STAGES[s]}
              </li>
            ))}
          </ul>
        </section>
      </div>
      <div className="studio-col studio-main">
        <section className="panel" aria-label="Charts">
          <h2>Charts</h2>
          <p className="muted">The charts appear here once the backend is up and a run starts.</p>
        </section>
      </div>
    </main>
  );
}

function Area({ name, area, children }: { name: string; area: string; children: ReactNode }) {
  return (
    <div className={`area area-${area}`}>
      <PanelBoundary name={name}>{children}</PanelBoundary>
    </div>
  );
}

export function App() {
  const [state, setState] = useState<State>({ kind: 'starting', stage: null });
  // Errors nobody caught, shown in the header instead of being lost in the console.
  const [uncaught, setUncaught] = useState<string | null>(null);
  useEffect(() => watchUncaughtErrors(window, setUncaught), []);

  useEffect(() => {
    let cancelled = false;
    const onStage = (stage: StartStage) =>
      !cancelled && setState((s) => (s.kind === 'starting' ? { kind: 'starting', stage } : s));
    startRuntime(window.location.search, onStage).then(
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
      <FirstRunGuide />
      {state.kind === 'starting' && <StartingShell stage={state.stage} />}
      {state.kind === 'failed' && (
        <div className="error" role="alert">
          <strong>{state.error.name}:</strong> {state.error.message}
          <p>Reload the page, or open it with ?backend=wasm to train without WebGPU.</p>
        </div>
      )}
      {state.kind === 'ready' && (
        <main className="studio">
          <div className="studio-col studio-side">
            <Area name="Training" area="training">
              <RunPanel rt={state.rt} />
            </Area>
            <Area name="Corpus" area="corpus">
              <CorpusPanel store={state.rt.store} />
            </Area>
            <Area name="Model & run config" area="config">
              <ConfigPanel rt={state.rt} />
            </Area>
          </div>
          <div className="studio-col studio-main">
            <Area name="Charts" area="charts">
              <ChartsPanel rt={state.rt} />
            </Area>
            <Area name="Index" area="index">
              <IndexPanel rt={state.rt} />
            </Area>
            <Area name="Inspector" area="inspector">
              <InspectorPanel rt={state.rt} />
            </Area>
            <Area name="Ask" area="ask">
              <AskPanel rt={state.rt} />
            </Area>
            <Area name="Embedding map" area="map">
              <EmbeddingMapPanel rt={state.rt} />
            </Area>
            <Area name="Runs" area="runs">
              <RunsPanel rt={state.rt} />
            </Area>
            <Area name="Ablations" area="ablations">
              <AblationsPanel rt={state.rt} />
            </Area>
          </div>
        </main>
      )}
    </div>
  );
}
