// The worker watchdog: an `error` or `messageerror` at any time, or silence during a job, declares the
// worker dead, terminates it and fails the job with WorkerStoppedError instead of leaving it hanging.
import { describe, expect, it } from 'vitest';
import { WorkerStoppedError, WorkerWatchdog } from './worker-watchdog';

/** A stand-in for a Worker: events are dispatched by the test; `answers` says whether pings are answered. */
class FakeWorker extends EventTarget {
  terminated = 0;
  answers = true;
  pings = 0;
  terminate(): void {
    this.terminated++;
  }
  ping = (): Promise<string> => {
    this.pings++;
    return this.answers ? Promise.resolve('pong') : new Promise<string>(() => {});
  };
}

const times = { silenceMs: 120, pingEveryMs: 20 };
const never = () => new Promise<never>(() => {});
const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));

describe('WorkerWatchdog', () => {
  it('worker error event mid-job: the job fails with a clear message, the worker is terminated', async () => {
    const w = new FakeWorker();
    const dog = new WorkerWatchdog(w, 'corpus importer', w.ping, times);
    const job = dog.watch(never());
    w.dispatchEvent(Object.assign(new Event('error'), { message: 'Uncaught RangeError: out of memory' }));
    await expect(job).rejects.toBeInstanceOf(WorkerStoppedError);
    await expect(job).rejects.toThrow(/corpus importer worker stopped \(it failed with an uncaught error: Uncaught RangeError/);
    expect(w.terminated).toBe(1);
    expect(await dog.died).toMatch(/uncaught error/);
    // A dead worker takes no new job: it fails at once instead of hanging.
    await expect(dog.watch(never())).rejects.toThrow(/worker stopped/);
  });

  it('worker messageerror mid-job: the job fails, the worker is terminated', async () => {
    const w = new FakeWorker();
    const dog = new WorkerWatchdog(w, 'index-builder', w.ping, times);
    const job = dog.watch(never());
    w.dispatchEvent(new Event('messageerror'));
    await expect(job).rejects.toThrow(/index-builder worker stopped \(a message from it could not be read\)/);
    expect(w.terminated).toBe(1);
  });

  it('worker silent mid-job (killed without an event): the job fails after the silence timeout', async () => {
    const w = new FakeWorker();
    w.answers = false;
    const dog = new WorkerWatchdog(w, 'corpus importer', w.ping, times);
    const t0 = Date.now();
    const job = dog.watch(never());
    await expect(job).rejects.toThrow(/no sign of life for 0\.\d s during a job/);
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(times.silenceMs);
    expect(waited).toBeLessThan(times.silenceMs + 400);
    expect(w.terminated).toBe(1);
  });

  it('a job longer than the timeout lives while the worker answers pings or reports progress', async () => {
    const w = new FakeWorker();
    const dog = new WorkerWatchdog(w, 'index-builder', w.ping, times);
    expect(await dog.watch(after(400, 'built'))).toBe('built');
    expect(w.pings).toBeGreaterThan(5);
    // No answers, but progress reports keep coming: alive as well.
    w.answers = false;
    const progress = setInterval(() => dog.alive(), 30);
    expect(await dog.watch(after(400, 'again'))).toBe('again');
    clearInterval(progress);
    expect(w.terminated).toBe(0);
    expect(dog.deadReason).toBeNull();
  });

  it('does not ping an idle worker, and an error while idle fails the next job at once', async () => {
    const w = new FakeWorker();
    w.answers = false;
    const dog = new WorkerWatchdog(w, 'corpus importer', w.ping, times);
    await after(200, null);
    expect(w.pings).toBe(0);
    expect(dog.deadReason).toBeNull(); // silence while idle is not death
    w.dispatchEvent(new Event('error'));
    await expect(dog.watch(Promise.resolve(1))).rejects.toThrow(/failed with an uncaught error\)/);
  });

  it('stop(): the owner ends the worker on purpose, nothing is declared', async () => {
    const w = new FakeWorker();
    const dog = new WorkerWatchdog(w, 'corpus importer', w.ping, times);
    dog.stop();
    w.dispatchEvent(new Event('error'));
    expect(dog.deadReason).toBeNull();
    expect(w.terminated).toBe(0);
  });
});
