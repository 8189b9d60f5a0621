import { useEffect, useState } from 'react';
import { BackendBadge } from './BackendBadge';
import { CorpusPanel } from './CorpusPanel';
import { RunPanel } from './RunPanel';
import { installTestHook, startRuntime, type Runtime } from './runtime';

type State = { kind: 'starting' } | { kind: 'ready'; rt: Runtime } | { kind: 'failed'; error: Error };

export function App() {
  const [state, setState] = useState<State>({ kind: 'starting' });

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
        {state.kind === 'ready' && <BackendBadge report={state.rt.backend} builder={state.rt.builder.handle} />}
        {state.kind === 'starting' && <span className="badge">starting the backend…</span>}
      </header>
      {(notes.length > 0 || builderNote) && (
        <ul className="notices" data-testid="backend-notes">
          {notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
          {builderNote && <li>The index builder runs on the main thread: {builderNote}.</li>}
        </ul>
      )}
      {state.kind === 'failed' && (
        <div className="error" role="alert">
          <strong>{state.error.name}:</strong> {state.error.message}
        </div>
      )}
      <main className="panels">
        <section className="panel">
          <h2>Retrieval-augmented language model pre-training</h2>
          <p>
            REALM learns to retrieve passages from a corpus while it learns to fill in masked words. This page trains a
            small REALM on your GPU through WebGPU; an index builder in a Web Worker keeps re-embedding the corpus while
            the trainer trains.
          </p>
        </section>
        {state.kind === 'ready' && <CorpusPanel store={state.rt.store} />}
        {state.kind === 'ready' && <RunPanel rt={state.rt} />}
      </main>
    </div>
  );
}
