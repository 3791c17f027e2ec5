import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ashScore, ashShape, channelMad, fdbdScore, fitFdbd, scaleScore, scaleShape, diceScore, energy, featureMedianDev, featureSim, featureStd, fitDice, fitGmm2, fitKnn,
  fitMahalanobis, fitReact, gmmFeatureScores, gmmScoreOf, gmmScoresFromChannels, gradNorm, gramStat, knnScores,
  mahalanobisScores, maxLogit, msp, odinScore, reactScore, referenceOps as ops, tensor, thresholdActivation,
} from '../src/index.js';
import type { RefTensor } from '../src/index.js';

interface Enc { data: number[]; shape: number[] }
const fx = JSON.parse(readFileSync(new URL('./fixtures/core-scores.json', import.meta.url), 'utf8'));
const t = (e: Enc): RefTensor => tensor(e.data, e.shape);
const close = (actual: ArrayLike<number>, expected: readonly number[], rtol = 1e-5, atol = 1e-6) => {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]!);
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol)) expect.fail(`index ${i}: got ${actual[i]}, expected ${expected[i]} (±${tol})`);
  }
};
const read = (x: RefTensor) => ops.read(x);

describe('fixture provenance', () => {
  it('records the command that made it', () => {
    expect(fx.command).toBe('/usr/bin/python3 tools/fixtures/core_scores.py');
  });
});

describe.each([
  ['NCHW map', 'fmap', 'fmap_scores'],
  ['(B, C, L) tokens', 'tokens', 'token_scores'],
] as const)('feature scores on %s match torch', (_label, input, key) => {
  const f = t(fx.features[input]);
  const want = fx.features[key];
  it('FS', async () => close(await read(featureSim(ops, f)), want.fs));
  it('median deviation', async () => close(await read(featureMedianDev(ops, f)), want.median_dev));
  it('std', async () => close(await read(featureStd(ops, f)), want.std));
  it('channel MAD', async () => close(await read(channelMad(ops, f)), want.channel_mad));
  it.each([['mean', 'gram_mean'], ['std', 'gram_std'], ['mad', 'gram_mad']] as const)('Gram %s', async (stat, k) => {
    close(await read(gramStat(ops, f, stat)), want[k]);
  });
});

describe('TA', () => {
  it('ReLU(f − k) and FS of it match torch', async () => {
    const ta = thresholdActivation(ops, t(fx.features.fmap), fx.features.k);
    close(await read(ta), fx.features.ta_map, 0, 0);
    close(await read(featureSim(ops, ta)), fx.features.fs_of_ta);
  });
});

describe('GMM matches scikit-learn GaussianMixture with the same start', () => {
  const rows: { means: number[]; variances: number[]; weights: number[]; logLikelihood: number; score: number }[] = fx.gmm.fits;
  const [n, c] = fx.gmm.channel_means.shape as [number, number];
  it.each(rows.map((r, i) => [i, r] as const))('sample %i', (i, want) => {
    const g = fitGmm2(fx.gmm.channel_means.data.slice(i * c, (i + 1) * c));
    expect(g.converged).toBe(true);
    close(g.means, want.means, 1e-5);
    close(g.weights, want.weights, 1e-5);
    close(g.variances, want.variances, 1e-4);
    close([g.logLikelihood], [want.logLikelihood], 1e-5);
    close([gmmScoreOf(g)], [want.score], 1e-5);
  });
  it('scores a feature map through its channel means', async () => {
    const want = rows.map((r) => r.score);
    close(gmmScoresFromChannels(fx.gmm.channel_means.data, [n, c]), want, 1e-5);
    close(await gmmFeatureScores(ops, t(fx.gmm.fmap)), want, 1e-4);
  });
});

describe('classifier scores match torch', () => {
  const c = fx.classifier;
  const z = t(c.logits), h = t(c.h);
  const head = { weight: c.W as Enc, bias: c.b.data as number[] };
  it('msp, maxlogit, energy, odin', async () => {
    close(await read(msp(ops, z)), c.msp);
    close(await read(msp(ops, z, 2)), c.msp_T2);
    close(await read(maxLogit(ops, z)), c.maxlogit);
    close(await read(energy(ops, z)), c.energy);
    close(await read(energy(ops, z, 2)), c.energy_T2);
    close(await read(odinScore(ops, z)), c.odin_T1000);
  });
  it('GradNorm closed form equals torch autograd of the uniform-target loss', async () => {
    const logits = ops.linear(h, t(c.W), t(c.b));
    close(await read(logits), c.head_logits);
    close(await read(gradNorm(ops, h, logits)), c.gradnorm);
  });
  it('ReAct', async () => {
    const fit = fitReact(c.id_pen, 90);
    close([fit.clip], [c.react_clip], 1e-12, 0);
    close(await read(reactScore(ops, h, head, fit)), c.react);
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
  it.each(['p65', 'b65', 's65', 'p90', 'b90', 's90'])('ASH-%s (the authors’ topk + scatter)', async (key) => {
    const variant = key[0] as 'p' | 'b' | 's';
    const percentile = Number(key.slice(1));
    close(await read(ashShape(ops, h, variant, percentile)), c.ash[key].shaped);
    close(await read(ashScore(ops, h, head, { variant, percentile })), c.ash[key].score);
  });
  it.each(['65', '85'])('SCALE at percentile %s (the authors’ scale() + energy)', async (p) => {
    close(await read(scaleShape(ops, h, Number(p))), c.scale[p].shaped);
    close(await read(scaleScore(ops, h, head, { percentile: Number(p) })), c.scale[p].score);
  });
  it('SCALE defaults to the authors’ percentile 85', async () => {
    close(await read(scaleScore(ops, h, head)), c.scale['85'].score);
  });
  it('fDBD (the authors’ run_imagenet.py, their class sum divided by K − 1)', async () => {
    const fit = fitFdbd(c.id_pen, head);
    close(fit.mean, c.fdbd.train_mean, 1e-12, 0);
    close(await read(fdbdScore(ops, h, head, fit)), c.fdbd.score);
    const k = c.W.shape[0];
    close(c.fdbd.score.map((v: number) => v * (k - 1)), c.fdbd.authors_sum, 1e-12, 0);
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
  it.each(['90', '70'])('DICE at sparsity %s', async (p) => {
    const fit = fitDice(c.id_pen, head, Number(p));
    close([fit.threshold], [c.dice[p].threshold], 1e-6);
    close(fit.weight, c.dice[p].masked_weight, 0, 0);
    close(await read(diceScore(ops, h, fit)), c.dice[p].score);
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
  it('KNN', () => {
    const fit = fitKnn(c.knn.bank, c.knn.k);
    close(knnScores(fit, c.knn.query), c.knn.score, 1e-6);
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
  it('Mahalanobis', () => {
    const m = c.mahalanobis;
    const fit = fitMahalanobis(m.features, m.labels, { shrinkage: m.shrinkage });
    expect(fit.classes).toEqual([0, 1, 2]);
    close(fit.means, m.means, 1e-6);
    close(fit.precision, m.precision, 1e-5, 1e-8);
    close(mahalanobisScores(fit, m.query), m.score, 1e-6);
    expect(JSON.parse(JSON.stringify(fit))).toEqual(fit);
  });
});
