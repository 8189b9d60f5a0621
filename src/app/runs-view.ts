// What the Runs panel shows of a stored run, computed without React: its config in a few words, a link
// that opens its config in the config panel, its loss curve thinned for a sparkline, its final metrics,
// the storage line, what an archive problem is called, and whether a run may be deleted. Stored runs
// are read defensively: an imported run may come from another version of the app.
import { makeConfig, PRESETS, type PresetName, type RealmConfig } from '../model/config';
import type { Progress } from '../model/progress';
import { ProgressMeter } from '../model/progress';
import type { RunLogRecord, StorageStatus } from '../storage/db';
import { formatAmount } from './progress-view';
import { formatMetric } from './chart-series';
import type { ImportResult, RunArchiveProblem } from './run-archive';
import { defaultValue, RUN_PARAMS } from './run-settings';

interface RunConfigView {
  /** 'tiny', 'small', 'base', or 'custom' when the model size matches no preset. */
  preset: PresetName | 'custom';
  /** "ICT 2 · MLM 20 · REALM 0" */
  phases: string;
  totalSteps: number | null;
  /** "async, every 2 steps" */
  refresh: string;
  /** Short facts: k, batch, seed, masking, checkpoint and evaluation cadence. */
  facts: { label: string; value: string; title: string }[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const objectOf = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** The model size that names a preset. */
const SIZE_FIELDS = ['hidden', 'layers', 'heads', 'intermediate', 'retrieverDim'] as const;

function presetOf(c: Record<string, unknown>): PresetName | 'custom' {
  return (Object.keys(PRESETS) as PresetName[]).find((p) => SIZE_FIELDS.every((key) => PRESETS[p][key] === c[key])) ?? 'custom';
}

/** Reads the settings stored in a run record (the run's RunSettings: config, policy, cadences). */
export function describeRunConfig(settings: Record<string, unknown>): RunConfigView {
  const c = objectOf(settings.config);
  const ict = num(c.ictSteps);
  const mlm = num(c.mlmSteps);
  const realm = num(c.realmSteps);
  const show = (v: number | null) => (v === null ? '?' : String(v));
  // The refresh policy is the run's (RunSettings.policy); records from before it was kept there carry it as config.refresh.
  const policy = str(settings.policy) ?? str(c.refresh) ?? '?';
  const every = num(c.refreshEvery);
  const facts: RunConfigView['facts'] = [];
  const fact = (label: string, v: unknown, title: string) => {
    if (v !== null && v !== undefined) facts.push({ label, value: String(v), title });
  };
  fact('k', num(c.k), 'Candidate documents per query, including the null document');
  fact('batch', num(c.batchSize), 'Queries per REALM and MLM step');
  fact('seed', num(c.seed), 'Seed of the run’s random numbers');
  fact('masking', str(c.masking), 'How REALM queries are masked');
  fact('hidden', num(c.hidden), 'Width of each encoder');
  fact('ckpt', num(settings.checkpointEvery), 'A checkpoint every this many steps');
  const evalEvery = num(settings.evalEvery);
  fact('eval', evalEvery === 0 ? 'end' : evalEvery, 'Held-out evaluation every this many steps (and at the end)');
  return {
    preset: presetOf(c),
    phases: `ICT ${show(ict)} · MLM ${show(mlm)} · REALM ${show(realm)}`,
    totalSteps: ict !== null && mlm !== null && realm !== null ? ict + mlm + realm : null,
    refresh: every === null ? policy : `${policy}, every ${every} step${every === 1 ? '' : 's'}`,
    facts,
  };
}

/**
 * The URL query that opens a stored run's settings in the config panel: the preset and every setting
 * that differs from it, other parameters of `currentSearch` (the backend) kept. `exact` is false when
 * the run has settings the URL cannot carry (another model size, dropout, ...): the link then sets
 * what it can. Null when the run's model size matches no preset.
 */
export function runConfigSearch(
  settings: Record<string, unknown>,
  currentSearch = '',
): { search: string; exact: boolean } | null {
  const c = objectOf(settings.config);
  const preset = presetOf(c);
  if (preset === 'custom') return null;
  const params = new URLSearchParams(currentSearch);
  params.delete('preset');
  for (const p of RUN_PARAMS) params.delete(p.key);
  params.set('preset', preset);
  const overrides: Record<string, unknown> = {};
  const start = settings.start === 'warm' ? 'warm' : 'cold';
  const stored: Record<string, unknown> = {
    start,
    refresh: settings.policy,
    ckpt: settings.checkpointEvery,
    eval: settings.evalEvery,
    keep: settings.keepCheckpoints,
  };
  for (const p of RUN_PARAMS) {
    const v = p.field ? c[p.field] : stored[p.key];
    if (typeof v !== 'number' && typeof v !== 'string') continue;
    if (p.field) overrides[p.field] = v;
    if (String(v) !== defaultValue(p, preset, start)) params.set(p.key, String(v));
  }
  let exact = true;
  try {
    // vocabSize comes from the corpus, not the URL; every other field must follow from the link.
    const rebuilt: RealmConfig = makeConfig(preset, {
      ...overrides,
      vocabSize: num(c.vocabSize) ?? PRESETS[preset].vocabSize,
    } as Partial<RealmConfig>);
    exact = (Object.keys(rebuilt) as (keyof RealmConfig)[]).every((k) => c[k] === undefined || c[k] === rebuilt[k]);
  } catch {
    exact = false;
  }
  return { search: `?${params.toString()}`, exact };
}

export interface LossPoint {
  step: number;
  loss: number;
  phase: string;
}

/**
 * The finite losses of the step records, one per step (a step logged twice, after a resume, keeps its
 * later record), in step order, thinned to at most `maxPoints` (keeping the first and the last).
 */
export function lossSeries(logs: RunLogRecord[], maxPoints = 120): LossPoint[] {
  const bySeq = [...logs].sort((a, b) => a.seq - b.seq);
  const byStep = new Map<number, LossPoint>();
  for (const l of bySeq) {
    if (l.kind !== 'step') continue;
    const step = num(l.record.step);
    const loss = num(l.record.loss);
    if (step !== null && loss !== null) byStep.set(step, { step, loss, phase: str(l.record.phase) ?? '' });
  }
  const points = [...byStep.values()].sort((a, b) => a.step - b.step);
  if (points.length <= maxPoints) return points;
  const stride = (points.length - 1) / (maxPoints - 1);
  const out: LossPoint[] = [];
  for (let i = 0; i < maxPoints; i++) out.push(points[Math.round(i * stride)]);
  return out;
}

/** The phases in training order; a phase this app does not know sorts last. */
const PHASE_ORDER = ['ict', 'mlm', 'realm'];

/**
 * uPlot's aligned data for a sparkline with one series per phase (their losses differ in kind: ICT's is
 * a retrieval loss, MLM's and REALM's are -log p(y|x)): x = steps, then per phase the loss at its own
 * steps and null elsewhere.
 */
export function sparklineData(series: LossPoint[]): { phases: string[]; data: [number[], ...(number | null)[][]] } {
  const rank = (p: string) => (PHASE_ORDER.includes(p) ? PHASE_ORDER.indexOf(p) : PHASE_ORDER.length);
  const phases = [...new Set(series.map((p) => p.phase))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const xs = series.map((p) => p.step);
  const ys = phases.map((phase) => series.map((p) => (p.phase === phase ? p.loss : null)));
  return { phases, data: [xs, ...ys] };
}

interface MetricView {
  key: string;
  label: string;
  value: string;
  title: string;
}

const METRICS: { key: string; label: string; percent: boolean; title: string }[] = [
  { key: 'loss', label: 'loss', percent: false, title: 'Training loss of the last logged step (its phase’s loss)' },
  {
    key: 'mlmAccuracy',
    label: 'MLM acc',
    percent: true,
    title: 'Share of masked tokens predicted right at the last logged step',
  },
  {
    key: 'clozeAccuracy',
    label: 'cloze acc',
    percent: true,
    title: 'Held-out cloze accuracy with retrieval, at the last evaluation',
  },
  {
    key: 'recallAt5',
    label: 'recall@5',
    percent: true,
    title: 'Share of held-out queries with a passage holding the answer among the top 5 retrieved, at the last evaluation',
  },
];

/** The run's final metrics as labelled values ('–' when missing or not a number). */
export function finalMetricsView(m: Record<string, number> | undefined): MetricView[] {
  return METRICS.map(({ key, label, percent, title }) => {
    const v = m?.[key];
    const value = formatMetric(v, percent ? [0, 1] : undefined);
    return { key, label, value, title };
  });
}

/** The storage line: "12.3 MB of 10.00 GB used (0.1%)", with the fraction for a meter (null when unknown). */
export function storageView(s: StorageStatus | null): { text: string; fraction: number | null; persisted: string } {
  const persisted =
    s?.persisted === true
      ? 'kept: the browser will not evict this site’s data'
      : s?.persisted === false
        ? 'best effort: the browser may evict this site’s data when the disk is short'
        : 'unknown';
  if (!s || !s.known || s.usage === null || s.quota === null)
    return { text: 'The browser does not say how much storage this site uses.', fraction: null, persisted };
  const fraction = s.quota > 0 ? Math.min(1, s.usage / s.quota) : null;
  const share = fraction === null ? '' : ` (${fraction < 0.001 && s.usage > 0 ? '<0.1' : (100 * fraction).toFixed(1)}%)`;
  return { text: `${formatAmount(s.usage, 'bytes')} of ${formatAmount(s.quota, 'bytes')} used${share}`, fraction, persisted };
}

/** A short title for each way a file can fail to import; the error's message says the details and what to do. */
export const ARCHIVE_PROBLEM_TITLES: Record<RunArchiveProblem, string> = {
  'not-a-zip': 'Not a zip file',
  foreign: 'Not a run exported by this app',
  'newer-version': 'Made by a newer version of this app',
  'missing-entry': 'Incomplete run archive',
  'corrupt-entry': 'Damaged run archive',
  'too-large': 'Too large to import',
};

/** The run open in the Training panel, as far as deleting is concerned. */
export interface PageRun {
  runId: string;
  status: string;
}

/**
 * Whether a stored run may be deleted: not the run open in the Training panel while it can still take
 * steps (running, or paused and resumable), since it would write its record again without its history.
 */
export function deleteBlock(runId: string, pageRun: PageRun | null): string | null {
  if (!pageRun || pageRun.runId !== runId) return null;
  if (pageRun.status === 'running') return 'This run is training in this page: stop it in the Training panel first.';
  if (pageRun.status === 'paused' || pageRun.status === 'idle')
    return 'This run is open in the Training panel and can resume: stop it there first.';
  return null;
}

/** "2026-11-24 14:05" in local time. */
export function formatWhen(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** Reads a file (or any Blob) into memory chunk by chunk, reporting the bytes read. */
export async function readBlob(blob: Blob, onProgress: (p: Progress) => void, task = 'read'): Promise<Uint8Array> {
  const meter = new ProgressMeter(task, 'bytes', blob.size);
  const out = new Uint8Array(blob.size);
  const reader = blob.stream().getReader();
  let done = 0;
  onProgress(meter.at(0));
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    if (done + r.value.byteLength > out.byteLength) throw new Error('The file grew while it was read; pick it again.');
    out.set(r.value, done);
    done += r.value.byteLength;
    onProgress(meter.at(done));
  }
  if (done !== out.byteLength) throw new Error('The file changed while it was read; pick it again.');
  return out;
}

/**
 * The status to show for a stored run. The run open in this page shows its live status. A stored
 * 'running' run that no page is training is either done (all its steps taken: the record was saved
 * just before the last status change) or interrupted (its tab closed; it resumes from its checkpoint).
 */
export function shownStatus(
  run: { id: string; status: string; step: number },
  totalSteps: number | null,
  pageRun: PageRun | null,
): string {
  if (pageRun && pageRun.runId === run.id && pageRun.status !== 'idle') return pageRun.status;
  if (run.status !== 'running') return run.status;
  return totalSteps !== null && run.step >= totalSteps ? 'done' : 'interrupted';
}

/** What an import stored, and what the user must know before resuming it ('warn' when its corpus is missing or differs). */
export function describeImport(r: ImportResult, file: string): { kind: 'ok' | 'warn'; text: string } {
  const parts = [
    `Imported ${file} as run ${r.runId}${r.renamedFrom ? ` (a copy of ${r.renamedFrom})` : ''}: step ${r.step}, ` +
      (r.checkpointStep !== null ? `with its checkpoint at step ${r.checkpointStep}` : 'without a checkpoint') +
      (r.finetuneStep !== null
        ? ` and its Open-QA fine-tuned reader (${r.finetuneStep} steps; the Ask panel answers with it).`
        : '.'),
  ];
  if (!r.corpusPresent)
    parts.push(
      `Its corpus (${r.corpusId}) is not in this browser: you can look at the run and export it, but resuming it needs that corpus.`,
    );
  if (r.vocabMatches === false)
    parts.push(
      `The corpus ${r.corpusId} here has another vocabulary than the one the run was trained with, so its checkpoint does not fit this corpus.`,
    );
  return { kind: parts.length > 1 ? 'warn' : 'ok', text: parts.join(' ') };
}
