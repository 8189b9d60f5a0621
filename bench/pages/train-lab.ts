// The training lab: runs the same seeded trainer steps (ICT, MLM, REALM) on several tfjs backends in
// one page, and returns each backend's losses, gradient norms and every variable afterwards, for the
// cross-backend equality test. On webgpu it also lists the programs the steps ran with the storage
// buffers, workgroup and dispatch sizes each used, against the device's limits.
//
// Determinism: every random choice (initialisation through seeded tf.truncatedNormal, batches, masks,
// ICT sentence removal) comes from the trainer's seeded JS RNG, so it is the same on every backend;
// the tiny preset has dropout 0 (and were it on, tf.dropout draws its mask from a seeded JS generator,
// which is backend-independent too). Only the arithmetic differs between backends.
import * as tf from '@tensorflow/tfjs';
import { makeConfig, type RealmConfig } from '../../src/model/config';
import { syntheticWorld } from '../../src/corpus/data';
import { GpuErrorMonitor, webgpuDevice, type GpuErrorRecord } from '../../src/platform/gpu-guard';
import { Rng } from '../../src/corpus/rng';
import { RealmTrainer } from '../../src/model/trainer';

export interface EqualityRequest {
  backends: string[];
  ictSteps: number;
  mlmSteps: number;
  realmSteps: number;
  /** Entities of the synthetic world (its vocabulary and passages). */
  entities: number;
  seed: number;
  /** Overrides of the tiny preset. */
  overrides?: Partial<RealmConfig>;
}

export interface EqualityStep {
  phase: string;
  loss: number;
  gradNorm: number;
}

export interface BackendTrace {
  backend: string;
  steps: EqualityStep[];
  /** Every model variable after the steps, by name. */
  variables: Record<string, number[]>;
  /** GPU errors seen (webgpu only): uncaptured ones and those the error scopes caught. */
  gpuErrors: GpuErrorRecord[];
  /** Tensors left over after the trainer was disposed. */
  leakedTensors: number;
  ms: number;
  /** webgpu only: the programs the steps ran, against the device's limits. */
  audit?: ProgramAudit;
}

/** Runs `req`'s steps on each backend in turn (switching with tf.setBackend); restores the backend. */
export async function trainOnBackends(req: EqualityRequest): Promise<BackendTrace[]> {
  const original = tf.getBackend();
  const out: BackendTrace[] = [];
  try {
    for (const backend of req.backends) {
      if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) throw new Error(`backend ${backend} did not start`);
      await tf.ready();
      const monitor = new GpuErrorMonitor();
      monitor.attach(webgpuDevice());
      const data = syntheticWorld(req.entities, { seedRng: new Rng(req.seed) });
      const config = makeConfig('tiny', {
        vocabSize: data.vocabSize,
        ictSteps: req.ictSteps,
        mlmSteps: req.mlmSteps,
        realmSteps: req.realmSteps,
        seed: req.seed,
        ...req.overrides,
      });
      const before = tf.memory().numTensors;
      const t0 = performance.now();
      const trainer = new RealmTrainer({ config, data });
      const steps: EqualityStep[] = [];
      const takeSteps = async () => {
        for (;;) {
          const { value: m } = await monitor.scoped(() => trainer.step());
          if (!m) break;
          steps.push({ phase: m.phase, loss: m.loss, gradNorm: m.gradNorm });
        }
      };
      try {
        const audit = backend === 'webgpu' ? (await withProgramAudit(takeSteps)).audit : (await takeSteps(), undefined);
        const variables: Record<string, number[]> = {};
        for (const [name, v] of trainer.model.variables()) variables[name] = Array.from((await v.data()) as Float32Array);
        const ms = performance.now() - t0;
        trainer.dispose();
        // Uncaptured errors arrive as events: let them land before reading the list.
        await new Promise((r) => setTimeout(r, 50));
        out.push({
          backend,
          steps,
          variables,
          gpuErrors: monitor.all,
          leakedTensors: tf.memory().numTensors - before,
          ms,
          audit,
        });
      } finally {
        monitor.detach();
      }
    }
  } finally {
    await tf.setBackend(original);
  }
  return out;
}

export interface ProgramUse {
  shaderKey: string;
  /** Storage buffers the program binds: its inputs and its output. */
  storageBuffers: number;
  workgroupInvocations: number;
  /** Largest workgroup count in one dispatch dimension. */
  maxDispatch: number;
  /** Largest output buffer, bytes (float32 or int32). */
  maxOutputBytes: number;
  runs: number;
}

export interface ProgramAudit {
  programs: ProgramUse[];
  limits: Record<string, number>;
}

interface ProgramLike {
  shaderKey: string;
  variableNames: string[];
  workgroupSize: number[];
  dispatch: number[];
  outputShape: number[];
}

/**
 * Records every program the webgpu backend dispatches while `fn` runs (by shaderKey and storage-buffer
 * count), with its workgroup size, dispatch and output size, and the device's limits to compare with.
 */
async function withProgramAudit<T>(fn: () => Promise<T>): Promise<{ value: T; audit: ProgramAudit }> {
  const backend = tf.backend() as unknown as {
    device: GPUDevice;
    runWebGPUProgram: (p: ProgramLike, ...rest: unknown[]) => unknown;
  };
  const uses = new Map<string, ProgramUse>();
  const run = backend.runWebGPUProgram;
  backend.runWebGPUProgram = function (program, ...rest) {
    const storageBuffers = program.variableNames.length + 1;
    const shaderKey = program.shaderKey.slice(0, 80);
    const key = `${shaderKey}#${storageBuffers}`;
    const u = uses.get(key) ?? {
      shaderKey,
      storageBuffers,
      workgroupInvocations: program.workgroupSize.reduce((a, b) => a * b, 1),
      maxDispatch: 0,
      maxOutputBytes: 0,
      runs: 0,
    };
    u.runs++;
    u.maxDispatch = Math.max(u.maxDispatch, ...program.dispatch);
    u.maxOutputBytes = Math.max(u.maxOutputBytes, 4 * program.outputShape.reduce((a, b) => a * b, 1));
    uses.set(key, u);
    return run.call(this, program, ...rest);
  };
  try {
    const value = await fn();
    const l = backend.device.limits;
    return {
      value,
      audit: {
        programs: [...uses.values()].sort((a, b) => b.storageBuffers - a.storageBuffers),
        limits: {
          maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
          maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
          maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
          maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        },
      },
    };
  } finally {
    backend.runWebGPUProgram = run;
  }
}
