import { describe, expect, it } from 'vitest';
import { bootstrapDraws, mulberry32, operatingPoint, percentileOf } from '../src/index.js';

describe('operating-point intervals', () => {
  const rand = mulberry32(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const id = Float64Array.from({ length: 300 }, () => 1 + normal());
  const ood = Float64Array.from({ length: 200 }, () => normal());

  it('matches the normal approximation for a share, is reproducible, and contains the share', () => {
    const op = operatingPoint(0.5, id, { o: ood });
    expect(operatingPoint(0.5, id, { o: ood })).toEqual(op);
    const p = op.kept.value / 100;
    const half = 1.96 * Math.sqrt((p * (1 - p)) / id.length) * 100;
    const ci = op.kept.ci!;
    expect((ci[1] - ci[0]) / (2 * half)).toBeGreaterThan(0.85);
    expect((ci[1] - ci[0]) / (2 * half)).toBeLessThan(1.15);
    expect(ci[0]).toBeLessThan(op.kept.value);
    expect(ci[1]).toBeGreaterThan(op.kept.value);
    expect(op.caught['all OOD']).toEqual(op.caught.o);
  });

  it('uses core\'s draws: the same interval recomputed by hand from bootstrapDraws', () => {
    const op = operatingPoint(0.5, id, { o: ood }, { resamples: 200, seed: 3 });
    const kept = Float64Array.from(bootstrapDraws(id.length, [ood.length], { resamples: 200, seed: 3 }), (d) => (100 * [...d.id].filter((i) => id[i]! >= 0.5).length) / id.length).sort();
    expect(op.kept.ci![0]).toBeCloseTo(percentileOf(kept, 2.5), 10);
    expect(op.kept.ci![1]).toBeCloseTo(percentileOf(kept, 97.5), 10);
    expect(operatingPoint(0.5, id, { o: ood }, { resamples: 0 }).kept.ci).toBeUndefined();
  });

  it('counts a score equal to the threshold as kept (ID), as verdictOf does, and pools the OOD sets', () => {
    const op = operatingPoint(1, [0, 1, 2, 3], { a: [0, 1], b: [0.5, 0.9, 5] }, { resamples: 0 });
    expect(op.kept.value).toBe(75);
    expect(op.caught.a!.value).toBe(50);
    expect(op.caught.b!.value).toBeCloseTo(200 / 3, 12);
    expect(op.caught['all OOD']!.value).toBe(60);
  });
});
