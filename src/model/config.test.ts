// The architecture options added for public BERT checkpoints: their defaults keep every earlier run
// (and every stored config) as it was, and a wrong value gets a message that names the choices.
import { describe, expect, it } from 'vitest';
import { makeConfig, PRESETS, RealmConfigError, validateConfig, withConfigDefaults, type RealmConfig } from './config';

describe('layerNormPlacement and geluVariant', () => {
  it('default to the pre-LN block and the tanh GELU in every preset', () => {
    for (const p of Object.values(PRESETS)) expect([p.layerNormPlacement, p.geluVariant]).toEqual(['pre', 'tanh']);
  });

  it('are filled in for a config stored before they existed, which stays valid', () => {
    const { layerNormPlacement, geluVariant, ...old } = makeConfig('tiny');
    expect([layerNormPlacement, geluVariant]).toEqual(['pre', 'tanh']);
    expect(() => validateConfig(old as RealmConfig)).not.toThrow();
    const filled = withConfigDefaults(old as RealmConfig);
    expect([filled.layerNormPlacement, filled.geluVariant]).toEqual(['pre', 'tanh']);
  });

  it("take BERT's configuration and refuse anything else by name", () => {
    expect(makeConfig('tiny', { layerNormPlacement: 'post', geluVariant: 'erf', layerNormEps: 1e-12 }).layerNormPlacement).toBe(
      'post',
    );
    expect(() => makeConfig('tiny', { layerNormPlacement: 'sandwich' as 'pre' })).toThrow(
      new RealmConfigError('unknown layerNormPlacement "sandwich": use pre or post'),
    );
    expect(() => makeConfig('tiny', { geluVariant: 'relu' as 'erf' })).toThrow(/unknown geluVariant "relu": use tanh or erf/);
  });
});
