// Which bundled corpus the app loads on first start (`?bundle=`), and how an ignored one is reported.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { RealmStore } from '../storage/db';
import { BUNDLED, CorpusController, firstStartBundle } from './corpus-controller';

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

describe('CorpusController.start', () => {
  it('reports an ignored bundle as a notice, not an error, and keeps the stored corpus', async () => {
    const store = await RealmStore.open('corpus-controller-notice');
    await store.putCorpus({ id: 'c1', name: 'Stored', source: 'import:stored.jsonl', status: 'ready', createdAt: 1, stats: {} });
    await store.setActiveCorpus('c1');
    const controller = new CorpusController(store, {
      appBase: 'http://localhost/',
      firstBundle: firstStartBundle(new URLSearchParams('bundle=huge')),
    });
    await controller.start();
    const s = controller.state.getState();
    expect(s.notice).toContain('Ignored bundle=huge');
    expect(s.error).toBeNull();
    expect(s.corpora.map((c) => c.id)).toEqual(['c1']);
    expect(s.activeId).toBe('c1');
    store.close();
  });
});
