// The corpus side of the app, outside React: which corpora are stored, which one is active, the
// running import (bundled or a user's file) with its progress, and the last import's report. The
// CorpusPanel renders this state; the test hook reads it. One controller per storage connection.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BadRecord } from '../corpus/corpus-parse';
import type { Progress } from '../model/progress';
import type { CorpusRecord, RealmStore } from '../storage/db';
import { importCorpusId, type ImportOutcome } from '../workers/corpus-importer';
import { startCorpusImporter, type CorpusImporterHandle } from '../workers/corpus-importer-client';
import { WorkerStoppedError } from '../workers/worker-watchdog';

type BundledCorpusName = 'micro' | 'tiny' | 'default';

/** The corpora shipped in public/corpus/. */
export const BUNDLED: Record<BundledCorpusName, { corpusId: string; dir: string; name: string }> = {
  micro: { corpusId: 'bundled:micro', dir: 'corpus/micro/', name: 'Bundled micro corpus' },
  tiny: { corpusId: 'bundled:tiny', dir: 'corpus/tiny/', name: 'Bundled tiny corpus' },
  default: { corpusId: 'bundled:default', dir: 'corpus/default/', name: 'Bundled default corpus' },
};

/**
 * The bundled corpus loaded on first start: `?bundle=micro|tiny|default` (tiny when absent). An
 * unknown value falls back to tiny with a warning.
 */
export function firstStartBundle(params: URLSearchParams): { name: BundledCorpusName; warning?: string } {
  const raw = params.get('bundle');
  if (raw === null) return { name: 'tiny' };
  if (Object.hasOwn(BUNDLED, raw)) return { name: raw as BundledCorpusName };
  return {
    name: 'tiny',
    warning: `Ignored bundle=${raw}: use one of ${Object.keys(BUNDLED).join(', ')} (a first start loads the tiny corpus).`,
  };
}

interface CorpusJob {
  jobId: string;
  kind: 'import' | 'bundled';
  /** What is being loaded, e.g. the file name. */
  label: string;
  progress: Progress | null;
  cancelling: boolean;
}

export interface CorpusReport {
  label: string;
  status: ImportOutcome['status'];
  message?: string;
  corpusId?: string;
  passages?: number;
  bad: BadRecord[];
  badCount: number;
}

interface CorpusState {
  /** Ready corpora, bundled first, then by creation time. */
  corpora: CorpusRecord[];
  activeId: string | null;
  job: CorpusJob | null;
  /** The last finished, cancelled or failed import. */
  report: CorpusReport | null;
  /** A problem outside an import (storage, the importer could not start). */
  error: string | null;
  /** Not a failure: something the page's link asked for was ignored (an unknown `?bundle=`). */
  notice: string | null;
  importerMode: CorpusImporterHandle['mode'] | null;
  importerNote: string | null;
  started: boolean;
}

/** A staging corpus nobody wrote to for this long is a leftover of a closed tab. */
const STALE_STAGING_MS = 2 * 60_000;

function sortCorpora(list: CorpusRecord[]): CorpusRecord[] {
  const order = [BUNDLED.default.corpusId, BUNDLED.tiny.corpusId, BUNDLED.micro.corpusId];
  const rank = (c: CorpusRecord) => {
    const i = order.indexOf(c.id);
    return i < 0 ? order.length : i; // other corpora after the bundled ones
  };
  return list.filter((c) => c.status === 'ready').sort((a, b) => rank(a) - rank(b) || a.createdAt - b.createdAt);
}

export class CorpusController {
  readonly state: StoreApi<CorpusState>;
  private importer: Promise<CorpusImporterHandle> | null = null;
  private starting: Promise<void> | null = null;

  constructor(
    private readonly store: RealmStore,
    private readonly opts: { appBase: string; forceMainThread?: boolean; firstBundle?: ReturnType<typeof firstStartBundle> },
  ) {
    this.state = createStore<CorpusState>(() => ({
      corpora: [],
      activeId: null,
      job: null,
      report: null,
      error: null,
      notice: null,
      importerMode: null,
      importerNote: null,
      started: false,
    }));
  }

  private set(patch: Partial<CorpusState>): void {
    this.state.setState(patch);
  }

  /** Once per page: drops leftovers of interrupted imports, lists corpora, loads a bundled corpus (tiny unless `?bundle=`) on first start. */
  start(): Promise<void> {
    this.starting ??= (async () => {
      try {
        await this.store.deleteStaleStaging(STALE_STAGING_MS);
        await this.refresh();
        const first = this.opts.firstBundle ?? { name: 'tiny' };
        this.set({ started: true, notice: first.warning ?? null });
        if (this.state.getState().corpora.length === 0) await this.installBundled(first.name);
      } catch (e) {
        this.set({ error: (e as Error).message, started: true });
      }
    })();
    return this.starting;
  }

  async refresh(): Promise<void> {
    const [all, activeId] = await Promise.all([this.store.listCorpora(), this.store.activeCorpusId()]);
    this.set({ corpora: sortCorpora(all), activeId: activeId ?? null });
  }

  /** The importer; a new one when the last one's worker died (the watchdog declared it dead). */
  private async importerHandle(): Promise<CorpusImporterHandle> {
    const current = this.importer;
    if (current) {
      const h = await current.catch(() => null);
      if (h && !h.dead) return h;
      if (this.importer === current) this.importer = null;
    }
    this.importer ??= startCorpusImporter({ forceMainThread: this.opts.forceMainThread }).then((h) => {
      this.set({ importerMode: h.mode, importerNote: h.fallbackReason ?? null });
      return h;
    });
    return this.importer;
  }

