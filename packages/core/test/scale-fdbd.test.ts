import { describe, expect, it } from 'vitest';
import { FstaError, ashShape, fdbdScore, fitFdbd, lambdaFromSpread, referenceOps as ops, resolveLambda, scaleScore, scaleShape, tensor } from '../src/index.js';

const head = { weight: { data: [1, 0, 0, 1, 0, -1], shape: [3, 2] }, bias: [0.5, 0, -0.5] };
const idH = { data: [0, 0, 0, 2, 1, 1], shape: [3, 2] };

describe('SCALE', () => {
  it('is ASH-S before pruning: the kept values of SCALE(h) equal ASH-S(h), the rest are h scaled by the same factor', async () => {
    const h = tensor([0.5, 2, 0.1, 3, 1, 0.2, 4, 0.3, 0.7, 1.5, 2.5, 0.05], [2, 6]);
    const s = await ops.read(scaleShape(ops, h, 50));
    const a = await ops.read(ashShape(ops, h, 's', 50));
    const raw = h.data;
    for (let i = 0; i < 12; i++) if (a[i] !== 0) expect(s[i]).toBeCloseTo(a[i]!, 5);
    // row 0: kept 2, 3, 1 (sum 6 of 6.8) -> every value times exp(6.8/6)
    for (let i = 0; i < 6; i++) expect(s[i]).toBeCloseTo(raw[i]! * Math.exp(6.8 / 6), 5);
  });
  it('percentile 0 keeps everything: the scale is e and the score is energy(head(e·h))', async () => {
    const h = tensor([1, 2], [1, 2]);
    const [v] = await ops.read(scaleScore(ops, h, { weight: { data: [1, 0, 0, 1], shape: [2, 2] } }, { percentile: 0 }));
    expect(v).toBeCloseTo(Math.log(Math.exp(Math.E) + Math.exp(2 * Math.E)), 5);
  });
  it('refuses a percentile that keeps nothing, or 100', () => {
    const h = tensor([1, 2, 3], [1, 3]);
    expect(() => scaleShape(ops, h, 99)).toThrow(/SCALE at percentile 99 keeps no activation out of 3/);
    expect(() => scaleShape(ops, h, 100)).toThrow(FstaError);
    expect(() => scaleScore(ops, h, { weight: { data: [1, 1, 1], shape: [1, 3] } }, { temperature: 0 })).toThrow(/temperature/);
  });
});

describe('fDBD', () => {
  it('fits μ and 1/‖w_p − w_c‖ in float64, symmetric with a zero diagonal', () => {
    const fit = fitFdbd(idH, head);
    expect(fit.mean).toEqual([1 / 3, 1]);
    expect(fit.classes).toBe(3);
    expect(fit.inverseDistance).toEqual([0, 1 / Math.SQRT2, 1 / Math.SQRT2, 1 / Math.SQRT2, 0, 0.5, 1 / Math.SQRT2, 0.5, 0]);
  });
  it('is invariant to adding a constant to every logit (a shared bias) and scales as 1/‖h − μ‖', async () => {
    const fit = fitFdbd(idH, head);
    const h = tensor([3, 1, 0.5, 2], [2, 2]);
    const base = await ops.read(fdbdScore(ops, h, head, fit));
    const shifted = { ...head, bias: head.bias.map((b) => b + 7) };
    expect(Array.from(await ops.read(fdbdScore(ops, h, shifted, fitFdbd(idH, shifted))))).toEqual(Array.from(base).map((v) => expect.closeTo(v, 5)));
  });
  it('matches a direct host computation on random data', async () => {
    let s = 1;
    const rnd = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const k = 5, d = 4, n = 6;
    const hd = { weight: { data: Array.from({ length: k * d }, rnd), shape: [k, d] }, bias: Array.from({ length: k }, rnd) };
    const id = { data: Array.from({ length: 10 * d }, rnd), shape: [10, d] };
    const x = Array.from({ length: n * d }, rnd);
    const fit = fitFdbd(id, hd);
    const got = await ops.read(fdbdScore(ops, tensor(x, [n, d]), hd, fit));
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: k }, (_, c) => hd.bias[c]! + Array.from({ length: d }, (_, j) => hd.weight.data[c * d + j]! * x[i * d + j]!).reduce((a, b) => a + b));
      const p = z.indexOf(Math.max(...z));
      let sum = 0;
      for (let c = 0; c < k; c++) {
        if (c === p) continue;
        const norm = Math.hypot(...Array.from({ length: d }, (_, j) => hd.weight.data[p * d + j]! - hd.weight.data[c * d + j]!));
        sum += Math.abs(z[p]! - z[c]!) / norm;
      }
      const dev = Math.hypot(...Array.from({ length: d }, (_, j) => x[i * d + j]! - fit.mean[j]!));
      expect(got[i]).toBeCloseTo(sum / (k - 1) / dev, 5);
    }
  });
  it('refuses identical head rows, a one-class head, a bad fit and a different head', () => {
    expect(() => fitFdbd(idH, { weight: { data: [1, 0, 1, 0], shape: [2, 2] } })).toThrow(/head rows 0 and 1 are identical/);
    expect(() => fitFdbd(idH, { weight: { data: [1, 0], shape: [1, 2] } })).toThrow(/at least 2 classes/);
    const h = tensor([1, 2], [1, 2]);
    expect(() => fdbdScore(ops, h, head, { kind: 'react' } as never)).toThrow(/fitFdbd/);
    const fit = fitFdbd(idH, head);
    expect(() => fdbdScore(ops, h, { ...head, weight: { data: [1, 0, 0, 1, 0, -1.5], shape: [3, 2] } }, fit)).toThrow(/different classifier head/);
    expect(() => fdbdScore(ops, h, { weight: { data: [1, 0, 0, 1], shape: [2, 2] } }, fit)).toThrow(/fit is for 3 classes/);
    expect(() => fdbdScore(ops, tensor([1, 2, 3], [1, 3]), head, fit)).toThrow(FstaError);
  });
  it('round-trips through JSON', () => {
    const fit = fitFdbd(idH, head);
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
});

describe('λ for the fusions the paper gives no value for', () => {
  const f = [1, 2, 3, 4], c = [10, 30, 20, 50];
  it.each(['ash', 'scale', 'fdbd'] as const)('%s defaults to the spread rule and refuses "paper"', (name) => {
    expect(resolveLambda(name, undefined, f, c)).toEqual({ value: lambdaFromSpread(f, c), rule: 'spread' });
    expect(() => resolveLambda(name, 'paper', f, c)).toThrow(/the paper gives no λ/);
  });
  it('energy keeps the paper’s 0.016', () => expect(resolveLambda('energy', undefined, f, c)).toEqual({ value: 0.016, rule: 'paper' }));
});
