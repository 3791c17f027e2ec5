import { describe, expect, it } from 'vitest';
import { CALIBRATION_DEFAULTS, FstaError, PAPER_LAMBDA, auroc, chooseConfig, jigsawImages, mulberry32, noiseImages, spreadPicks, syntheticSet, thresholdAtTpr } from '../src/index.js';
import type { TaCandidate } from '../src/index.js';

const rand = mulberry32(7);
const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const scores = (n: number, mean: number, sd = 1) => Float64Array.from({ length: n }, () => mean + sd * normal());
const SETS = ['gaussian', 'uniform', 'jigsaw'];

/** A candidate whose ID scores sit `gap` above jigsaw; noise is always far below (every candidate separates it). */
const candidate = (taStage: string | null, k: number, gap: number): TaCandidate => ({
  taStage, k, idScores: scores(120, 0), noiseSets: [{ name: 'gaussian', scores: scores(60, -20) }, { name: 'uniform', scores: scores(60, -20) }, { name: 'jigsaw', scores: scores(60, -gap) }],
});

describe('chooseConfig', () => {
  const candidates = [candidate(null, 0, 0.2), candidate('C3', 0.5, 0.6), candidate('C4', 1.1, 2.5), candidate('C4', 2, 1.0)];
  // MSP separates jigsaw well here, energy hardly at all (its scale is larger, so a wrong λ would hurt).
  const chosen = candidates[2]!;
  const msp = { id: scores(120, 0.9, 0.05), sets: SETS.map((name, i) => ({ name, scores: scores(60, i === 2 ? 0.3 : 0.5, 0.05) })) };
  const energy = { id: scores(120, 5, 3), sets: SETS.map((name) => ({ name, scores: scores(60, 5, 3) })) };

  it('picks the TA setting that separates ID from the synthetic sets best, then the best fusion on it', () => {
    const r = chooseConfig({ taCandidates: candidates, classifierScores: { msp, energy }, base: { backbone: 'x', fsStage: 'C5' } });
    expect([r.config.taStage, r.config.k, r.config.featureScore]).toEqual(['C4', 1.1, 'fs_ta']);
    expect(r.fusions.map((f) => f.classifier)).toEqual([null, 'msp', 'energy']);
    // Independent check of each fusion row: AUROC per set on feature + λ·classifier, mean over the sets.
    for (const f of r.fusions) {
      const cls = f.classifier === 'msp' ? msp : f.classifier === 'energy' ? energy : null;
      expect(f.lambda).toBe(cls ? PAPER_LAMBDA[f.classifier as 'msp' | 'energy'] : 0);
      const fused = (s: ArrayLike<number>, c?: ArrayLike<number>) => Float64Array.from(s, (v, i) => v + (c ? f.lambda * c[i]! : 0));
      const per = chosen.noiseSets!.map((s, i) => auroc(fused(chosen.idScores, cls?.id), fused(s.scores, cls?.sets[i]!.scores)));
      expect(f.auroc).toBeCloseTo(per.reduce((a, b) => a + b, 0) / per.length, 12);
    }
    const best = [...r.fusions].sort((a, b) => b.auroc - a.auroc || a.fpr95 - b.fpr95)[0]!;
    expect(r.fusion).toBe(best);
    expect(r.config.classifier).toBe('msp');
    expect(r.config.lambda).toBe(PAPER_LAMBDA.msp);
    const fusedId = Float64Array.from(chosen.idScores, (v, i) => v + PAPER_LAMBDA.msp * msp.id[i]!);
    expect(r.config.threshold).toBe(thresholdAtTpr(fusedId, 0.95));
    expect(String((r.config.provenance as Record<string, unknown>).fusion)).toMatch(/^msp chosen: .* among none, msp, energy; it beats no fusion by \+\d/);
    expect(r.reason).toMatch(/TA at C4 with k=1.1/);
  });

  it('keeps the earlier candidate on a tie, and no fusion when none is offered', () => {
    const same = candidate('C4', 1, 3);
    const r = chooseConfig({ taCandidates: [same, { ...same, k: 2 }], fusions: [null] });
    expect(r.config.k).toBe(1);
    expect(r.config.classifier).toBeNull();
    expect(r.config.lambda).toBe(0);
  });

  it('refuses fusions without scores and classifier sets that differ from the candidates\'', () => {
    expect(() => chooseConfig({ taCandidates: candidates, fusions: [null, 'msp'] })).toThrow(/fusion candidate "msp" has no classifier scores/);
    const wrong = { id: msp.id, sets: msp.sets.slice(0, 2) };
    expect(() => chooseConfig({ taCandidates: candidates, classifierScores: { msp: wrong } })).toThrow(FstaError);
    expect(() => chooseConfig({ taCandidates: [{ taStage: null, k: 0, idScores: [1, 2], noiseScores: [0, 1] }] })).toThrow(/noiseSets/);
  });
});

describe('synthetic sets', () => {
  const chw = [3, 8, 8] as const;
  const norm = { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
  it('seeds each set with 1 + its position, as fsta calibrate does', () => {
    expect(syntheticSet('gaussian', 0, 5, chw, norm).data).toEqual(noiseImages('gaussian', 5, chw, { ...norm, seed: 1 }).data);
    expect(syntheticSet('uniform', 1, 5, chw, norm).data).toEqual(noiseImages('uniform', 5, chw, { ...norm, seed: 2 }).data);
    const id = Array.from({ length: 10 }, (_, i) => Float32Array.from({ length: 3 * 64 }, (_, j) => i * 1000 + j));
    const jig = syntheticSet('jigsaw', 2, 4, chw, norm, id);
    const picks = spreadPicks(10, 4);
    expect(picks).toEqual([1, 3, 6, 8]);
    const stacked = new Float32Array(4 * 192);
    picks.forEach((p, j) => stacked.set(id[p]!, j * 192));
    expect(jig.n).toBe(4);
    expect(jig.data).toEqual(jigsawImages(stacked, [4, 3, 8, 8], { grid: CALIBRATION_DEFAULTS.jigsawGrid, seed: 3 }).data);
    expect(() => syntheticSet('jigsaw', 2, 4, chw, norm, [])).toThrow(/no ID validation images/);
  });
  it('spreads picks evenly and never repeats them', () => {
    expect(spreadPicks(3, 10)).toEqual([0, 1, 2]);
    expect(spreadPicks(300, 200).length).toBe(200);
  });
});
