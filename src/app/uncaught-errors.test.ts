// Uncaught errors and unhandled rejections reach the header notice with their message.
import { describe, expect, it } from 'vitest';
import { watchUncaughtErrors } from './uncaught-errors';

describe('watchUncaughtErrors', () => {
  it('unhandled rejection and uncaught error: the message is passed on; a load error of an element is not', () => {
    const target = new EventTarget();
    const seen: string[] = [];
    const stop = watchUncaughtErrors(target, (m) => seen.push(m));
    const quota = Object.assign(new Error('Browser storage is full while saving run logs.'), { name: 'StorageFullError' });
    target.dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: quota }));
    target.dispatchEvent(
      Object.assign(new Event('error'), {
        message: 'Uncaught TypeError: x is undefined',
        error: new TypeError('x is undefined'),
      }),
    );
    target.dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: 'plain text' }));
    target.dispatchEvent(new Event('error')); // an <img> that failed to load: no message, no error
    expect(seen).toEqual([
      'Unexpected error (a task failed and nothing handled it): StorageFullError: Browser storage is full while saving run logs.',
      'Unexpected error: TypeError: x is undefined',
      'Unexpected error (a task failed and nothing handled it): plain text',
    ]);
    stop();
    target.dispatchEvent(Object.assign(new Event('unhandledrejection'), { reason: 'after stop' }));
    expect(seen).toHaveLength(3);
  });
});
