// Test helpers (no production code imports this): injects storage faults into the IndexedDB
// implementation under test (fake-indexeddb in Node, the browser's own in e2e), and fingerprints a
// database so a test can show that a failed write lost or changed no stored record.
import type { RealmStore } from '../storage/db';

type Method = 'put' | 'add' | 'delete';

/**
 * Until the returned function is called, `method` on object store `storeName` (every store when
 * omitted) throws a QuotaExceededError as a full disk does; `after` lets that many calls through first.
 */
export function injectQuotaExceeded(method: Method, storeName?: string, after = 0): () => void {
  const proto = (globalThis as unknown as { IDBObjectStore: { prototype: Record<Method, (...a: unknown[]) => unknown> } })
    .IDBObjectStore.prototype;
  const original = proto[method];
  let calls = 0;
  proto[method] = function (this: { name: string }, ...args: unknown[]) {
    if ((storeName === undefined || this.name === storeName) && calls++ >= after) {
      throw new DOMException(`injected: the quota of this origin is exceeded (${method} on ${this.name})`, 'QuotaExceededError');
    }
    return original.apply(this, args);
  };
  return () => {
    proto[method] = original;
  };
}

const STORES = ['corpora', 'chunks', 'vocabs', 'embeddings', 'checkpoints', 'runs', 'runLogs', 'settings'] as const;

/** Every store's record count and keys: equal fingerprints mean no record was added, lost or re-keyed. */
export async function storeFingerprint(store: RealmStore): Promise<Record<string, { count: number; keys: string }>> {
  const out: Record<string, { count: number; keys: string }> = {};
  for (const name of STORES) {
    const keys = await store.db.getAllKeys(name);
    out[name] = { count: keys.length, keys: JSON.stringify(keys) };
  }
  return out;
}
