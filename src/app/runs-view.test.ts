import { describe, expect, it } from 'vitest';
import { makeConfig } from '../model/config';
import type { RunLogRecord } from '../storage/db';
import { RUN_ARCHIVE_VERSION } from './run-archive';
import { runSettingsFromUrl } from './run-settings';
import {
  ARCHIVE_PROBLEM_TITLES,
  deleteBlock,
  describeImport,
  describeRunConfig,
  finalMetricsView,
  formatWhen,
  lossSeries,
  readBlob,
  runConfigSearch,
  shownStatus,
  sparklineData,
  storageView,
} from './runs-view';

/** The settings a run stores (RunSettings), as the Training panel makes them from a URL. */
function settingsFrom(search: string): Record<string, unknown> {
  const s = runSettingsFromUrl(search);
  return {
    runId: 'run-x',
    corpusId: 'bundled:tiny',
    config: { ...s.config, vocabSize: 1234 },
    policy: s.policy,
    checkpointEvery: s.checkpointEvery,
    evalEvery: s.evalEvery,
  };
}

const TINY_URL = '?backend=webgpu&preset=tiny&ict=2&mlm=2&realm=8&refresh=async&every=2&ckpt=2&eval=4&batch=2&seed=3';

function stepLog(seq: number, step: number, loss: number, phase = 'mlm'): RunLogRecord {
  return { runId: 'r', seq, kind: 'step', record: { step, loss, phase } };
}

describe('describeRunConfig', () => {
  it('says the preset, the phases, the refresh and the main facts of a stored run', () => {
    const v = describeRunConfig(settingsFrom(TINY_URL));
    expect(v.preset).toBe('tiny');
    expect(v.phases).toBe('ICT 2 · MLM 2 · REALM 8');
    expect(v.totalSteps).toBe(12);
    expect(v.refresh).toBe('async, every 2 steps');
    const facts = Object.fromEntries(v.facts.map((f) => [f.label, f.value]));
    expect(facts).toEqual({ k: '4', batch: '2', seed: '3', masking: 'salient', hidden: '32', ckpt: '2', eval: '4' });
    expect(v.facts.every((f) => f.title.length > 10)).toBe(true);
  });

  it('names the small preset, and calls another model size custom', () => {
    expect(describeRunConfig(settingsFrom('?preset=small')).preset).toBe('small');
    const s = settingsFrom('?preset=small');
    (s.config as Record<string, unknown>).layers = 3;
    expect(describeRunConfig(s).preset).toBe('custom');
  });

  it('reads an older record whose config still carries the refresh policy (config.refresh)', () => {
    const s = settingsFrom(TINY_URL);
    const old = { ...s, policy: undefined, config: { ...(s.config as Record<string, unknown>), refresh: 'sync' } };
    expect(describeRunConfig(old).refresh).toBe('sync, every 2 steps');
    expect(describeRunConfig({ ...old, policy: 'frozen' }).refresh).toBe('frozen, every 2 steps');
  });

  it('reads a damaged or foreign record without throwing', () => {
    const v = describeRunConfig({ config: { ictSteps: 'x', refreshEvery: 1 }, policy: 7, evalEvery: 0 });
    expect(v).toMatchObject({
      preset: 'custom',
      phases: 'ICT ? · MLM ? · REALM ?',
      totalSteps: null,
      refresh: '?, every 1 step',
    });
    expect(v.facts).toEqual([{ label: 'eval', value: 'end', title: expect.any(String) }]);
    expect(describeRunConfig({ config: null }).facts).toEqual([]);
  });
});

