// Which bundled corpus the app loads on first start (`?bundle=`).
import { describe, expect, it } from 'vitest';
import { BUNDLED, firstStartBundle } from './corpus-controller';

describe('firstStartBundle', () => {
  it('loads the tiny corpus unless the link names another bundled one', () => {
    expect(firstStartBundle(new URLSearchParams(''))).toEqual({ name: 'tiny' });
    for (const name of Object.keys(BUNDLED)) expect(firstStartBundle(new URLSearchParams(`bundle=${name}`))).toEqual({ name });
  });

  it('falls back to tiny with a warning on an unknown name', () => {
    const r = firstStartBundle(new URLSearchParams('bundle=huge'));
    expect(r.name).toBe('tiny');
    expect(r.warning).toContain('Ignored bundle=huge');
    expect(firstStartBundle(new URLSearchParams('bundle=constructor')).name).toBe('tiny');
  });
});
