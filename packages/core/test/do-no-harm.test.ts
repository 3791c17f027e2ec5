import { describe, expect, it } from 'vitest';
import { aurocMargin, chooseTa, clearlyBetter, mulberry32, separation } from '../src/index.js';

const normal = (rand: () => number) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const sample = (n: number, mean: number, seed: number) => { const r = mulberry32(seed); return Float64Array.from({ length: n }, () => mean + normal(r)); };

describe('do no harm: TA must beat plain FS by more than the bootstrap interval', () => {
  const id = sample(300, 1, 1);
  const oodA = sample(200, 0, 2), oodB = sample(200, 0.2, 3);
  const plain = { taStage: null, k: 0, idScores: id, noiseSets: [{ name: 'a', scores: oodA }, { name: 'b', scores: oodB }] };
  // Same images, scores nudged by a tiny independent noise: a "gain" that is only noise.
  const jitter = (xs: Float64Array, seed: number, sd: number) => { const r = mulberry32(seed); return xs.map((x) => x + sd * normal(r)); };
  const lucky = { taStage: 'C4', k: 0.5, idScores: jitter(id, 10, 0.05), noiseSets: [{ name: 'a', scores: jitter(oodA, 11, 0.05) }, { name: 'b', scores: jitter(oodB, 12, 0.05) }] };
  // Clearly better: OOD pushed down by 0.7 on the same images.
  const better = { taStage: 'C3', k: 0.2, idScores: id, noiseSets: [{ name: 'a', scores: oodA.map((x) => x - 0.7) }, { name: 'b', scores: oodB.map((x) => x - 0.7) }] };

  it('the margin is the difference of the mean AUROCs, with a paired interval around it, the same for the same seed', () => {
    const m = aurocMargin({ idScores: better.idScores, sets: better.noiseSets }, { idScores: plain.idScores, sets: plain.noiseSets });
    const diff = separation(better.idScores, better.noiseSets).auroc - separation(plain.idScores, plain.noiseSets).auroc;
    expect(m.delta).toBeCloseTo(diff, 12);
    expect(m.lo).toBeLessThan(m.delta);
    expect(m.hi).toBeGreaterThan(m.delta);
    expect(clearlyBetter(m)).toBe(true);
    expect(aurocMargin({ idScores: better.idScores, sets: better.noiseSets }, { idScores: plain.idScores, sets: plain.noiseSets })).toEqual(m);
  });

  it('falls back to plain FS, and says so, when the best TA candidate wins by noise', () => {
    const r = chooseTa({ candidates: [plain, lucky] });
    // The jitter happens to rank the TA candidate first, by 0.035 points.
    expect(separation(lucky.idScores, lucky.noiseSets).auroc).toBeGreaterThan(separation(plain.idScores, plain.noiseSets).auroc);
    expect(r.margin!.fellBack).toBe(true);
    expect(r.choice.taStage).toBeNull();
    expect(r.reason).toMatch(/ranked first on synthetic OOD, but its gain over plain FS, .* is within the bootstrap interval, so fsta keeps plain FS/);
  });

  it('keeps a TA candidate that beats plain FS clearly, and reports the margin', () => {
    const r = chooseTa({ candidates: [plain, lucky, better] });
    expect(r.choice.taStage).toBe('C3');
    expect(r.margin!.fellBack).toBe(false);
    expect(r.reason).toMatch(/it beats plain FS by \+\d+\.\d\d points of mean AUROC \(95% CI \+/);
  });

  it('can be switched off, and refuses candidates scored on other images', () => {
    const r = chooseTa({ candidates: [plain, lucky], doNoHarm: false });
    expect(r.margin).toBeUndefined();
    expect(() => aurocMargin({ idScores: id.slice(1), sets: plain.noiseSets }, { idScores: id, sets: plain.noiseSets })).toThrow(/not scored on the same images/);
  });
});
