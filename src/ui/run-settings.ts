// Settings of a pre-training run as the plain run panel reads them from the URL, e.g.
// `?preset=tiny&ict=20&mlm=20&realm=200&refresh=async&every=5&ckpt=10&eval=50&seed=1`.
// (The studio's config panel writes the same parameters.)
import { makeConfig, type PresetName, type RealmConfig } from '../model/config';
import { REFRESH_POLICIES, type RefreshPolicy } from '../workers/async-refresher';

export interface PlainRunSettings {
  preset: PresetName;
  config: RealmConfig;
  policy: RefreshPolicy;
  checkpointEvery: number;
  evalEvery: number;
  warnings: string[];
}

const PRESETS: readonly PresetName[] = ['tiny', 'small', 'base'];

export function runSettingsFromUrl(search: string): PlainRunSettings {
  const p = new URLSearchParams(search);
  const warnings: string[] = [];
  const int = (key: string, min: number): number | undefined => {
    const v = p.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (Number.isInteger(n) && n >= min) return n;
    warnings.push(`Ignored ${key}=${v}: it must be an integer of at least ${min}.`);
    return undefined;
  };
  const presetParam = p.get('preset');
  let preset: PresetName = 'tiny';
  if (presetParam && (PRESETS as readonly string[]).includes(presetParam)) preset = presetParam as PresetName;
  else if (presetParam) warnings.push(`Unknown preset "${presetParam}"; using tiny.`);
  const policyParam = p.get('refresh');
  let policy: RefreshPolicy = 'async';
  if (policyParam && (REFRESH_POLICIES as readonly string[]).includes(policyParam)) policy = policyParam as RefreshPolicy;
  else if (policyParam) warnings.push(`Unknown refresh policy "${policyParam}"; using async.`);
  const overrides: Partial<RealmConfig> = {};
  const set = <K extends keyof RealmConfig>(key: K, v: RealmConfig[K] | undefined) => v !== undefined && (overrides[key] = v);
  set('ictSteps', int('ict', 0));
  set('mlmSteps', int('mlm', 0));
  set('realmSteps', int('realm', 0));
  set('refreshEvery', int('every', 1));
  set('seed', int('seed', 0));
  set('batchSize', int('batch', 1));
  return {
    preset,
    config: makeConfig(preset, overrides),
    policy,
    checkpointEvery: int('ckpt', 1) ?? 20,
    evalEvery: int('eval', 0) ?? 0,
    warnings,
  };
}
