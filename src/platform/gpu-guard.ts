// No WebGPU error passes silently. A WebGPU program that breaks a device limit, or runs out of
// memory, does not throw: the device reports it as an "uncaptured error" (Chromium prints a console
// warning) and the command buffer that held it is dropped, so training would go on with numbers the
// GPU never computed. `GpuErrorMonitor` listens on the page's device for those errors and for the
// device's loss, and wraps a step in error scopes; the run loop turns what it finds into a
// `GpuComputeError` that stops the run with a message naming the backend and the step.
import * as tf from '@tensorflow/tfjs';

export type GpuErrorKind = 'validation' | 'out-of-memory' | 'internal' | 'unknown';

export interface GpuErrorRecord {
  kind: GpuErrorKind;
  message: string;
  time: number;
}

export interface DeviceLoss {
  reason: string;
  message: string;
  time: number;
}

/** The GPU reported an error while the run computed: its results cannot be trusted. */
export class GpuComputeError extends Error {
  constructor(
    readonly backend: string,
    readonly where: string,
    readonly records: readonly GpuErrorRecord[],
  ) {
    const first = records[0];
    const more = records.length > 1 ? ` (and ${records.length - 1} more)` : '';
    super(
      `The ${backend} backend reported a GPU ${first?.kind ?? 'unknown'} error ${where}: ` +
        `${(first?.message ?? '').split('\n')[0]}${more}. The run stopped so that it does not train on results the GPU ` +
        'did not compute. Open the app with ?backend=wasm to train on the CPU instead, and report the message.',
    );
    this.name = 'GpuComputeError';
  }
}

/** The GPU device was lost too often to carry on. */
export class GpuDeviceLostError extends Error {
  constructor(
    readonly losses: number,
    readonly loss: DeviceLoss,
  ) {
    super(
      `The GPU device was lost ${losses} times in a row (last: ${loss.reason || 'unknown'}${loss.message ? `, ${loss.message}` : ''}); ` +
        'the run stopped at its last checkpoint. Close other GPU-heavy tabs and resume it, or open the app with ?backend=wasm.',
    );
    this.name = 'GpuDeviceLostError';
  }
}

/** The page's GPUDevice when tfjs runs on webgpu, else null. */
export function webgpuDevice(): GPUDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: GPUDevice }).device ?? null;
}

function kindOf(error: GPUError): GpuErrorKind {
  const name = error.constructor?.name ?? '';
  if (name === 'GPUValidationError') return 'validation';
  if (name === 'GPUOutOfMemoryError') return 'out-of-memory';
  if (name === 'GPUInternalError') return 'internal';
  return 'unknown';
}

export class GpuErrorMonitor {
  private device: GPUDevice | null = null;
  private pending: GpuErrorRecord[] = [];
  /** Every error seen since the page started (the test hook shows these). */
  readonly all: GpuErrorRecord[] = [];
  /** Set when the watched device is lost; cleared by `attach`. */
  lost: DeviceLoss | null = null;
  private lostWaiters: ((l: DeviceLoss) => void)[] = [];
  private readonly onError = (ev: Event) => {
    const error = (ev as GPUUncapturedErrorEvent).error;
    this.record({ kind: kindOf(error), message: error.message, time: Date.now() });
  };

  get attached(): GPUDevice | null {
    return this.device;
  }

  /** Watches `device` (the page's tfjs device) for uncaptured errors and loss; forgets the previous one. */
  attach(device: GPUDevice | null): void {
    this.detach();
    this.lost = null;
    if (!device) return;
    this.device = device;
    device.addEventListener('uncapturederror', this.onError);
    void device.lost.then((info) => {
      if (this.device !== device) return;
      const loss = { reason: String(info.reason ?? 'unknown'), message: info.message ?? '', time: Date.now() };
      this.lost = loss;
      this.lostWaiters.splice(0).forEach((w) => w(loss));
    });
  }

  detach(): void {
    this.device?.removeEventListener('uncapturederror', this.onError);
    this.device = null;
  }

  record(r: GpuErrorRecord): void {
    this.pending.push(r);
    this.all.push(r);
  }

  /** The errors seen since the last call. */
  take(): GpuErrorRecord[] {
    return this.pending.splice(0);
  }

  /** Resolves with the device loss when it happened or happens within `ms`, else null. */
  async waitForLoss(ms: number): Promise<DeviceLoss | null> {
    if (this.lost || !this.device) return this.lost;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.lostWaiters = this.lostWaiters.filter((w) => w !== done);
        resolve(null);
      }, ms);
      const done = (l: DeviceLoss) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.lostWaiters.push(done);
    });
  }

  /**
   * Runs `fn` inside validation and out-of-memory error scopes on the watched device (just runs it
   * when there is none). Errors caught by the scopes are returned, and recorded like uncaptured ones.
   */
  async scoped<T>(fn: () => Promise<T>): Promise<{ value: T; errors: GpuErrorRecord[] }> {
    const device = this.device;
    if (!device) return { value: await fn(), errors: [] };
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    let value: T;
    try {
      value = await fn();
    } finally {
      // Popped in reverse order; a lost device resolves them with null.
      const popped = await Promise.all([device.popErrorScope(), device.popErrorScope()]).catch(() => [null, null]);
      for (const e of popped) if (e) this.record({ kind: kindOf(e), message: e.message, time: Date.now() });
    }
    return { value, errors: this.take() };
  }
}

/** The monitor of the page's device (the app attaches it after choosing the backend). */
export const pageGpuMonitor = new GpuErrorMonitor();

/**
 * After the page's device was lost: drops tfjs's webgpu backend (its tensors died with the device),
 * registers it again with the same factory, which asks the adapter for a new device, switches to it
 * and watches the new device with `monitor`. Kernel overrides (the folded AddN) stay registered.
 */
export async function reinitialiseWebgpu(monitor: GpuErrorMonitor): Promise<void> {
  const factory = tf.findBackendFactory('webgpu');
  if (!factory) throw new Error('The webgpu backend is not registered: reload the page, or open it with ?backend=wasm.');
  monitor.detach();
  try {
    tf.removeBackend('webgpu');
  } catch {
    // Disposing the old backend may touch its lost device; it is gone either way.
  }
  tf.registerBackend('webgpu', factory, 3);
  if (!(await tf.setBackend('webgpu')) || tf.getBackend() !== 'webgpu') {
    throw new Error('WebGPU could not start again after losing its device: reload the page, or open it with ?backend=wasm.');
  }
  await tf.ready();
  monitor.attach(webgpuDevice());
}
