import { describe, expect, it } from 'vitest';
import { ASH_DEFAULTS, FstaError, REQUIRED_CONFIG_FIELDS, SCALE_DEFAULT_PERCENTILE, applyHead, ashScore, calibrate, classifierOptions, defaultConfig, mulberry32, parseConfig, referenceOps, resolveDetectorConfig, scaleScore, type FstaConfig } from '../src/index.js';

const calibrated = (): FstaConfig => {
  const r = mulberry32(7);
  const idFeature = Array.from({ length: 100 }, () => r());
  return calibrate({ idFeature, base: { backbone: 'cifar-resnet', fsStage: 'C5', provenance: { model: 'm.onnx', modelFingerprint: 'sha256:00' } } });
};

const codeOf = (f: () => unknown): string => {
  try { f(); } catch (e) { return e instanceof FstaError ? e.code : `CRASH:${(e as Error)?.constructor?.name}`; }
  return 'accepted';
};

describe('parseConfig refuses JSON that is not a calibrated config (issue #12 item 7)', () => {
  it('{} and [] are refused, saying what they are', () => {
    expect(() => parseConfig('{}')).toThrow(/this is an empty JSON object, not an fsta config.*Fix: pass the file written by `fsta calibrate`/);
    expect(() => parseConfig({})).toThrow(/empty JSON object/);
    expect(() => parseConfig('[]')).toThrow(/this is a JSON array of 0 items, not an fsta config/);
    expect(() => parseConfig(JSON.stringify([calibrated()]))).toThrow(/JSON array of 1 item,/);
    expect(() => parseConfig('null')).toThrow(/JSON null/);
    expect(() => parseConfig('3')).toThrow(/a JSON number/);
    expect(codeOf(() => parseConfig('{}'))).toBe('NOT_A_CONFIG');
  });

  it('an eval results file is named as one, with `fsta calibrate` as the fix', () => {
    // The shape `fsta eval --json` writes (apps/cli evalJson).
    const evalResults = { settings: { model: 'm.onnx', k: 0.5, fsStage: 'C5' }, accuracy: 0.81, results: { Textures: { FS: { auroc: 0.9 } }, average: {} } };
    expect(() => parseConfig(JSON.stringify(evalResults))).toThrow(/this is an fsta eval results file \(it has "settings" and "results"\), not an fsta config\. Fix: run `fsta calibrate`/);
  });

  it('a score line and a backbone manifest are named as such', () => {
    expect(() => parseConfig({ file: 'a.png', score: 1, verdict: 'ID' })).toThrow(/a line of `fsta score --json` output/);
    expect(() => parseConfig({ name: 'x', input: 'input', preprocess: { size: [32, 32] }, stages: {} })).toThrow(/a backbone manifest.*Fix: pass it as --manifest/);
  });

  it('other JSON objects list their keys; a partial config lists what it lacks', () => {
    expect(() => parseConfig({ name: 'x', weights: [1] })).toThrow(/a JSON object with none of the config fields \(its keys: "name", "weights"\)/);
    const { threshold: _t, targetTpr: _p, ...partial } = calibrated();
    expect(() => parseConfig(partial)).toThrow(/config lacks "threshold", "targetTpr", which every calibrated config has/);
    expect(() => parseConfig({ k: 0.3 })).toThrow(/config lacks "version", "backbone"/);
  });

  it('what calibrate writes, and defaultConfig, are accepted unchanged (with the fingerprint)', () => {
    const c = calibrated();
    for (const f of REQUIRED_CONFIG_FIELDS) expect(c).toHaveProperty(f);
    expect(parseConfig(JSON.stringify(c))).toEqual(c);
    expect(parseConfig(JSON.stringify(defaultConfig()))).toEqual(defaultConfig());
    expect(() => parseConfig({ ...c, provenance: { modelFingerprint: 5 } })).toThrow(/"provenance.modelFingerprint" must be a string/);
  });
});

/** A random JSON value: scalars of every kind, nested objects and arrays, config-like keys. */
function randomJson(r: () => number, depth = 0): unknown {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const keys = [...REQUIRED_CONFIG_FIELDS, 'provenance', 'kPercentile', 'settings', 'results', 'file', 'score', 'verdict', 'preprocess', 'stages', 'input', '__proto__', 'constructor', 'toString', ''];
  const x = r();
  if (depth > 3 || x < 0.45) return pick([null, true, false, 0, -1, 1, 0.5, 1e308, -1e-308, 2 ** 53, 'C5', 'fs_ta', 'msp', '', 'auto', 1, 'x'.repeat(1000)]);
  if (x < 0.6) return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0, n = Math.floor(r() * 8); i < n; i++) Object.defineProperty(o, pick(keys), { value: randomJson(r, depth + 1), enumerable: true, writable: true, configurable: true });
  return o;
}

