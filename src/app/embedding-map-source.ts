// What the Embedding map panel asks for: the map of an index version (its vectors read from storage,
// projected with PCA), the pinned query's point on it, and passage titles. The panel draws.
import type { RealmQuery } from '../corpus/data';
import { buildEmbeddingMap, explainedRatio, projectVector, queryEmbedding, type EmbeddingMap } from '../model/embedding-map';
import type { PretrainingRun } from './pretraining-run';
import type { Runtime } from './runtime';

/** A normal wait, not a failure: the index in use has not reached storage yet (the builder writes it after the swap). */
export class IndexNotStoredYet extends Error {
  constructor(readonly version: number) {
    super(`Waiting for index v${version} to reach this browser's storage; the map follows in a moment.`);
    this.name = 'IndexNotStoredYet';
  }
}

/**
 * The map of index version `v` of the page's run: its stored vectors (or the latest stored ones of
 * this run), projected on two principal axes whose signs follow `prev`. Versions restart with each
 * run, so only this run's vectors are its index.
 */
export async function mapOfIndex(rt: Runtime, run: PretrainingRun, v: number, prev: EmbeddingMap | null): Promise<EmbeddingMap> {
  const { corpusId, runId } = run.settings;
  const stored = (await rt.store.getEmbeddings(corpusId, runId, v)) ?? (await rt.store.latestEmbeddings(corpusId, runId));
  if (!stored) throw new IndexNotStoredYet(v);
  return buildEmbeddingMap(stored.version, stored.vectors, stored.count, stored.dim, prev);
}

/** Where the query lands on the map: Embed_input(x) under the run's current θ, on the map's axes (null when the map is of another width). */
export async function queryMapPoint(run: PretrainingRun, query: RealmQuery, map: EmbeddingMap): Promise<[number, number] | null> {
  const v = await queryEmbedding(run.realmTrainer.model, query);
  return v.length === map.pca.dim ? projectVector(map.pca, v) : null;
}

/** Share of the variance along the map's two axes. */
export const mapExplained = (map: EmbeddingMap): [number, number] => explainedRatio(map.pca);

/** The title of passage `row` of a corpus (text only), or undefined. */
export async function passageTitle(rt: Runtime, corpusId: string, row: number): Promise<string | undefined> {
  const [c] = await rt.store.getChunks(corpusId, row, 1);
  return c?.title;
}
