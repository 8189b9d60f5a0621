// Before a run starts: how much storage its checkpoints will take, whether that fits this browser's
// quota, and a request that the browser keep this site's data (asked once, when the first run of the
// page starts). The Training panel shows the result as the run's notice.
import { countParams, type RealmConfig } from '../model/config';
import { requestPersistentStorage, storageStatus, type StorageStatus } from '../storage/db';

/**
 * Bytes of one stored checkpoint: every parameter as float32, three times (the weights and AdamW's
 * first and second moments m and v), plus AdamW's step count per variable (negligible, ignored).
 */
export function checkpointBytes(config: RealmConfig): number {
  return countParams(config).total * 4 * 3;
}

export interface RunStoragePlan {
  /** One checkpoint, in bytes. */
  checkpointBytes: number;
  /** Retention keeps at most keep + 1 checkpoints; one more is written before the oldest goes. */
  neededBytes: number;
  /** Quota minus usage, or null when the browser does not say. */
  freeBytes: number | null;
  /** False when the run will not fit; null when the browser does not say. */
  fits: boolean | null;
  /** The answer to the request to keep this site's data; 'already' when it was granted before. */
  persistence: 'already' | 'granted' | 'denied' | 'unsupported' | 'not-asked';
}

/** The storage the browser reports and the persistence request (tests pass their own). */
export interface StorageApi {
  status(): Promise<StorageStatus>;
  persist(): Promise<'granted' | 'denied' | 'unsupported'>;
}

const BROWSER_STORAGE: StorageApi = { status: storageStatus, persist: requestPersistentStorage };

let persistenceAsked = false;

/**
 * The storage plan of a run that keeps `keep` checkpoints (plus its best), and, for the first run of
 * the page, the request that the browser keep this site's data under storage pressure.
 */
export async function planRunStorage(
  config: RealmConfig,
  keep: number,
  api: StorageApi = BROWSER_STORAGE,
): Promise<RunStoragePlan> {
  const one = checkpointBytes(config);
  const neededBytes = one * (keep + 2);
  let status = await api.status();
  let persistence: RunStoragePlan['persistence'] = 'not-asked';
  if (status.persisted) persistence = 'already';
  else if (!persistenceAsked) {
    persistenceAsked = true;
    persistence = await api.persist();
    if (persistence === 'granted') status = await api.status(); // the quota can grow with it
  }
  const freeBytes = status.known ? Math.max(0, status.quota! - status.usage!) : null;
  return {
    checkpointBytes: one,
    neededBytes,
    freeBytes,
    fits: freeBytes === null ? null : neededBytes <= freeBytes,
    persistence,
  };
}

/** For tests: forget that the persistence request was made. */
export function resetPersistenceRequest(): void {
  persistenceAsked = false;
}

const mib = (bytes: number) =>
  bytes >= 1024 ** 3
    ? `${(bytes / 1024 ** 3).toFixed(1)} GiB`
    : `${(bytes / 1024 ** 2).toFixed(bytes < 10 * 1024 ** 2 ? 1 : 0)} MiB`;

/** The notice the Training panel shows when a run starts; `warning` when the run will not fit. */
export function storagePlanNotice(plan: RunStoragePlan, keep: number): { message: string; warning: boolean } {
  const parts: string[] = [];
  if (plan.fits === false) {
    parts.push(
      `Storage warning: this run needs about ${mib(plan.neededBytes)} for its checkpoints (${keep} kept plus the best, ` +
        `${mib(plan.checkpointBytes)} each) but only ${mib(plan.freeBytes!)} is free in this browser. ` +
        'Delete old runs in the Runs panel, lower "Checkpoints kept", or pick a smaller preset, or the run stops when storage is full.',
    );
  } else {
    parts.push(
      `Each checkpoint takes about ${mib(plan.checkpointBytes)} (weights and AdamW's m and v); ` +
        `this run keeps at most ${keep + 1}` +
        (plan.freeBytes !== null ? `, with ${mib(plan.freeBytes)} free.` : '; the browser does not say how much space is free.'),
    );
  }
  if (plan.persistence === 'granted')
    parts.push("Persistent storage was requested and granted: the browser will not evict this site's data.");
  if (plan.persistence === 'denied')
    parts.push(
      'Persistent storage was requested and refused: the browser may evict stored runs under pressure; export the runs you want to keep.',
    );
  if (plan.persistence === 'unsupported')
    parts.push('This browser cannot keep site data persistently; export the runs you want to keep.');
  return { message: parts.join(' '), warning: plan.fits === false };
}
