import { describe, expect, it } from 'vitest';
import { CONFIG_LIMITS, makeConfig, MLM_PAIR_MASKINGS, type RealmConfig } from '../model/config';
import { MASKING_STRATEGIES } from '../corpus/masking';
import { readFileSync } from 'node:fs';
import { defaultValue, KNOWN_KEYS, PAGE_KEYS, RUN_PARAMS, runSettingsFromUrl, withParam } from './run-settings';
import { CLASSROOM_QUERY, firstRunSearch } from './first-run';

describe('run settings in the URL', () => {
  it('reads every parameter into the config, the refresh policy and the intervals', () => {
    const s = runSettingsFromUrl(
      '?preset=tiny&ict=3&mlm=4&realm=5&k=6&d=12&mode=joint&masking=random-span&exclude=sentence&refresh=frozen&every=7&lr=0.002&batch=3&seed=9&ckpt=11&eval=13&keep=4',
    );
    expect(s.warnings).toEqual([]);
    expect(s.config).toEqual(
      makeConfig('tiny', {
        ictSteps: 3,
        mlmSteps: 4,
        realmSteps: 5,
        k: 6,
        retrieverDim: 12,
        marginalisation: 'joint',
        masking: 'random-span',
        trivialExclusion: 'sentence',
        refreshEvery: 7,
        learningRate: 0.002,
        batchSize: 3,
        seed: 9,
      }),
    );
    expect([s.policy, s.checkpointEvery, s.evalEvery, s.keepCheckpoints]).toEqual(['frozen', 11, 13, 4]);
  });

  it('ignores bad values with a warning and keeps the preset default', () => {
    const s = runSettingsFromUrl('?preset=huge&k=1&lr=-1&mode=both&ict=2.5&refresh=never');
    expect(s.preset).toBe('tiny');
    expect(s.config).toEqual(makeConfig('tiny'));
    expect(s.policy).toBe('async');
    expect(s.warnings).toHaveLength(6);
    expect(s.warnings.join(' ')).toMatch(/preset "huge".*k=1.*mode=both.*refresh=never.*lr=-1/s);
  });

  it('offers the masking choices the config accepts, and no others', () => {
    // The Run settings choices and validateConfig read one list each (config.ts): every offered value
    // makes a config, and a value outside it is refused by both.
    for (const [key, field, values] of [
      ['masking', 'masking', MASKING_STRATEGIES],
      ['mlmmask', 'mlmPairMasking', MLM_PAIR_MASKINGS],
    ] as const) {
      const param = RUN_PARAMS.find((p) => p.key === key)!;
      expect(param.kind).toEqual({ type: 'choice', values });
      for (const v of values) expect(runSettingsFromUrl(`?${key}=${v}`).config[field]).toBe(v);
      expect(runSettingsFromUrl(`?${key}=whole-word`).warnings).toHaveLength(1);
      expect(() => makeConfig('tiny', { [field]: 'whole-word' } as Partial<RealmConfig>)).toThrow(
        new RegExp(`unknown ${field} "whole-word": use ${values.join(', ')}`),
      );
    }
  });

  it('falls back to the preset when values do not fit together, and says why', () => {
    const s = runSettingsFromUrl('?d=0');
    expect(s.warnings[0]).toMatch(/d=0/);
    const t = runSettingsFromUrl('?preset=small&ict=1');
    expect(t.config.hidden).toBe(256);
    expect(t.config.ictSteps).toBe(1);
  });

  it('rejects a value above a maximum with a warning (ictmask is a probability)', () => {
    const s = runSettingsFromUrl('?ictmask=1.5&tau=4');
    expect(s.warnings).toEqual(['Ignored ictmask=1.5: it must be a number from 0 to 1.']);
    expect(s.config.ictMaskedQueryProbability).toBe(0);
    expect(s.config.retrievalTemperature).toBe(4);
  });

  it('reads a true / false choice as a boolean (docgrad)', () => {
    expect(runSettingsFromUrl('?docgrad=false').config.realmDocGradient).toBe(false);
    expect(runSettingsFromUrl('?docgrad=true').config.realmDocGradient).toBe(true);
    expect(runSettingsFromUrl('').config.realmDocGradient).toBe(true);
    expect(runSettingsFromUrl('?docgrad=no').warnings).toEqual(['Ignored docgrad=no: use one of true, false.']);
  });

  it('round-trips through the URL: each parameter written is read back', () => {
    let search = '';
    for (const p of RUN_PARAMS) {
      const k = p.kind;
      const value =
        k.type === 'choice'
          ? k.values[k.values.length - 1]
          : String(k.type === 'float' ? (k.max !== undefined ? (k.min + k.max) / 2 : k.min + 0.5) : k.min + 2);
      search = withParam(search, p.key, value);
    }
    const s = runSettingsFromUrl(search);
    expect(s.warnings).toEqual([]);
    for (const p of RUN_PARAMS) if (p.field) expect(String(s.config[p.field])).toBe(new URLSearchParams(search).get(p.key));
    expect(withParam('?a=1&k=4', 'k', null)).toBe('?a=1');
    expect(withParam('?k=4', 'k', '')).toBe('');
  });

  it('shows the preset value as the default of a parameter left out', () => {
    const k = RUN_PARAMS.find((p) => p.key === 'k')!;
    expect(defaultValue(k, 'tiny')).toBe(String(makeConfig('tiny').k));
    expect(defaultValue(k, 'small')).toBe(String(makeConfig('small').k));
  });

  it('bounds every number: the huge values a typo makes are ignored, and the form is told which', () => {
    const s = runSettingsFromUrl('?batch=1e8&d=1e9&k=1e6&realm=1e15&ckpt=1e9&k=-5');
    expect(s.config).toEqual(makeConfig('tiny'));
    expect(s.checkpointEvery).toBe(20);
    expect(s.ignored).toEqual({ batch: '1e8', d: '1e9', k: '1e6', realm: '1e15', ckpt: '1e9' });
    expect(s.warnings).toHaveLength(5);
    expect(s.warnings).toContain('Ignored ckpt=1e9: it must be an integer from 1 to 10,000.');
    for (const p of RUN_PARAMS) if (p.kind.type !== 'choice') expect(Number.isFinite(p.kind.max)).toBe(true);
  });

  it('warns about a key it does not know, and marks a bad value of the page keys as ignored', () => {
    const s = runSettingsFromUrl('?k=-5&steps=abc&backend=nope&bundle=micro&worker=maybe');
    expect(s.ignored).toEqual({ k: '-5', backend: 'nope', worker: 'maybe' });
    expect(s.warnings).toEqual([
      'Ignored steps=abc: "steps" is not a setting (docs/studio.md lists the settings a link can carry).',
      'Ignored worker=maybe: use worker=off to run the index builder on the main thread.',
      'Ignored k=-5: it must be an integer from 2 to 64.',
    ]);
    expect(s.config.k).toBe(makeConfig('tiny').k);
    // backend: the header notice says it (no second warning); a known one in any case is fine.
    expect(runSettingsFromUrl('?backend=WASM&worker=off&bundle=tiny').warnings).toEqual([]);
    expect(runSettingsFromUrl('?preset=huge').ignored).toEqual({ preset: 'huge' });
  });

  it('accepts only values that a stored run archive accepts too (the URL bounds lie inside CONFIG_LIMITS)', () => {
    for (const p of RUN_PARAMS) {
      const k = p.kind;
      if (!p.field || k.type === 'choice') continue;
      const limit = CONFIG_LIMITS[p.field as keyof typeof CONFIG_LIMITS];
      expect(limit, p.key).toBeDefined();
      expect(k.min, p.key).toBeGreaterThanOrEqual(limit.min);
      expect(k.max, p.key).toBeLessThanOrEqual(limit.max);
    }
  });

  it('docs/studio.md lists every key with its values and bounds', () => {
    const doc = readFileSync(new URL('../../docs/studio.md', import.meta.url), 'utf8');
    const row = (key: string) => doc.split('\n').find((l) => l.startsWith(`| \`${key}\` |`));
    for (const key of KNOWN_KEYS) expect(row(key), key).toBeDefined();
    for (const p of RUN_PARAMS) {
      const k = p.kind;
      const values = k.type === 'choice' ? k.values.join(', ') : `${k.min} to ${k.max.toLocaleString('en')}`;
      expect(row(p.key), p.key).toContain(values);
    }
    for (const [key, values] of Object.entries(PAGE_KEYS)) expect(row(key), key).toContain(values.join(', '));
  });

  it('start=warm|cold: a warm run defaults to REALM only, a cold one keeps the preset phases', () => {
    const cold = runSettingsFromUrl('?preset=tiny');
    expect(cold.start).toBe('cold');
    expect([cold.config.ictSteps, cold.config.mlmSteps]).toEqual([makeConfig('tiny').ictSteps, makeConfig('tiny').mlmSteps]);
    const warm = runSettingsFromUrl('?preset=mini&start=warm&realm=30');
    expect(warm.warnings).toEqual([]);
    expect(warm.start).toBe('warm');
    expect(warm.config).toEqual(makeConfig('mini', { ictSteps: 0, mlmSteps: 0, realmSteps: 30 }));
    // The link's own phase steps win, and are what `asked` reports (the warm defaults are not asked for).
    const both = runSettingsFromUrl('?start=warm&ict=5&d=16');
    expect([both.config.ictSteps, both.config.mlmSteps]).toEqual([5, 0]);
    expect(both.asked).toEqual({ ictSteps: 5, retrieverDim: 16 });
    const bad = runSettingsFromUrl('?start=lukewarm');
    expect(bad.start).toBe('cold');
    expect(bad.ignored).toEqual({ start: 'lukewarm' });
    expect(bad.warnings).toEqual(['Ignored start=lukewarm: use one of warm, cold.']);
    const ict = RUN_PARAMS.find((p) => p.key === 'ict')!;
    expect(defaultValue(ict, 'tiny', 'warm')).toBe('0');
    expect(defaultValue(ict, 'tiny')).toBe(String(makeConfig('tiny').ictSteps));
    expect(
      defaultValue(
        RUN_PARAMS.find((p) => p.key === 'start')!,
        'tiny',
      ),
    ).toBe('cold');
  });

  it("a new user's first visit without a setup gets the Classroom demo (warm, REALM only); a shared setup is kept", () => {
    const demo = runSettingsFromUrl(CLASSROOM_QUERY);
    expect(demo.warnings).toEqual([]);
    expect([demo.start, demo.config.ictSteps, demo.config.mlmSteps]).toEqual(['warm', 0, 0]);
    const first = new URLSearchParams(firstRunSearch('?backend=wasm&bundle=micro', true, true));
    expect(first.get('backend')).toBe('wasm');
    expect(first.get('bundle')).toBe('micro');
    expect(first.get('start')).toBe('warm');
    expect(runSettingsFromUrl(`?${first.toString()}`).config).toEqual(demo.config);
    expect(firstRunSearch('', true, true)).toBe(`?${CLASSROOM_QUERY}`);
    expect(firstRunSearch('', true, false)).toBe(''); // no warm start shipped: the defaults
    // A link with any run setting, or a returning user, keeps the link as it is.
    expect(firstRunSearch('?preset=tiny&backend=wasm', true, true)).toBe('?preset=tiny&backend=wasm');
    expect(firstRunSearch('?start=cold', true, true)).toBe('?start=cold');
    expect(firstRunSearch('?backend=wasm', false, true)).toBe('?backend=wasm');
  });
});
