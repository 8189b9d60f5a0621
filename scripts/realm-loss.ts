// `npm run realm-loss -- FILE.json` (or `-` for stdin): the REALM loss, its gradients and the retrieval
// utility for one batch, computed by src/model/realm-loss.ts on the tfjs cpu backend, for checking
// against other implementations. Input and output formats: README, "The model".
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { realmLossJson, RealmLossError, type RealmLossJsonInput } from '../src/model/realm-loss';

async function main() {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npm run realm-loss -- FILE.json   (or - to read stdin)');
    process.exit(2);
  }
  let input: RealmLossJsonInput;
  try {
    input = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as RealmLossJsonInput;
  } catch (e) {
    console.error(`cannot read ${file} as JSON: ${(e as Error).message}`);
    process.exit(2);
  }
  await tf.setBackend('cpu');
  try {
    process.stdout.write(JSON.stringify(realmLossJson(input)) + '\n');
  } catch (e) {
    if (e instanceof RealmLossError) {
      console.error(`realm-loss: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
}

void main();
