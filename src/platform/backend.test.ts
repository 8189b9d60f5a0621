import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { BACKEND_ORDER, isSoftwareAdapter, parseBackendRequest, planBackends, selectBackend, type ProbeResult } from './backend';

const probe = (webgpuMs: number, wasmMs: number): ProbeResult => ({ webgpuMs, wasmMs, shapes: [[1, 1, 1]] });

describe('isSoftwareAdapter', () => {
  it('recognises SwiftShader as Chromium 156 reports it', () => {
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader' })).toBe(true);
  });
  it('trusts isFallbackAdapter and other software rasterisers', () => {
    expect(isSoftwareAdapter({ vendor: 'x' }, true)).toBe(true);
    expect(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })).toBe(true);
  });
  it('does not flag a real GPU', () => {
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', device: 'H100' })).toBe(false);
  });
});

describe('parseBackendRequest', () => {
  it('parses known names case-insensitively and defaults to auto', () => {
    expect(parseBackendRequest('WebGPU').request).toBe('webgpu');
    expect(parseBackendRequest(null).request).toBe('auto');
    expect(parseBackendRequest('auto').request).toBe('auto');
  });
  it('says so when the value is unknown', () => {
    const r = parseBackendRequest('cuda');
    expect(r.request).toBe('auto');
    expect(r.note).toMatch(/Unknown backend "cuda"/);
  });
});

describe('planBackends', () => {
  it('prefers webgpu, wasm, webgl, cpu on a real GPU', () => {
    const plan = planBackends('auto', { webgpu: true, wasm: true, webgl: true }, false, null);
    expect(plan.order).toEqual(BACKEND_ORDER);
    expect(plan.notes).toEqual([]);
  });
  it('falls back to wasm when WebGPU is missing, and says why', () => {
    const plan = planBackends('auto', { webgpu: 'navigator.gpu is missing', wasm: true }, false, null);
    expect(plan.order[0]).toBe('wasm');
    expect(plan.order).not.toContain('webgpu');
    expect(plan.notes.join(' ')).toMatch(/WebGPU is unavailable: navigator.gpu is missing/);
  });
  it('on a software adapter, defaults to whichever the probe found faster', () => {
    const slowGpu = planBackends('auto', { webgpu: true, wasm: true }, true, probe(40, 2));
    expect(slowGpu.order[0]).toBe('wasm');
    expect(slowGpu.notes.join(' ')).toMatch(/emulated on the CPU/);
    expect(slowGpu.notes.join(' ')).toMatch(/wasm is faster here/);
    const fastGpu = planBackends('auto', { webgpu: true, wasm: true }, true, probe(1, 2));
    expect(fastGpu.order[0]).toBe('webgpu');
  });
  it('keeps WebGPU and says so when the software probe failed', () => {
    const plan = planBackends('auto', { webgpu: true, wasm: true }, true, null);
    expect(plan.order[0]).toBe('webgpu');
    expect(plan.notes.join(' ')).toMatch(/probe did not run/);
  });
  it('honours an explicit request even on a software adapter', () => {
    const plan = planBackends('webgpu', { webgpu: true, wasm: true }, true, probe(40, 2));
    expect(plan.order[0]).toBe('webgpu');
    expect(plan.notes.join(' ')).toMatch(/emulated/);
  });
  it('never falls back silently from an explicit request', () => {
    const plan = planBackends('webgpu', { webgpu: 'no adapter', wasm: true }, false, null);
    expect(plan.order[0]).toBe('wasm');
    expect(plan.notes.join(' ')).toMatch(/You asked for the webgpu backend, but it is unavailable: no adapter/);
  });
});

describe('selectBackend in Node', () => {
  it('selects cpu when asked and reports it', async () => {
    const report = await selectBackend({ request: 'cpu' });
    expect(report.backend).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(report.adapter).toBeNull();
  });
  it('asking for webgpu where there is none lands on another backend with a note', async () => {
    const report = await selectBackend({ request: 'webgpu' });
    expect(report.backend).not.toBe('webgpu');
    expect(tf.getBackend()).toBe(report.backend);
    expect(report.notes.join(' ')).toMatch(/You asked for the webgpu backend, but it is unavailable/);
    await tf.setBackend('cpu');
  });
});
