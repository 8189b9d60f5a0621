// The page's last line of defence: an error nobody caught (an `error` event) or a promise rejection
// nobody handled (`unhandledrejection`) is shown in the header notice instead of being lost in the
// console. Every known failure has its own message where it happens; this catches the rest.

/** The one-line message of whatever was thrown or rejected. */
export function describeUncaught(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (typeof reason === 'string') return reason;
  try {
    return JSON.stringify(reason) ?? String(reason);
  } catch {
    return String(reason);
  }
}

/**
 * Calls `onUncaught` with a message for every uncaught error and unhandled rejection on `target`
 * (the window). Returns the function that stops watching.
 */
export function watchUncaughtErrors(target: EventTarget, onUncaught: (message: string) => void): () => void {
  const onError = (e: Event) => {
    const ev = e as ErrorEvent;
    // Resource load errors (an <img> that failed) have no message and no error: not ours to show.
    if (!ev.error && !ev.message) return;
    onUncaught(`Unexpected error: ${ev.error !== undefined && ev.error !== null ? describeUncaught(ev.error) : ev.message}`);
  };
  const onRejection = (e: Event) => {
    onUncaught(
      `Unexpected error (a task failed and nothing handled it): ${describeUncaught((e as PromiseRejectionEvent).reason)}`,
    );
  };
  target.addEventListener('error', onError);
  target.addEventListener('unhandledrejection', onRejection);
  return () => {
    target.removeEventListener('error', onError);
    target.removeEventListener('unhandledrejection', onRejection);
  };
}
