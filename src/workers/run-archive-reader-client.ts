// Main-thread side of the run-archive reader: one short-lived worker per import, so that parsing a large
// or hostile archive never blocks the page. Where no Worker exists (Node, the unit tests) the same reader
// runs in the calling thread.
import * as Comlink from 'comlink';
import { RunArchiveError, type RunArchive } from './run-archive-format';
import { RunArchiveReader, type RunArchiveReading } from './run-archive-reader';

function unwrap(r: RunArchiveReading): RunArchive {
  if (r.ok) return r.archive;
  if (r.problem) throw new RunArchiveError(r.problem, r.detail);
  throw new Error(`The run archive could not be read: ${r.detail}`);
}

/**
 * Reads and checks a run archive (see run-archive-reader.ts) in a worker; throws RunArchiveError when it
 * is refused. The bytes are copied to the worker, so the caller can offer "Import as a copy" with them.
 */
export async function readRunArchiveOffThread(bytes: Uint8Array): Promise<RunArchive> {
  if (typeof Worker === 'undefined') return unwrap(new RunArchiveReader().read(bytes));
  const worker = new Worker(new URL('./run-archive-reader.worker.ts', import.meta.url), {
    type: 'module',
    name: 'run-archive-reader',
  });
  try {
    const api = Comlink.wrap<RunArchiveReader>(worker);
    const died = new Promise<never>((_, reject) => {
      const fail = (what: string) => reject(new Error(`The run-archive reader stopped (${what}). Nothing was imported.`));
      worker.addEventListener('error', (e) => fail(e.message || 'the worker failed'));
      worker.addEventListener('messageerror', () => fail('a message could not be read'));
    });
    return unwrap(await Promise.race([api.read(bytes), died]));
  } finally {
    worker.terminate();
  }
}