  /** Loads a bundled corpus (the default one is made active; tiny and micro only when nothing is). */
  installBundled(which: BundledCorpusName): Promise<ImportOutcome | null> {
    const b = BUNDLED[which];
    return this.runJob('bundled', b.name, b.corpusId, (h, jobId, onProgress) =>
      h.installBundled(
        {
          jobId,
          corpusId: b.corpusId,
          name: b.name,
          baseUrl: new URL(b.dir, this.opts.appBase).href,
          activate: which === 'default' ? true : 'if-none',
        },
        onProgress,
      ),
    );
  }

  /** Imports a user's file as a new corpus, which becomes the active one when it is ready. */
  importFile(file: File): Promise<ImportOutcome | null> {
    const corpusId = importCorpusId(file.name);
    return this.runJob('import', file.name, corpusId, (h, jobId, onProgress) =>
      h.importFile(file, { jobId, corpusId, fileName: file.name }, onProgress),
    );
  }

  private async runJob(
    kind: CorpusJob['kind'],
    label: string,
    /** The corpus the job writes (as 'staging' until it is done). */
    corpusId: string,
    go: (h: CorpusImporterHandle, jobId: string, onProgress: (p: Progress) => void) => Promise<ImportOutcome>,
  ): Promise<ImportOutcome | null> {
    if (this.state.getState().job) {
      this.set({ error: 'An import is already running. Wait for it to finish, or cancel it, then try again.' });
      return null;
    }
    const jobId = crypto.randomUUID();
    this.set({ job: { jobId, kind, label, progress: null, cancelling: false }, error: null });
    const onProgress = (progress: Progress) => {
      const job = this.state.getState().job;
      if (job?.jobId === jobId) this.set({ job: { ...job, progress } });
    };
    let outcome: ImportOutcome | null = null;
    try {
      outcome = await go(await this.importerHandle(), jobId, onProgress);
      const report: CorpusReport = { label, status: outcome.status, bad: outcome.bad, badCount: outcome.badCount };
      if (outcome.status === 'done') {
        report.corpusId = outcome.corpus.id;
        report.passages = outcome.corpus.stats.chunks;
      } else if (outcome.status === 'failed') report.message = `${outcome.error.name}: ${outcome.error.message}`;
      this.set({ report });
    } catch (e) {
      let message = (e as Error).message;
      if (e instanceof WorkerStoppedError) {
        // The worker is gone mid-import: its staging corpus is a leftover (never a ready corpus).
        const cleaned = await this.deleteStaging(corpusId);
        message =
          `${e.message} The import was abandoned` +
          (cleaned ? ' and its partial data deleted' : '') +
          '. Import the file again: a new worker starts for it.';
      }
      this.set({ report: { label, status: 'failed', message, bad: [], badCount: 0 } });
    } finally {
      this.set({ job: null });
      await this.refresh().catch(() => {});
    }
    return outcome;
  }

  /** Deletes corpus `corpusId` if it is a staging leftover; says whether it did. */
  private async deleteStaging(corpusId: string): Promise<boolean> {
    try {
      if ((await this.store.getCorpus(corpusId))?.status !== 'staging') return false;
      await this.store.deleteCorpus(corpusId);
      return true;
    } catch {
      return false; // deleted at the next start (deleteStaleStaging)
    }
  }

  /** Stops the running import; the corpora stored before it stay as they were. */
  async cancel(): Promise<void> {
    const job = this.state.getState().job;
    if (!job || job.cancelling || !this.importer) return;
    this.set({ job: { ...job, cancelling: true } });
    await (await this.importer).cancel(job.jobId).catch(() => {});
  }

  /** Test hook: the importer's worker ends without a word (as a browser kill); false when none runs. */
  async killImporterSilently(): Promise<boolean> {
    const h = await this.importer?.catch(() => null);
    if (!h || h.mode !== 'worker') return false;
    h.killSilently();
    return true;
  }

  async setActive(corpusId: string): Promise<void> {
    try {
      await this.store.setActiveCorpus(corpusId);
      this.set({ error: null });
    } catch (e) {
      this.set({ error: (e as Error).message });
    }
    await this.refresh();
  }

  /** Runs stored for this corpus that are not finished (a warning before deleting it). */
  async unfinishedRunsUsing(corpusId: string): Promise<number> {
    const runs = await this.store.listRuns();
    return runs.filter((r) => r.corpusId === corpusId && (r.status === 'running' || r.status === 'paused')).length;
  }

  /** Deletes a corpus; when it was the active one, the default (or the first remaining) becomes active. */
  async deleteCorpus(corpusId: string): Promise<void> {
    try {
      await this.store.deleteCorpus(corpusId);
      await this.refresh();
      const { activeId, corpora } = this.state.getState();
      if (!activeId && corpora.length > 0) await this.store.setActiveCorpus(corpora[0].id);
      this.set({ error: null });
    } catch (e) {
      this.set({ error: (e as Error).message });
    }
    await this.refresh();
  }
}

const controllers = new WeakMap<RealmStore, CorpusController>();

/** The one controller for this storage connection. */
export function corpusControllerFor(store: RealmStore): CorpusController {
  let c = controllers.get(store);
  if (!c) {
    const params = new URLSearchParams(globalThis.location?.search ?? '');
    c = new CorpusController(store, {
      appBase: globalThis.document?.baseURI ?? 'http://localhost/',
      forceMainThread: params.get('worker') === 'off',
      firstBundle: firstStartBundle(params),
    });
    controllers.set(store, c);
  }
  return c;
}