describe('runConfigSearch', () => {
  it('gives a link whose settings are the run’s own, keeping the backend', () => {
    const settings = settingsFrom(TINY_URL);
    const link = runConfigSearch(settings, '?backend=wasm&ict=99&preset=small');
    expect(link).not.toBeNull();
    expect(link!.exact).toBe(true);
    const params = new URLSearchParams(link!.search);
    expect(params.get('backend')).toBe('wasm');
    // Read back the way the Training panel reads a URL: the same config, policy and cadences.
    const back = runSettingsFromUrl(link!.search);
    expect(back.warnings).toEqual([]);
    expect({ ...back.config, vocabSize: 1234 }).toEqual(settings.config);
    expect([back.policy, back.checkpointEvery, back.evalEvery]).toEqual(['async', 2, 4]);
    // Settings equal to the preset's are left out, so the link stays short.
    expect(params.has('k')).toBe(false);
    expect(params.get('ict')).toBe('2');
  });

  it('says when the link cannot carry every setting, and gives none for another model size', () => {
    const s = settingsFrom('?preset=tiny&k=5');
    (s.config as Record<string, unknown>).dropout = 0.3;
    const link = runConfigSearch(s);
    expect(link!.exact).toBe(false);
    expect(new URLSearchParams(link!.search).get('k')).toBe('5');
    (s.config as Record<string, unknown>).hidden = 48;
    expect(runConfigSearch(s)).toBeNull();
  });

  it('matches the preset config exactly for a run with no overrides', () => {
    const settings = { config: makeConfig('small'), policy: 'async', checkpointEvery: 20, evalEvery: 0 };
    expect(runConfigSearch(settings)).toEqual({ search: '?preset=small', exact: true });
  });
});

describe('lossSeries and sparklineData', () => {
  it('keeps finite step losses in step order, the later record of a step logged twice', () => {
    const logs: RunLogRecord[] = [
      stepLog(3, 3, 2.5),
      stepLog(0, 1, 4, 'ict'),
      { runId: 'r', seq: 1, kind: 'eval', record: { step: 2, loss: 99 } },
      stepLog(2, 2, NaN),
      stepLog(4, 2, 3.25), // step 2 again, after a resume
      { runId: 'r', seq: 5, kind: 'step', record: { step: '4', loss: 1 } },
    ];
    expect(lossSeries(logs)).toEqual([
      { step: 1, loss: 4, phase: 'ict' },
      { step: 2, loss: 3.25, phase: 'mlm' },
      { step: 3, loss: 2.5, phase: 'mlm' },
    ]);
  });

  it('thins a long curve evenly, keeping the first and last step', () => {
    const logs = Array.from({ length: 1000 }, (_, i) => stepLog(i, i + 1, 1000 - i));
    const s = lossSeries(logs, 100);
    expect(s).toHaveLength(100);
    expect(s[0].step).toBe(1);
    expect(s.at(-1)!.step).toBe(1000);
    const gaps = s.slice(1).map((p, i) => p.step - s[i].step);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(11);
    // Every kept point is a real one.
    for (const p of s) expect(p.loss).toBe(1000 - (p.step - 1));
  });

  it('splits the curve into one series per phase, in training order', () => {
    const series = [
      { step: 1, loss: 5, phase: 'realm' },
      { step: 2, loss: 4, phase: 'ict' },
      { step: 3, loss: 3, phase: 'mlm' },
      { step: 4, loss: 2, phase: 'ict' },
    ];
    const { phases, data } = sparklineData(series);
    expect(phases).toEqual(['ict', 'mlm', 'realm']);
    expect(data).toEqual([
      [1, 2, 3, 4],
      [null, 4, null, 2],
      [null, null, 3, null],
      [5, null, null, null],
    ]);
    expect(sparklineData([])).toEqual({ phases: [], data: [[]] });
  });
});

