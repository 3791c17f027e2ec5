import { describe, expect, it } from 'vitest';
import {
  FstaError, PAPER_LAMBDA, ashShape, channelMad, energy, featureMedianDev, featureSim, featureStd, fitDice, fitGmm2, fitKnn,
  fitMahalanobis, fitReact, fuse, fuseTensor, gmmScoreOf, gradNorm, gramMatrix, knnScores, lambdaFromSpread, mahalanobisScores,
  msp, reactScore, referenceOps as ops, tensor,
} from '../src/index.js';

const read = async (x: Parameters<typeof ops.read>[0]) => Array.from(await ops.read(x));
/** A deterministic pseudo-random sequence, so identities are checked on non-trivial data. */
const seq = (n: number, seed = 1) => Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FstaError);
    return (e as FstaError).code;
  }
  return expect.fail('expected an FstaError');
};

describe('feature-score identities', () => {
  const shape = [2, 3, 4, 5];
  const base = seq(120);
  it('FS and every deviation-based variant are 0 on a constant map', async () => {
    const f = tensor(new Float32Array(120).fill(1.7), shape);
    for (const s of [featureSim, featureMedianDev, featureStd, channelMad]) expect(await read(s(ops, f))).toEqual([0, 0]);
  });
  it('FS, median and std are invariant to adding a per-channel constant', async () => {
    const shifted = base.map((v, i) => v + [3, -7, 11][Math.floor(i / 20) % 3]!);
    for (const s of [featureSim, featureMedianDev, featureStd]) {
      const a = await read(s(ops, tensor(base, shape))), b = await read(s(ops, tensor(shifted, shape)));
      a.forEach((v, i) => expect(b[i]).toBeCloseTo(v, 5));
    }
  });
  it('FS scales linearly with a positive scale', async () => {
    const a = await read(featureSim(ops, tensor(base, shape)));
    const b = await read(featureSim(ops, tensor(base.map((v) => v * 3.5), shape)));
    a.forEach((v, i) => expect(b[i]).toBeCloseTo(3.5 * v, 5));
  });
  it('FS handles (B, C, L) tokens: hand-derived', async () => {
    // channel 0: 1, 3 -> |dev| 1, 1; channel 1: 0, 0, -> 0, 0. mean = 0.5
    expect(await read(featureSim(ops, tensor([1, 3, 0, 0], [1, 2, 2])))).toEqual([0.5]);
  });
  it('Gram matrix: hand-derived (F = [[1, 2], [3, 4]], S = 2)', async () => {
    // G = F·Fᵀ/2 = [[5, 11], [11, 25]] / 2
    expect(await read(gramMatrix(ops, tensor([1, 2, 3, 4], [1, 2, 1, 2])))).toEqual([2.5, 5.5, 5.5, 12.5]);
  });
  it('median deviation averages the two middle values (even count)', async () => {
    // one channel, values 0, 1, 3, 8: mean 3, |dev| 3, 2, 0, 5 -> sorted 0, 2, 3, 5 -> median 2.5
    expect(await read(featureMedianDev(ops, tensor([0, 1, 3, 8], [1, 1, 2, 2])))).toEqual([2.5]);
  });
  it('rejects pooled (rank-2) features with a clear error', () => {
    for (const s of [featureStd, channelMad, gramMatrix]) expect(code(() => s(ops, tensor([1, 2], [1, 2])))).toBe('BAD_RANK');
  });
});

describe('GMM', () => {
  it('separates two clusters and scores (μ_f − μ_g)·w_f/w_g', () => {
    const g = fitGmm2([0, 0.1, -0.1, 0.05, -0.05, 0.02, 5, 5.1, 4.9]);
    expect(g.means[0]).toBeCloseTo(0.00333, 4);
    expect(g.means[1]).toBeCloseTo(5, 6);
    expect(g.weights[1]).toBeCloseTo(1 / 3, 6);
    expect(gmmScoreOf(g)).toBeCloseTo((5 - 0.02 / 6) * 0.5, 5);
  });
  it('is deterministic and order-independent', () => {
    const v = seq(32, 3);
    const a = fitGmm2(v), b = fitGmm2([...v].reverse());
    expect(fitGmm2(v)).toEqual(a);
    for (const k of ['means', 'variances', 'weights'] as const) a[k].forEach((x, i) => expect(b[k][i]).toBeCloseTo(x, 10));
  });
  it('scores a constant input 0 and rejects bad input', () => {
    expect(gmmScoreOf(fitGmm2([2, 2, 2, 2]))).toBeCloseTo(0, 12);
    expect(code(() => fitGmm2([1]))).toBe('EMPTY');
    expect(code(() => fitGmm2([1, NaN, 2]))).toBe('NON_FINITE');
  });
});

