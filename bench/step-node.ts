// One cell of `npm run bench:step -- --node`, in its own Node process (so that a wasm abort ends only
// this cell): `tsx bench/step-node.ts '<json StepCellRequest>'`. Prints one line `STEP_RESULT <json>`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { PresetName } from '../src/model/config';
import { matMulShapes, measureMatMul, measureStepCell, stepBenchData } from './step-timing';
import { RESULT_MARK, type StepCellRequest } from './step-report';

async function main() {
  const req = JSON.parse(process.argv[2] ?? '') as StepCellRequest;
  if (!(await tf.setBackend(req.backend)) || tf.getBackend() !== req.backend)
    throw new Error(`the ${req.backend} backend did not start in Node`);
  await tf.ready();
  if (req.kind === 'matmul') {
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(await measureMatMul(matMulShapes(req.presets as PresetName[])))}\n`);
    return;
  }
  const file = (name: string) => readFileSync(join(req.corpus, name), 'utf8');
  const data = stepBenchData(
    { passages: file('passages.jsonl'), vocab: file('vocab.txt'), cloze: file('cloze.jsonl') },
    req.preset as PresetName,
  );
  const result = await measureStepCell({
    phase: req.phase,
    preset: req.preset as PresetName,
    data,
    steps: req.steps,
    slowMs: req.slowMs,
    onProgress: (stage) => process.stderr.write(`  ${req.backend} ${req.preset} ${req.phase}: ${stage}\n`),
  });
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

main().catch((e: Error) => {
  // The stack for whoever reads the log; the message last, for the driver's table.
  process.stderr.write(`${e.stack ?? ''}\n${e.message}\n`);
  process.exit(1);
});
