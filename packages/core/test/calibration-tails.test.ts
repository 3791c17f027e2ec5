import { describe, expect, it } from 'vitest';
import { kCandidates, kFromPercentile, taCandidatesOfTails } from '../src/index.js';

describe('kCandidates', () => {
  const c3 = Float64Array.from({ length: 101 }, (_, i) => i / 100);
  const signed = Float64Array.from({ length: 101 }, (_, i) => (i - 60) / 10);

  it('takes k at each percentile of each stage, in order, and lists every (stage, k) as a tail', () => {
    const { perStage, tails, skipped } = kCandidates({ C3: c3, C4: c3.map((v) => 2 * v) }, ['C3', 'C4'], [50, 90], [0.25]);
    expect(perStage.map((r) => [r.stage, r.ks, r.percentiles])).toEqual([['C3', [0.5, 0.9, 0.25], [50, 90, undefined]], ['C4', [1, 1.8, 0.25], [50, 90, undefined]]]);
    expect(tails).toEqual([{ taStage: 'C3', k: 0.5 }, { taStage: 'C3', k: 0.9 }, { taStage: 'C3', k: 0.25 }, { taStage: 'C4', k: 1 }, { taStage: 'C4', k: 1.8 }, { taStage: 'C4', k: 0.25 }]);
    expect(skipped).toEqual([]);
    expect(perStage[0]!.ks[1]).toBe(kFromPercentile(c3, 90));
  });

  it('skips negative k of a signed stage and says so; refuses when nothing is left', () => {
    const { perStage, skipped } = kCandidates({ C3: c3, R: signed }, ['C3', 'R'], [50, 90]);
    expect(perStage.map((r) => [r.stage, r.ks.length])).toEqual([['C3', 2], ['R', 1]]);
    expect(skipped).toEqual(['R is signed: k candidates p50 = -1.00 are below 0 (TA needs k ≥ 0), skipped']);
    expect(() => kCandidates({ R: signed }, ['R'], [10, 20])).toThrow(/every k candidate at TA stages R is below 0.*Fix: /);
    expect(() => kCandidates({ C3: c3 }, ['C3', 'C4'], [50])).toThrow(/no sampled ID activations for TA stage C4/);
  });
});

describe('taCandidatesOfTails', () => {
  const perStage = [{ stage: 'C3', ks: [0.5, 0.9], percentiles: [50, 90] }, { stage: 'C4', ks: [2], percentiles: [undefined] }];
  const id = { fs: [1, 2], fsTa: [[3, 4], [5, 6], [7, 8]] };
  const tile = { name: 'tile', fs: [0, 1], fsTa: [[1, 1], [2, 2], [3, 3]] };

  it('puts plain FS first, then each tail with its own column of every set', () => {
    const c = taCandidatesOfTails(perStage, id, [tile]);
    expect(c.map((x) => [x.taStage, x.k, x.kPercentile])).toEqual([[null, 0, undefined], ['C3', 0.5, 50], ['C3', 0.9, 90], ['C4', 2, undefined]]);
    expect(c.map((x) => x.idScores)).toEqual([[1, 2], [3, 4], [5, 6], [7, 8]]);
    expect(c.map((x) => x.noiseSets!.map((s) => [s.name, s.scores]))).toEqual([[['tile', [0, 1]]], [['tile', [1, 1]]], [['tile', [2, 2]]], [['tile', [3, 3]]]]);
    expect('kPercentile' in c[3]!).toBe(false);
  });

  it('refuses scores with another number of tails than candidates', () => {
    expect(() => taCandidatesOfTails(perStage, { ...id, fsTa: id.fsTa.slice(0, 2) }, [tile])).toThrow(/ID scores have FS\+TA for 2 TA settings, but there are 3 candidates/);
    expect(() => taCandidatesOfTails(perStage, id, [{ ...tile, fsTa: [] }])).toThrow(/tile scores have FS\+TA for 0/);
  });
});
