// tfjs-webgpu's AddN binds every input as its own storage buffer, and unlike its Concat it never
// splits a long input list. A WebGPU device allows `maxStorageBuffersPerShaderStage` storage buffers
// per program (8 unless more is requested), one of them the output, so an AddN over more than 7
// tensors builds an invalid pipeline: the command buffer holding it is dropped and nothing in it is
// computed. The optimiser's global gradient norm sums one squared norm per variable (43, 83 or 125
// of them in the tiny preset's phases), so its clipping read garbage.
//
// `installFoldedAddN` replaces the webgpu AddN kernel with one that sums at most `limit - 1` inputs
// per program, folding the partial sums in a tree. `foldSum` is the pure fold, tested in Node.
import * as tf from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

/**
 * Sums `items` with `sum`, never passing it more than `maxInputs` items: groups of `maxInputs` are
 * summed, then the partial sums are summed the same way, until one value is left. Every partial sum
 * is handed to `release` once it has been consumed (the inputs are never released). With one item,
 * returns that item itself.
 */
export function foldSum<T>(items: readonly T[], maxInputs: number, sum: (group: T[]) => T, release: (partial: T) => void): T {
  if (!(maxInputs >= 2)) throw new Error(`foldSum: maxInputs must be at least 2, got ${maxInputs}`);
  if (items.length === 0) throw new Error('foldSum: nothing to sum');
  let level = items.map((value) => ({ value, partial: false }));
  while (level.length > 1) {
    const next: { value: T; partial: boolean }[] = [];
    for (let i = 0; i < level.length; i += maxInputs) {
      const group = level.slice(i, i + maxInputs);
      if (group.length === 1) {
        next.push(group[0]);
        continue;
      }
      next.push({ value: sum(group.map((g) => g.value)), partial: true });
      for (const g of group) if (g.partial) release(g.value);
    }
    level = next;
  }
  return level[0].value;
}

/** Inputs one program may bind: the storage-buffer limit less the output buffer. */
export function maxProgramInputs(limits: { maxStorageBuffersPerShaderStage: number }): number {
  return Math.max(2, limits.maxStorageBuffersPerShaderStage - 1);
}

interface WebGpuBackendLike {
  device: GPUDevice;
  disposeData(dataId: object, force?: boolean): boolean;
}

let nativeAddN: KernelConfig | null = null;

/**
 * Replaces the webgpu backend's AddN kernel with the folding one (idempotent). Returns false when
 * the webgpu backend is not registered here (no WebGPU), and leaves everything as it was.
 */
export function installFoldedAddN(): boolean {
  if (nativeAddN) return true;
  const native = tf.getKernel('AddN', 'webgpu');
  if (!native) return false;
  const nativeFunc = native.kernelFunc;
  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as unknown as WebGpuBackendLike;
    const inputs = args.inputs as unknown as TensorInfo[];
    const max = maxProgramInputs(backend.device.limits);
    if (inputs.length <= max) return nativeFunc(args);
    return foldSum(
      inputs,
      max,
      (group) => nativeFunc({ ...args, inputs: group as unknown as NamedTensorInfoMap }) as TensorInfo,
      (partial) => backend.disposeData(partial.dataId),
    );
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ ...native, kernelFunc });
  nativeAddN = native;
  return true;
}

/** Puts tfjs's own AddN back (for the check that the cross-backend test fails without the fold). */
export function uninstallFoldedAddN(): void {
  if (!nativeAddN) return;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel(nativeAddN);
  nativeAddN = null;
}