describe('classifier-score identities', () => {
  const z = tensor(seq(12, 5).map((v) => v * 4), [3, 4]);
  it('energy with T = 1 equals logsumexp, by hand', async () => {
    expect((await read(energy(ops, tensor([0, Math.log(3)], [1, 2]))))[0]).toBeCloseTo(Math.log(4), 6);
    const lse = await read(ops.logsumexp(z, [1]));
    expect(await read(energy(ops, z, 1))).toEqual(lse);
  });
  it('msp is in (0, 1] and 1/K for equal logits', async () => {
    for (const v of await read(msp(ops, z))) expect(v > 0 && v <= 1).toBe(true);
    expect((await read(msp(ops, tensor([7, 7, 7, 7], [1, 4]))))[0]).toBeCloseTo(0.25, 7);
  });
  it('GradNorm is 0 for uniform predictions and hand-derived otherwise', async () => {
    expect(await read(gradNorm(ops, tensor([1, -2], [1, 2]), tensor([3, 3], [1, 2])))).toEqual([0]);
    // p = (0.25, 0.75): Σ|p − 1/2| = 0.5; Σ|h| = 3 -> 1.5
    expect((await read(gradNorm(ops, tensor([1, -2], [1, 2]), tensor([0, Math.log(3)], [1, 2]))))[0]).toBeCloseTo(1.5, 6);
  });
  it('rejects mismatched batches, rank-1 logits and bad temperatures', () => {
    expect(code(() => gradNorm(ops, tensor([1, 2, 3, 4], [2, 2]), tensor([1, 2], [1, 2])))).toBe('SHAPE_MISMATCH');
    expect(code(() => msp(ops, tensor([1, 2], [2])))).toBe('BAD_RANK');
    expect(code(() => energy(ops, z, 0))).toBe('BAD_TEMPERATURE');
  });
});

