import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOOTSTRAP_DEFAULTS, FstaError, bootstrapDraws, bootstrapOodSetsSamples, compareOodSetsWithIntervals, compareOodWithIntervals, evaluateOodSetsWithIntervals, bootstrapOodSamples, evaluateOod, evaluateOodWithIntervals, mulberry32 } from '../src/index.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/core-bootstrap.json', import.meta.url), 'utf8'));
const KEYS = ['auroc', 'fpr95', 'auprIn', 'auprOut'] as const;
type M = Record<string, number>;
interface Case { name: string; seed: number; id: number[]; oods: number[][]; points: M[]; firstDraw: { id: number[]; oods: number[][] }; samples: Record<string, number[]>[]; ci: Record<string, [number, number]>[]; average: { point: M; ci: Record<string, [number, number]> } }

const closeTo = (a: ArrayLike<number>, b: readonly number[], tol = 1e-12) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < b.length; i++) if (!(Math.abs(a[i]! - b[i]!) <= tol)) expect.fail(`index ${i}: got ${a[i]}, expected ${b[i]}`);
};

describe('bootstrap intervals match scikit-learn on the same draws (tools/fixtures/core_bootstrap.py)', () => {
  it('records the command that made it', () => expect(fx.command).toBe('/usr/bin/python3 tools/fixtures/core_bootstrap.py'));
  it.each((fx.cases as Case[]).map((k) => [k.name, k] as const))('%s', (_name, k) => {
    const options = { resamples: fx.resamples, seed: k.seed, level: fx.level };
    const [first] = bootstrapDraws(k.id.length, k.oods.map((o) => o.length), options);
    expect(Array.from(first!.id)).toEqual(k.firstDraw.id);
    expect(first!.oods.map((o) => Array.from(o))).toEqual(k.firstDraw.oods);
    const samples = bootstrapOodSetsSamples(k.id, k.oods, options);
    k.oods.forEach((_, s) => { for (const m of KEYS) closeTo(samples.sets[s]![m], k.samples[s]![m]!); });
    const named = Object.fromEntries(k.oods.map((o, s) => [`set${s}`, o]));
    const r = evaluateOodSetsWithIntervals(k.id, named, options);
    k.oods.forEach((_, s) => {
      const got = r.sets[`set${s}`]!;
      for (const m of KEYS) {
        closeTo(got.ci[m], k.ci[s]![m]!);
        expect(got[m]).toBeCloseTo(k.points[s]![m]!, 12);
        expect(got.ci[m][0]).toBeLessThanOrEqual(got.ci[m][1]);
      }
      expect(got.bootstrap).toEqual({ resamples: fx.resamples, seed: k.seed, level: fx.level, stratified: true });
    });
    for (const m of KEYS) {
      closeTo(r.average.ci[m], k.average.ci[m]!);
      expect(r.average[m]).toBeCloseTo(k.average.point[m]!, 12);
    }
    if (k.oods.length === 1) expect(evaluateOodWithIntervals(k.id, k.oods[0]!, options)).toEqual(r.sets.set0);
  });
});

describe('bootstrap: determinism and defaults', () => {
  const rand = mulberry32(99);
  const id = Array.from({ length: 80 }, () => rand() + 0.3), ood = Array.from({ length: 50 }, () => rand());
  it('the same seed gives the same intervals; another seed gives others', () => {
    const a = evaluateOodWithIntervals(id, ood, { resamples: 300, seed: 5 });
    expect(evaluateOodWithIntervals(id, ood, { resamples: 300, seed: 5 })).toEqual(a);
    expect(evaluateOodWithIntervals(id, ood, { resamples: 300, seed: 6 }).ci.auroc).not.toEqual(a.ci.auroc);
  });
  it('defaults to 1000 resamples, seed 0, 95%', () => {
    expect(BOOTSTRAP_DEFAULTS).toEqual({ resamples: 1000, seed: 0, level: 0.95 });
    const r = evaluateOodWithIntervals(id, ood);
    expect(r.bootstrap).toEqual({ resamples: 1000, seed: 0, level: 0.95, stratified: true });
    expect(r).toEqual(evaluateOodWithIntervals(id, ood, { resamples: 1000, seed: 0, level: 0.95 }));
  });
  it('the point values are evaluateOod’s, and a wider level gives a wider interval', () => {
    const r95 = evaluateOodWithIntervals(id, ood, { resamples: 400 });
    const r50 = evaluateOodWithIntervals(id, ood, { resamples: 400, level: 0.5 });
    expect({ auroc: r95.auroc, fpr95: r95.fpr95, auprIn: r95.auprIn, auprOut: r95.auprOut }).toEqual(evaluateOod(id, ood));
    for (const m of KEYS) {
      expect(r50.ci[m][0]).toBeGreaterThanOrEqual(r95.ci[m][0]);
      expect(r50.ci[m][1]).toBeLessThanOrEqual(r95.ci[m][1]);
    }
    expect(r95.ci.auroc[1] - r95.ci.auroc[0]).toBeGreaterThan(0);
  });
  it('methods scored on the same images get the same draws (paired intervals)', () => {
    const other = id.map((v) => v * 2 + 1);
    const a = bootstrapDraws(id.length, [ood.length], { resamples: 3, seed: 1 });
    expect(bootstrapDraws(other.length, [ood.length], { resamples: 3, seed: 1 })).toEqual(a);
  });
});

