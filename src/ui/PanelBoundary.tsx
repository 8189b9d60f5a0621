// A React error boundary around each panel: a panel that throws while rendering shows what went wrong
// and how to recover, and the rest of the studio keeps working.
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  /** The panel's name, used in the message. */
  name: string;
  children: ReactNode;
}

interface State {
  error: Error | null;
}

export class PanelBoundary extends Component<Props, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.warn(`The ${this.props.name} panel failed:`, error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <section className="panel" role="alert" data-testid="panel-error">
        <h2>{this.props.name}</h2>
        <p className="error">
          This panel stopped: <strong>{error.name}</strong>: {error.message}
        </p>
        <p>The other panels and any run in progress are unaffected; your stored runs and corpora are safe.</p>
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try the panel again
        </button>
      </section>
    );
  }
}