describe('fitted methods: hand-derived values and validation', () => {
  const head = { weight: { data: [1, 0, 0, 1], shape: [2, 2] }, bias: [0, 0] };
  it('ReAct clips at the ID percentile (NumPy linear interpolation)', async () => {
    const fit = fitReact({ data: [0, 1, 2, 3, 4], shape: [5, 1] }, 90); // 0.9·4 = 3.6 -> 3 + 0.6 = 3.6
    expect(fit.clip).toBeCloseTo(3.6, 12);
    // h = (10, 0) -> clipped (3.6, 0) -> identity head -> log(e^3.6 + 1)
    const s = await read(reactScore(ops, tensor([10, 0], [1, 2]), head, fit));
    expect(s[0]).toBeCloseTo(Math.log(Math.exp(3.6) + 1), 5);
  });
  it('ASH keeps k = D − round_half_even(D·p/100) values: D = 10, p = 65 keeps 4', async () => {
    const h = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [1, 10]);
    expect(await read(ashShape(ops, h, 'p', 65))).toEqual([0, 0, 0, 0, 0, 0, 7, 8, 9, 10]);
    // ASH-B: total 55 spread over the 4 kept
    expect(await read(ashShape(ops, h, 'b', 65))).toEqual([0, 0, 0, 0, 0, 0, 13.75, 13.75, 13.75, 13.75]);
  });
  it('ASH-B with ties at the cut keeps every tied value (documented)', async () => {
    expect(await read(ashShape(ops, tensor([4, 0, 0, 0], [1, 4]), 'b', 50))).toEqual([1, 1, 1, 1]);
  });
  it('DICE keeps only the top contributions', () => {
    const fit = fitDice({ data: [1, 2, 3, 4], shape: [2, 2] }, head, 50); // mean h = (2, 3); contrib [2, 0, 0, 3]
    expect(fit.weight).toEqual([1, 0, 0, 1]);
    expect(fitDice({ data: [1, 2, 3, 4], shape: [2, 2] }, head, 75).weight).toEqual([0, 0, 0, 1]);
  });
  it('KNN: distance to the k-th nearest normalized feature', () => {
    const fit = fitKnn({ data: [1, 0, 0, 2, -3, 0], shape: [3, 2] }, 2); // normalized: (1,0), (0,1), (-1,0)
    // query (5, 0) -> (1, 0): distances 0, √2, 2 -> k = 2 -> −√2
    expect(knnScores(fit, { data: [5, 0], shape: [1, 2] })[0]).toBeCloseTo(-Math.SQRT2, 12);
    expect(code(() => fitKnn({ data: [1, 0], shape: [1, 2] }, 2))).toBe('BAD_K');
    expect(code(() => knnScores(fit, { data: [0, 0], shape: [1, 2] }))).toBe('ZERO_VECTOR');
  });
  it('Mahalanobis: identity covariance gives −(squared Euclidean distance to the nearest mean)', () => {
    // class 0 at (±1, 0) around (0, 0), class 1 at (10, ±1) around (10, 0): Σ = diag(1/2, 1/2)
    const fit = fitMahalanobis({ data: [1, 0, -1, 0, 10, 1, 10, -1], shape: [4, 2] }, [0, 0, 1, 1], { shrinkage: 0 });
    const s = mahalanobisScores(fit, { data: [1, 1, 9, 0], shape: [2, 2] });
    expect(s[0]).toBeCloseTo(-4, 10); // (1,1)ᵀ·2I·(1,1)
    expect(s[1]).toBeCloseTo(-2, 10);
  });
  it('every fit rejects empty, non-finite and mismatched input with the sample index', () => {
    const empty = { data: [], shape: [0, 2] };
    expect(code(() => fitReact(empty))).toBe('EMPTY');
    expect(code(() => fitKnn(empty, 1))).toBe('EMPTY');
    expect(code(() => fitDice(empty, head))).toBe('EMPTY');
    expect(code(() => fitMahalanobis(empty, []))).toBe('EMPTY');
    expect(() => fitReact({ data: [1, 2, 3, Infinity], shape: [2, 2] })).toThrow(/sample 1/);
    expect(code(() => fitMahalanobis({ data: [1, 2, 3, 4], shape: [2, 2] }, [0]))).toBe('SHAPE_MISMATCH');
    expect(code(() => fitDice({ data: [1, 2, 3], shape: [1, 3] }, head))).toBe('SHAPE_MISMATCH');
    expect(code(() => fitReact({ data: [1, 2, 3], shape: [2, 2] }))).toBe('SHAPE_MISMATCH');
    expect(code(() => reactScore(ops, tensor([1, 2], [1, 2]), head, {} as never))).toBe('BAD_FIT');
  });
});

describe('fusion', () => {
  it('S = S_feat + λ·S_cls, on arrays and tensors alike', async () => {
    expect(Array.from(fuse([1, 2], [10, 20], 0.1))).toEqual([2, 4]);
    expect(await read(fuseTensor(ops, tensor([1, 2], [2]), tensor([10, 20], [2]), 0.1))).toEqual([2, 4]);
  });
  it('carries the paper’s λ', () => {
    expect(PAPER_LAMBDA).toEqual({ msp: 0.1, energy: 0.016, odin: 1300, gradnorm: 0.4, react: 0.028 });
  });
  it('λ from spread equalises the spreads', () => {
    const feat = [1, 2, 3, 4], cls = [10, 30, 20, 50];
    const lambda = lambdaFromSpread(feat, cls);
    const std = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + (x - v.reduce((a, b) => a + b) / v.length) ** 2, 0) / v.length);
    expect(lambda * std(cls)).toBeCloseTo(std(feat), 12);
    expect(code(() => lambdaFromSpread([1, 2], [3, 3]))).toBe('ZERO_SPREAD');
    expect(code(() => lambdaFromSpread([1], [3]))).toBe('EMPTY');
    expect(code(() => fuse([1, 2], [1], 1))).toBe('SHAPE_MISMATCH');
    expect(() => fuse([1, NaN], [1, 2], 1)).toThrow(/sample 1/);
  });
});
