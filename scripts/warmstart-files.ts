// Reads a warm start folder (public/warmstart/<name>/, see src/model/warm-start.ts) from disk and checks
// it against its manifest: the benches' and CLIs' way in; the page fetches the same four files.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { openWarmStart, WarmStartError, type WarmStart } from '../src/model/warm-start';

export async function readWarmStart(dir: string): Promise<WarmStart> {
  const file = (name: string) => {
    const p = path.join(dir, name);
    if (!existsSync(p))
      throw new WarmStartError(`${p} is missing: build the warm start with \`npm run build:warmstart -- --out ${dir}\``);
    return readFileSync(p);
  };
  return openWarmStart({
    manifest: file('manifest.json').toString('utf8'),
    checkpointHeader: file('checkpoint.json'),
    checkpointData: file('checkpoint.bin'),
    vocab: file('vocab.txt'),
  });
}