/** A calibrated config with fields deleted, retyped, or set to extremes. */
function mutatedConfig(r: () => number, base: FstaConfig): Record<string, unknown> {
  const o: Record<string, unknown> = JSON.parse(JSON.stringify(base));
  const fields = [...REQUIRED_CONFIG_FIELDS, 'provenance', 'kPercentile'];
  for (let i = 0, n = 1 + Math.floor(r() * 3); i < n; i++) {
    const f = fields[Math.floor(r() * fields.length)]!;
    if (r() < 0.3) delete o[f];
    else o[f] = randomJson(r, 2);
  }
  return o;
}

/** JSON text of a calibrated config with bytes flipped, inserted, or cut. */
function mutatedText(r: () => number, text: string): string {
  const at = Math.floor(r() * text.length);
  const x = r();
  if (x < 0.3) return text.slice(0, at);
  if (x < 0.6) return text.slice(0, at) + String.fromCharCode(Math.floor(r() * 128)) + text.slice(at + 1);
  if (x < 0.8) return text.slice(0, at) + pick(r, ['"', '{', '}', '[', ']', ',', ':', 'null', '-', '1e999', '\\u0000', 'NaN']) + text.slice(at);
  return text.slice(0, at) + text.slice(at + 1 + Math.floor(r() * 20));
}
const pick = <T>(r: () => number, xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;

describe('fuzzing parseConfig with random and mutated JSON', () => {
  const SEED = 0xc0f1_6;
  const CASES = { random: 3000, mutatedObject: 3000, mutatedText: 3000 };

  it('only ever returns a valid config or throws an FstaError', () => {
    const r = mulberry32(SEED);
    const base = calibrated();
    const text = JSON.stringify(base, null, 2);
    const counts = new Map<string, number>();
    const crashes: string[] = [];
    const run = (source: string, input: unknown) => {
      let outcome: string;
      try {
        const c = parseConfig(input);
        // An accepted config satisfies the invariants and parses to itself again.
        expect(parseConfig(JSON.stringify(c))).toEqual(JSON.parse(JSON.stringify(c)));
        expect(Number.isFinite(c.k) && c.k >= 0 && c.temperature > 0 && (c.threshold === null || Number.isFinite(c.threshold))).toBe(true);
        outcome = 'accepted';
      } catch (e) {
        if (e instanceof FstaError) outcome = `FstaError:${e.code}`;
        else {
          outcome = `CRASH:${(e as Error)?.constructor?.name}`;
          if (crashes.length < 5) crashes.push(`${source}: ${String((e as Error)?.stack ?? e)} on ${JSON.stringify(input).slice(0, 300)}`);
        }
      }
      const key = `${source}/${outcome}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    };
    for (let i = 0; i < CASES.random; i++) run('random', r() < 0.5 ? randomJson(r) : JSON.stringify(randomJson(r)));
    for (let i = 0; i < CASES.mutatedObject; i++) run('mutated-object', r() < 0.5 ? mutatedConfig(r, base) : JSON.stringify(mutatedConfig(r, base)));
    for (let i = 0; i < CASES.mutatedText; i++) run('mutated-text', mutatedText(r, text));
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    console.log(`config fuzz (seed 0x${SEED.toString(16)}): ${total} cases; outcomes: ${[...counts.entries()].sort().map(([k, v]) => `${k}=${v}`).join(', ')}`);
    expect(crashes).toEqual([]);
    expect(total).toBe(CASES.random + CASES.mutatedObject + CASES.mutatedText);
    // Both sides are exercised: mutants still accepted, and each kind of refusal.
    for (const k of ['mutated-object/accepted', 'mutated-text/accepted', 'random/FstaError:NOT_A_CONFIG', 'mutated-object/FstaError:BAD_CONFIG', 'mutated-text/FstaError:BAD_CONFIG']) expect(counts.get(k) ?? 0, k).toBeGreaterThan(20);
  });
});

describe('ASH and SCALE settings in the config', () => {
  const base = () => defaultConfig({ classifier: 'ash', lambda: 0.3 });
  it('are optional, default to what fsta eval scores, and are kept as given', () => {
    expect(classifierOptions(parseConfig(base()))).toEqual({ ash: { variant: 's', percentile: 90 }, scale: { percentile: 85 } });
    const c = parseConfig({ ...base(), ash: { variant: 'b', percentile: 65 }, scale: { percentile: 70 } });
    expect(classifierOptions(c)).toEqual({ ash: { variant: 'b', percentile: 65 }, scale: { percentile: 70 } });
    expect(ASH_DEFAULTS).toEqual({ variant: 's', percentile: 90 });
    expect(SCALE_DEFAULT_PERCENTILE).toBe(85);
  });

  it('bad settings are refused with the field, the value and the fix', () => {
    const bad = (over: Record<string, unknown>) => () => parseConfig({ ...base(), ...over });
    expect(bad({ ash: { variant: 'q', percentile: 90 } })).toThrow(/config field "ash.variant" must be one of "p", "b", "s" \(ASH-P, ASH-B, ASH-S; got "q"\).*Fix: fix "ash.variant"/);
    expect(bad({ ash: { variant: 's', percentile: 100 } })).toThrow(/"ash.percentile" must be a percentile in \[0, 100\) \(got 100\)/);
    expect(bad({ ash: { variant: 's', percentile: -1 } })).toThrow(/"ash.percentile" must be a percentile/);
    expect(bad({ ash: { variant: 's', percentile: '90' } })).toThrow(/"ash.percentile" must be a percentile in \[0, 100\) \(got "90"\)/);
    expect(bad({ ash: 's' })).toThrow(/"ash" must be an object with "variant" and "percentile" when present \(got "s"\)/);
    expect(bad({ ash: null })).toThrow(/"ash" must be an object/);
    expect(bad({ ash: { variant: 's', percentile: 90, p: 1 } })).toThrow(/"ash" has unknown key "p" \(it takes "variant", "percentile"\)/);
    expect(bad({ scale: { percentile: Number.NaN } })).toThrow(/"scale.percentile" must be a percentile/);
    expect(bad({ scale: [85] })).toThrow(/"scale" must be an object with "percentile"/);
    expect(codeOf(bad({ scale: { percentile: 120 } }))).toBe('BAD_CONFIG');
  });

  it('a detector option overrides the config’s setting', () => {
    expect(resolveDetectorConfig({ config: { ...base(), ash: { variant: 'p', percentile: 80 } }, ash: { variant: 'b', percentile: 70 } }).ash).toEqual({ variant: 'b', percentile: 70 });
    expect(() => resolveDetectorConfig({ config: base(), scale: { percentile: 100 } })).toThrow(/"scale.percentile"/);
  });
});

describe('a head given as backend tensors (TensorHead) gives what the host head gives', () => {
  it('ASH and SCALE, reference ops', async () => {
    const r = mulberry32(3);
    const h = referenceOps.fromArray(Float32Array.from({ length: 4 * 12 }, () => r() * 2), [4, 12]);
    const w = Float32Array.from({ length: 5 * 12 }, () => r() - 0.5), bias = Float32Array.from({ length: 5 }, () => r() - 0.5);
    const host = { weight: { data: w, shape: [5, 12] }, bias };
    const tensors = { kind: 'tensors' as const, weight: referenceOps.fromArray(w, [5, 12]), bias: referenceOps.fromArray(bias, [5]) };
    for (const variant of ['p', 'b', 's'] as const) {
      expect(Array.from(await referenceOps.read(ashScore(referenceOps, h, tensors, { variant, percentile: 60 })))).toEqual(Array.from(await referenceOps.read(ashScore(referenceOps, h, host, { variant, percentile: 60 }))));
    }
    expect(Array.from(await referenceOps.read(scaleScore(referenceOps, h, tensors, { percentile: 50 })))).toEqual(Array.from(await referenceOps.read(scaleScore(referenceOps, h, host, { percentile: 50 }))));
    expect(() => applyHead(referenceOps, h, { kind: 'tensors', weight: referenceOps.fromArray(w.subarray(0, 55), [5, 11]) })).toThrow(/head weight expects 11 features but the penultimate features have 12/);
    expect(() => applyHead(referenceOps, h, { kind: 'tensors', weight: tensors.weight, bias: referenceOps.fromArray(bias.subarray(0, 4), [4]) })).toThrow(/head bias has shape \[4\] but the weight has 5 outputs/);
  });
});