describe('final metrics, storage, deleting, archive problems', () => {
  it('formats the final metrics, with a dash for what is missing', () => {
    const v = finalMetricsView({ loss: 4.12345, mlmAccuracy: 0.125, clozeAccuracy: NaN });
    expect(v.map((m) => [m.label, m.value])).toEqual([
      ['loss', '4.12'],
      ['MLM acc', '12.5%'],
      ['cloze acc', '–'],
      ['recall@5', '–'],
    ]);
    expect(finalMetricsView(undefined).every((m) => m.value === '–')).toBe(true);
  });

  it('describes storage use and quota, and says when the browser does not tell', () => {
    const v = storageView({ known: true, usage: 12_300_000, quota: 10_000_000_000, persisted: false });
    expect(v.text).toBe('12.3 MB of 10.00 GB used (0.1%)');
    expect(v.fraction).toBeCloseTo(0.00123, 8);
    expect(v.persisted).toMatch(/may evict/);
    expect(storageView({ known: true, usage: 5000, quota: 10_000_000_000, persisted: true })).toMatchObject({
      text: '5 KB of 10.00 GB used (<0.1%)',
      persisted: expect.stringMatching(/will not evict/),
    });
    expect(storageView({ known: false, usage: null, quota: null, persisted: null })).toMatchObject({
      fraction: null,
      persisted: 'unknown',
    });
    expect(storageView(null).text).toMatch(/does not say/);
  });

  it('never lets the run that can still train in this page be deleted', () => {
    expect(deleteBlock('a', null)).toBeNull();
    expect(deleteBlock('a', { runId: 'b', status: 'running' })).toBeNull();
    expect(deleteBlock('a', { runId: 'a', status: 'running' })).toMatch(/stop it/);
    expect(deleteBlock('a', { runId: 'a', status: 'paused' })).toMatch(/stop it/);
    for (const status of ['stopped', 'done', 'failed']) expect(deleteBlock('a', { runId: 'a', status })).toBeNull();
  });

  it('shows the live status of the page’s run, and tells a finished or interrupted stored run apart', () => {
    const run = { id: 'a', status: 'running', step: 12 };
    expect(shownStatus(run, 12, { runId: 'a', status: 'running' })).toBe('running');
    expect(shownStatus(run, 12, { runId: 'b', status: 'running' })).toBe('done');
    expect(shownStatus({ ...run, step: 5 }, 12, null)).toBe('interrupted');
    expect(shownStatus({ ...run, step: 5 }, null, null)).toBe('interrupted');
    expect(shownStatus({ ...run, status: 'stopped', step: 5 }, 12, null)).toBe('stopped');
    expect(shownStatus({ ...run, status: 'paused', step: 5 }, 12, { runId: 'a', status: 'idle' })).toBe('paused');
  });

  it('says what an import stored, and warns when the run cannot resume here', () => {
    const ok = {
      runId: 'r1',
      renamedFrom: null,
      corpusId: 'bundled:tiny',
      corpusPresent: true,
      vocabMatches: true,
      step: 3,
      checkpointStep: 3,
      finetuneStep: null,
    };
    expect(describeImport(ok, 'r1.realm.zip')).toEqual({
      kind: 'ok',
      text: 'Imported r1.realm.zip as run r1: step 3, with its checkpoint at step 3.',
    });
    expect(describeImport({ ...ok, finetuneStep: 40 }, 'r1.realm.zip').text).toBe(
      'Imported r1.realm.zip as run r1: step 3, with its checkpoint at step 3 and its Open-QA fine-tuned reader (40 steps; the Ask panel answers with it).',
    );
    const copy = describeImport({ ...ok, runId: 'r1-copy', renamedFrom: 'r1', checkpointStep: null }, 'f.zip');
    expect(copy).toEqual({ kind: 'ok', text: 'Imported f.zip as run r1-copy (a copy of r1): step 3, without a checkpoint.' });
    const away = describeImport({ ...ok, corpusPresent: false, vocabMatches: null }, 'f.zip');
    expect(away.kind).toBe('warn');
    expect(away.text).toMatch(/corpus \(bundled:tiny\) is not in this browser/);
    expect(away.text).not.toMatch(/vocabulary/);
    const other = describeImport({ ...ok, vocabMatches: false }, 'f.zip');
    expect(other.kind).toBe('warn');
    expect(other.text).toMatch(/another vocabulary/);
  });

  it('has a title for every archive problem', () => {
    expect(Object.keys(ARCHIVE_PROBLEM_TITLES).sort()).toEqual([
      'corrupt-entry',
      'foreign',
      'missing-entry',
      'newer-version',
      'not-a-zip',
      'too-large',
    ]);
    expect(RUN_ARCHIVE_VERSION).toBe(1);
  });

  it('formats dates in local time', () => {
    expect(formatWhen(new Date(2026, 10, 4, 9, 5).getTime())).toBe('2026-11-04 09:05');
    expect(formatWhen(NaN)).toBe('?');
  });
});

describe('readBlob', () => {
  it('reads a blob in chunks with rising progress and returns its bytes', async () => {
    const parts = Array.from({ length: 5 }, (_, i) => new Uint8Array(100_000).fill(i + 1));
    const blob = new Blob(parts);
    const seen: number[] = [];
    const bytes = await readBlob(blob, (p) => {
      expect(p.total).toBe(500_000);
      expect(p.unit).toBe('bytes');
      seen.push(p.done);
    });
    expect(bytes.byteLength).toBe(500_000);
    for (let i = 0; i < 5; i++) expect(bytes[i * 100_000 + 7]).toBe(i + 1);
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(500_000);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.length).toBeGreaterThan(2);
  });

  it('reads an empty blob', async () => {
    expect((await readBlob(new Blob([]), () => {})).byteLength).toBe(0);
  });
});
