// The asynchronous index builder (REALM.md, "Asynchronous index refresh"). A plain class so that it
// runs the same in a Web Worker (behind Comlink) and on the main thread (the fallback).
import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendReport, type BackendRequest } from '../model/backend';
import { WASM_PATHS } from '../model/wasm-assets';

export interface IndexBuilderInit {
  /** Backend to use; the page passes its own request so both sides agree. */
  backend?: BackendRequest;
}

export class IndexBuilder {
  private report: BackendReport | null = null;

  /** Sets up this thread's own tfjs backend (webgpu when available) and reports it. */
  async init(opts: IndexBuilderInit = {}): Promise<BackendReport> {
    if (!this.report) {
      // The worker never runs the webgpu-vs-wasm probe: the page decides and passes the result.
      this.report = await selectBackend({ request: opts.backend ?? 'webgpu', wasmPaths: WASM_PATHS, probe: false });
    }
    return this.report;
  }

  /** The backend tfjs reports right now on this thread. */
  backendName(): string {
    return tf.getBackend();
  }

  /**
   * Transfer check: receives a Float32Array by transfer, returns `x * scale` by transfer, computed
   * with tfjs on this thread's backend. The caller's buffer is detached (zero-copy both ways).
   */
  async scale(x: Float32Array, scale: number): Promise<Float32Array> {
    const t = tf.tensor1d(x);
    const y = tf.mul(t, scale);
    const out = (await y.data()) as Float32Array;
    tf.dispose([t, y]);
    return Comlink.transfer(out, [out.buffer]);
  }
}
