// The refresh bench page (refresh.html): starts the app's runtime (backend, index builder, storage),
// loads the bundled tiny corpus on first start as the app does, and exposes the app's test hook with
// `bench.refresh` added for `npm run bench:refresh` (bench/refresh.ts) to drive.
import { corpusControllerFor } from '../../src/app/corpus-controller';
import { makeTestHook, startRuntime } from '../../src/app/runtime';
import { benchRefresh, type RefreshBenchOptions } from '../refresh-bench';

const status = document.getElementById('status');

async function main() {
  const rt = await startRuntime(location.search);
  await corpusControllerFor(rt.store).start();
  (globalThis as unknown as { __realm: object }).__realm = {
    ...makeTestHook(rt),
    bench: { refresh: (o: RefreshBenchOptions) => benchRefresh(rt, o) },
  };
  if (status) status.textContent = `ready on ${rt.backend.backend}`;
}

main().catch((e: unknown) => {
  if (status) status.textContent = `failed: ${(e as Error).message}`;
  throw e;
});