describe('bootstrap: coverage on synthetic data with a known AUROC', () => {
  it('the 95% AUROC interval covers the true value in about 95% of datasets', () => {
    // ID ~ N(1, 1), OOD ~ N(0, 1): AUROC = Φ(1/√2) = 0.760250...
    const truth = 0.7602499389065233;
    const rand = mulberry32(2024);
    const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    const trials = 200;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const id = Array.from({ length: 120 }, () => 1 + normal()), ood = Array.from({ length: 80 }, normal);
      const { ci } = evaluateOodWithIntervals(id, ood, { resamples: 300, seed: t });
      if (ci.auroc[0] <= truth && truth <= ci.auroc[1]) covered++;
    }
    // Binomial(200, 0.95) has sd 1.5%; a percentile bootstrap runs slightly under nominal.
    expect(covered / trials).toBeGreaterThanOrEqual(0.88);
    expect(covered / trials).toBeLessThanOrEqual(0.99);
  });
});

describe('bootstrap: bad options', () => {
  it.each([
    [{ resamples: 0 }, /resamples must be an integer ≥ 1/],
    [{ resamples: 2.5 }, /resamples must be an integer ≥ 1/],
    [{ seed: -1 }, /seed must be an integer/],
    [{ level: 95 }, /level must be a fraction in \(0, 1\)/],
    [{ level: 0 }, /level must be a fraction/],
  ])('%o', (options, message) => {
    expect(() => evaluateOodWithIntervals([1, 2], [0], options)).toThrow(FstaError);
    expect(() => evaluateOodWithIntervals([1, 2], [0], options)).toThrow(message);
  });
  it('names a non-finite score and an empty set', () => {
    expect(() => evaluateOodWithIntervals([1, NaN], [0])).toThrow(/ID scores has NaN at sample 1/);
    expect(() => evaluateOodWithIntervals([1], [])).toThrow(/OOD scores are empty/);
    expect(() => evaluateOodSetsWithIntervals([1], {})).toThrow(/no OOD sets/);
    expect(() => evaluateOodSetsWithIntervals([1], { a: [0], b: [Infinity] })).toThrow(/OOD scores of set 1 has Infinity at sample 0/);
  });
});

describe('bootstrap: paired difference of two methods', () => {
  const rand = mulberry32(3);
  const idA = Array.from({ length: 90 }, () => rand() + 0.4), oodA = Array.from({ length: 60 }, () => rand());
  const idB = idA.map((v, i) => v + (i % 3 === 0 ? -0.3 : 0.05)), oodB = oodA.map((v) => v + 0.02);
  it('is the percentile interval of the per-resample differences on the same draws', () => {
    const d = compareOodWithIntervals({ id: idA, ood: oodA }, { id: idB, ood: oodB }, { resamples: 250, seed: 4 });
    const sa = bootstrapOodSamples(idA, oodA, { resamples: 250, seed: 4 }), sb = bootstrapOodSamples(idB, oodB, { resamples: 250, seed: 4 });
    for (const m of KEYS) {
      const diffs = Array.from(sa[m], (v, i) => v - sb[m][i]!).sort((x, y) => x - y);
      const pos = 0.025 * 249;
      expect(d.ci[m][0]).toBeCloseTo(diffs[Math.floor(pos)]! + (diffs[Math.ceil(pos)]! - diffs[Math.floor(pos)]!) * (pos - Math.floor(pos)), 12);
      expect(d.difference[m]).toBeCloseTo(evaluateOod(idA, oodA)[m] - evaluateOod(idB, oodB)[m], 12);
    }
  });
  it('a method against itself differs by exactly 0', () => {
    const d = compareOodWithIntervals({ id: idA, ood: oodA }, { id: idA, ood: oodA }, { resamples: 50 });
    for (const m of KEYS) expect(d.ci[m]).toEqual([0, 0]);
  });
  it('refuses methods scored on different image sets', () => {
    expect(() => compareOodWithIntervals({ id: idA, ood: oodA }, { id: idB.slice(1), ood: oodB })).toThrow(/same images/);
    expect(() => compareOodSetsWithIntervals({ id: idA, oods: { x: oodA } }, { id: idB, oods: { y: oodB } })).toThrow(/1 ID|same images/);
  });
  it('over several sets: per-set differences as for one set, and the mean’s interval from the per-resample means', () => {
    const oodA2 = oodA.map((v) => v * 0.5 + 0.2), oodB2 = oodB.map((v) => v * 0.4 + 0.3);
    const opts = { resamples: 120, seed: 9 };
    const d = compareOodSetsWithIntervals({ id: idA, oods: { one: oodA, two: oodA2 } }, { id: idB, oods: { one: oodB, two: oodB2 } }, opts);
    const sa = bootstrapOodSetsSamples(idA, [oodA, oodA2], opts), sb = bootstrapOodSetsSamples(idB, [oodB, oodB2], opts);
    for (const m of KEYS) {
      const diffs = Array.from(sa.average[m], (v, i) => v - sb.average[m][i]!).sort((x, y) => x - y);
      const pos = 0.975 * 119;
      expect(d.average.ci[m][1]).toBeCloseTo(diffs[Math.floor(pos)]! + (diffs[Math.ceil(pos)]! - diffs[Math.floor(pos)]!) * (pos - Math.floor(pos)), 12);
      expect(d.average.difference[m]).toBeCloseTo((d.sets.one!.difference[m] + d.sets.two!.difference[m]) / 2, 12);
    }
  });
});
