import { describe, expect, it } from 'vitest';
import { PAPER_LAMBDA, defaultConfig, resolveDetectorConfig } from '../src/index.js';

describe('resolveDetectorConfig', () => {
  it('uses the backbone defaults without a config', () => {
    const c = resolveDetectorConfig({ backbone: 'mobilenet_v2' }, { fsStage: 'C5', taStage: 'C4', k: 1.25 });
    expect(c).toMatchObject({ backbone: 'mobilenet_v2', fsStage: 'C5', taStage: 'C4', k: 1.25, featureScore: 'fs_ta', classifier: null, lambda: 0 });
    expect(resolveDetectorConfig({}, { fsStage: 'C5', taStage: null, k: 0.5 })).toMatchObject({ taStage: null, featureScore: 'fs' });
  });
  it('takes the paper λ for a classifier given without λ, and explicit options over the config', () => {
    expect(resolveDetectorConfig({ classifier: 'energy' }).lambda).toBe(PAPER_LAMBDA.energy);
    expect(resolveDetectorConfig({ classifier: 'msp', lambda: 2 }).lambda).toBe(2);
    const cfg = defaultConfig({ k: 0.3, threshold: 1.5, classifier: 'msp', lambda: 0.7 });
    expect(resolveDetectorConfig({ config: JSON.stringify(cfg), k: 0.9 })).toMatchObject({ k: 0.9, threshold: 1.5, lambda: 0.7 });
  });
  it('refuses a classifier with no paper λ, and bad overrides', () => {
    expect(() => resolveDetectorConfig({ classifier: 'maxlogit' })).toThrow(/pass lambda explicitly/);
    expect(() => resolveDetectorConfig({ k: -1 })).toThrow(/field "k"/);
  });
});
