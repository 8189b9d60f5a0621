// `npm run bench:learning`: evidence that retrieval helps, with a fixed seed. Trains the tiny preset
// (wasm backend) ICT -> MLM -> REALM on the synthetic world and prints, on the held-out cloze set:
// cloze accuracy with retrieval against the same model reading only the null document, and recall@5
// of a passage holding the answer after ICT and after REALM. Writes bench/results/learning.md.
// Env: LEARNING_QUICK=1 for a short smoke run; LEARNING_STEPS="ict,mlm,realm", LEARNING_K, LEARNING_LR,
// LEARNING_ENTITIES, LEARNING_SEED override the defaults.
import { mkdirSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { makeConfig } from '../src/model/config';
import { syntheticWorld } from '../src/model/data';
import { Rng } from '../src/model/rng';
import { RealmTrainer } from '../src/model/trainer';

async function main() {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
  const quick = process.env.LEARNING_QUICK === '1';
  const [ict, mlm, realm] = (process.env.LEARNING_STEPS ?? (quick ? '20,20,20' : '300,300,400')).split(',').map(Number);
  const entities = Number(process.env.LEARNING_ENTITIES ?? 60);
  const seed = Number(process.env.LEARNING_SEED ?? 1);
  const data = syntheticWorld(entities, { seedRng: new Rng(seed + 1000) });
  const config = makeConfig('tiny', {
    vocabSize: data.vocabSize,
    ictSteps: ict,
    mlmSteps: mlm,
    realmSteps: realm,
    seed,
    batchSize: 8,
    k: Number(process.env.LEARNING_K ?? 8),
    learningRate: Number(process.env.LEARNING_LR ?? 1e-3),
  });
  const trainer = new RealmTrainer({ config, data });
  const t0 = performance.now();
  const rows: string[][] = [];
  const record = (stage: string) => {
    const e = trainer.evaluate();
    const r = trainer.ictRecall();
    rows.push([stage, String(trainer.stepCount), e.clozeAccuracy.toFixed(3), e.clozeAccuracyNullOnly.toFixed(3), e.recallAt5.toFixed(3), r.recallAt5.toFixed(3)]);
    process.stderr.write(`\n${stage}: ${rows[rows.length - 1].join(' | ')}\n`);
  };
  let last = trainer.phaseAt()?.phase;
  while (!trainer.done) {
    const m = (await trainer.step())!;
    if (m.step % 25 === 0) process.stderr.write(`\r${m.phase} step ${m.step} loss ${m.loss.toFixed(3)}   `);
    const next = trainer.phaseAt()?.phase;
    if (next !== last && m.phase !== 'mlm') record(`after ${m.phase.toUpperCase()}`);
    last = next;
  }
  const secs = (performance.now() - t0) / 1000;
  const header = ['stage', 'step', 'cloze acc (retrieval)', 'cloze acc (null doc only)', 'recall@5 (answer passage)', 'ICT recall@5 (held-out passages)'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const text =
    `Synthetic world: ${entities} people, ${data.passages.length} passages, ${data.queries.length} training queries, ` +
    `${data.heldOut.length} held-out cloze queries; tiny preset (${trainer.model.parameterCount().toLocaleString()} parameters), ` +
    `batch ${config.batchSize}, k = ${config.k} (incl. null), ${config.marginalisation}, seed ${seed}; ICT ${ict}, MLM ${mlm}, REALM ${realm} steps; ` +
    `tfjs ${tf.getBackend()}, ${secs.toFixed(0)} s.\n\n${table}\n`;
  console.log(text);
  if (!quick) {
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/learning.md', text);
  }
  trainer.dispose();
}

void main();
