/**
 * The conformance suite every `TensorOps` backend runs against itself, as tf.js
 * backends run tfjs-core's tests. Each case builds one small computation through the
 * contract; its expected output is derived by hand (the derivation is in the case),
 * never by running the reference backend. Framework-free: the backend's own test
 * wraps `runConformance` in its runner.
 *
 *   const results = await runConformance(eagerEvaluator(myOps));
 *   for (const r of results) expect(r.ok, `${r.name}: ${r.message}`).toBe(true);
 */
import type { EagerOps, TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { channelsFirst, featureSim, thresholdActivation } from './features.js';
import { channelMad, featureMedianDev, featureStd, gramStat } from './feature-variants.js';
import { energy, gradNorm, maxLogit, msp, odinScore } from './classifier-scores.js';
import { reactScore } from './react.js';
import { ashScore, ashShape } from './ash.js';
import { diceScore } from './dice.js';
import { scaleScore, scaleShape } from './scale.js';
import { fdbdScore, fitFdbd } from './fdbd.js';
import { fuseTensor } from './fusion.js';

export interface TensorData {
  data: number[];
  shape: number[];
}

/** A computation over the contract: gets the case's inputs as backend tensors, returns one tensor. */
export type ConformanceBuild = <T>(ops: TensorOps<T>, ...xs: T[]) => T;

export interface ConformanceCase {
  name: string;
  inputs: TensorData[];
  build: ConformanceBuild;
  expected: TensorData;
  rtol: number;
  atol: number;
}

/** The backend's harness: make the inputs, run `build` (eagerly, or traced into a graph and executed), return the output. */
export type ConformanceEvaluate = (build: ConformanceBuild, inputs: readonly TensorData[]) => Promise<{ data: Float32Array | ArrayLike<number>; shape: readonly number[] }>;

export interface ConformanceResult {
  name: string;
  ok: boolean;
  /** Largest |actual − expected|; NaN when the case failed before comparing. */
  maxAbsErr: number;
  message: string;
}

const td = (data: number[], shape: number[]): TensorData => ({ data, shape });
const iota = (n: number) => Array.from({ length: n }, (_, i) => i);
const LN2 = Math.log(2), LN3 = Math.log(3), LN4 = Math.log(4);

/** Exact arithmetic (adds, compares, copies): float32 rounding only. */
const EXACT = { rtol: 1e-6, atol: 1e-6 };
/** exp/log/sqrt/division chains: what a float32 backend with approximate transcendentals meets. */
const TRANSCENDENTAL = { rtol: 1e-5, atol: 1e-5 };

const c = (name: string, inputs: TensorData[], build: ConformanceBuild, expected: TensorData, tol = EXACT): ConformanceCase => ({ name, inputs, build, expected, ...tol });

// x3: (2, 3, 2) holding 0..11, i.e. x3[i][j][k] = 6i + 2j + k.
const x3 = td(iota(12), [2, 3, 2]);
const m23 = td([1, 2, 3, 4, 5, 6], [2, 3]);
const identityHead = { weight: { data: [1, 0, 0, 1], shape: [2, 2] }, bias: [0, 0] };

export const conformanceCases: ConformanceCase[] = [
  // ---- elementwise and broadcasting ----
  c('add: (2,3) + (3) broadcasts along rows', [m23, td([10, 20, 30], [3])], (o, a, b) => o.add(a!, b!), td([11, 22, 33, 14, 25, 36], [2, 3])),
  c('sub: (2,3) − (2,1) broadcasts along columns', [m23, td([1, 2], [2, 1])], (o, a, b) => o.sub(a!, b!), td([0, 1, 2, 2, 3, 4], [2, 3])),
  c('mul: (2,1) · (1,3) broadcasts both ways to (2,3)', [td([1, 2], [2, 1]), td([1, 2, 3], [1, 3])], (o, a, b) => o.mul(a!, b!), td([1, 2, 3, 2, 4, 6], [2, 3])),
  c('div: by a rank-0 tensor', [td([1, 2, 3, 4], [2, 2]), td([2], [])], (o, a, b) => o.div(a!, b!), td([0.5, 1, 1.5, 2], [2, 2])),
  c('constant: broadcast against an input', [td([1, 2, 3, 4], [2, 2])], (o, a) => o.add(a!, o.constant([10, 100], [2])), td([11, 102, 13, 104], [2, 2])),
  c('maximum: against a (1) tensor', [td([1, -2, 3], [3]), td([0], [1])], (o, a, b) => o.maximum(a!, b!), td([1, 0, 3], [3])),
  c('greater: 1 where a > b (equal gives 0)', [td([1, 2, 3], [3]), td([2, 2, 2], [3])], (o, a, b) => o.greater(a!, b!), td([0, 0, 1], [3])),
  c('abs', [td([-1.5, 0, 2], [3])], (o, a) => o.abs(a!), td([1.5, 0, 2], [3])),
  c('neg', [td([1, -2, 0.5], [3])], (o, a) => o.neg(a!), td([-1, 2, -0.5], [3])),
  c('relu', [td([-1, 0, 2], [3])], (o, a) => o.relu(a!), td([0, 0, 2], [3])),
  c('clamp: both bounds', [td([-2, 0.5, 3], [3])], (o, a) => o.clamp(a!, 0, 1), td([0, 0.5, 1], [3])),
  c('clamp: min only', [td([-2, 0.5, 3], [3])], (o, a) => o.clamp(a!, 0), td([0, 0.5, 3], [3])),
  c('clamp: max only', [td([-2, 0.5, 3], [3])], (o, a) => o.clamp(a!, undefined, 1), td([-2, 0.5, 1], [3])),
  c('exp', [td([0, 1, -1], [3])], (o, a) => o.exp(a!), td([1, Math.E, 1 / Math.E], [3]), TRANSCENDENTAL),
  c('log', [td([1, Math.E, 0.5], [3])], (o, a) => o.log(a!), td([0, 1, -LN2], [3]), TRANSCENDENTAL),
  c('sqrt', [td([4, 2, 0], [3])], (o, a) => o.sqrt(a!), td([2, Math.SQRT2, 0], [3]), TRANSCENDENTAL),
  c('square', [td([-3, 0.5, 0], [3])], (o, a) => o.square(a!), td([9, 0.25, 0], [3])),

  // ---- reductions: axes, negative axes, keepDims ----
  c('sum: axis 1 of (2,3,2)', [x3], (o, x) => o.sum(x!, [1]), td([6, 9, 24, 27], [2, 2])),
  c('sum: axis −1 with keepDims', [x3], (o, x) => o.sum(x!, [-1], true), td([1, 5, 9, 13, 17, 21], [2, 3, 1])),
  c('sum: axes [0, 2]', [x3], (o, x) => o.sum(x!, [0, 2]), td([14, 22, 30], [3])),
  c('sum: every axis gives a rank-0 tensor', [x3], (o, x) => o.sum(x!, [0, 1, 2]), td([66], [])),
  c('mean: axes [1, 2]', [x3], (o, x) => o.mean(x!, [1, 2]), td([2.5, 8.5], [2])),
  c('mean: axes [−2, −1] with keepDims', [x3], (o, x) => o.mean(x!, [-2, -1], true), td([2.5, 8.5], [2, 1, 1])),
  c('max: axis 1', [x3], (o, x) => o.max(x!, [1]), td([4, 5, 10, 11], [2, 2])),
  c('min: axis −2 with keepDims', [x3], (o, x) => o.min(x!, [-2], true), td([0, 1, 6, 7], [2, 1, 2])),
  c('max/min: negative values', [td([-3, -1, -2, -5], [2, 2])], (o, x) => o.add(o.max(x!, [1]), o.min(x!, [0])), td([-1 - 3, -2 - 5], [2])), // max rows (−1, −2) + min columns (−3, −5)
  c('logsumexp: log 4 and a stable 1000 + log 2', [td([0, LN3, 1000, 1000], [2, 2])], (o, x) => o.logsumexp(x!, [-1]), td([LN4, 1000 + LN2], [2]), TRANSCENDENTAL),
  c('logsumexp: axis 0 with keepDims', [td([0, 1, LN3, 1], [2, 2])], (o, x) => o.logsumexp(x!, [0], true), td([LN4, 1 + LN2], [1, 2]), TRANSCENDENTAL),
  c('softmax: last axis, stable at 1000', [td([0, LN3, 1000, 1000], [2, 2])], (o, x) => o.softmax(x!, -1), td([0.25, 0.75, 0.5, 0.5], [2, 2]), TRANSCENDENTAL),
  c('softmax: axis 0', [td([0, 1, LN3, 1], [2, 2])], (o, x) => o.softmax(x!, 0), td([0.25, 0.5, 0.75, 0.5], [2, 2]), TRANSCENDENTAL),

  // ---- percentile (NumPy linear interpolation) and top-k ----
  c('percentile: 50 of an even count averages the middle two', [td([4, 1, 3, 2], [1, 4])], (o, x) => o.percentile(x!, 50, 1), td([2.5], [1])),
  c('percentile: 90 interpolates (pos 2.7 → 3.7)', [td([4, 1, 3, 2], [1, 4])], (o, x) => o.percentile(x!, 90, -1), td([3.7], [1])),
  c('percentile: 0 and 100 are min and max', [td([4, 1, 3, 2], [1, 4])], (o, x) => o.add(o.percentile(x!, 0, 1), o.percentile(x!, 100, 1)), td([5], [1])),
  c('percentile: 25 along axis 0 with keepDims', [td([1, 10, 4, 40, 2, 20], [3, 2])], (o, x) => o.percentile(x!, 25, 0, true), td([1.5, 15], [1, 2])),
  c('topk: k = 2, sorted descending', [td([3, 1, 4, 1, 5, 9, 2, 6], [2, 4])], (o, x) => o.topk(x!, 2), td([4, 3, 9, 6], [2, 2])),
  c('topk: k = D keeps ties', [td([3, 1, 4, 1, 5, 9, 2, 6], [2, 4])], (o, x) => o.topk(x!, 4), td([4, 3, 1, 1, 9, 6, 5, 2], [2, 4])),
  c('topk: rank 3, last axis', [x3], (o, x) => o.topk(x!, 1), td([1, 3, 5, 7, 9, 11], [2, 3, 1])),

  // ---- matmul, linear ----
  c('matmul: (2,3) @ (3,2)', [m23, td([7, 8, 9, 10, 11, 12], [3, 2])], (o, a, b) => o.matmul(a!, b!), td([58, 64, 139, 154], [2, 2])),
  c('matmul: batched left operand (2,1,2) @ (2,2)', [td([1, 2, 3, 4], [2, 1, 2]), td([1, 1, 0, 1], [2, 2])], (o, a, b) => o.matmul(a!, b!), td([1, 3, 3, 7], [2, 1, 2])),
  c('matmul: against a constant weight', [m23], (o, a) => o.matmul(a!, o.constant([1, 0, 0, 1, 1, 1], [3, 2])), td([4, 5, 10, 11], [2, 2])),
  c('linear: x·Wᵀ + b', [m23, td([1, 0, -1, 0.5, 0.5, 0.5], [2, 3]), td([10, -1], [2])], (o, x, w, b) => o.linear(x!, w!, b!), td([8, 2, 8, 6.5], [2, 2])),
  c('linear: without bias', [m23, td([1, 0, -1, 0.5, 0.5, 0.5], [2, 3])], (o, x, w) => o.linear(x!, w!), td([-2, 3, -2, 7.5], [2, 2])),

  // ---- reshape, transpose, shape, dispose ----
  c('reshape: [0, −1] keeps the batch and flattens the rest', [td(iota(24), [2, 3, 4])], (o, x) => o.reshape(x!, [0, -1]), td(iota(24), [2, 12])),
  c('reshape: [4, 0, −1] copies dimension 1', [td(iota(24), [2, 3, 4])], (o, x) => o.reshape(x!, [4, 0, -1]), td(iota(24), [4, 3, 2])),
  c('reshape: [−1] flattens', [x3], (o, x) => o.reshape(x!, [-1]), td(iota(12), [12])),
  c('reshape: [0, 0, 1, −1] adds a unit axis', [x3], (o, x) => o.reshape(x!, [0, 0, 1, -1]), td(iota(12), [2, 3, 1, 2])),
  c('transpose: 2-D', [m23], (o, x) => o.transpose(x!, [1, 0]), td([1, 4, 2, 5, 3, 6], [3, 2])),
  c('transpose: (2,3,2) by [2, 0, 1]', [x3], (o, x) => o.transpose(x!, [2, 0, 1]), td([0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11], [2, 2, 3])),
  c('slice: tokens 1… of (1, 3, 2) along axis 1', [td(iota(6), [1, 3, 2])], (o, x) => o.slice(x!, 1, 1), td([2, 3, 4, 5], [1, 2, 2])),
  c('slice: 1…2 of the last axis, negative axis', [x3], (o, x) => o.slice(x!, -1, 1, 2), td([1, 3, 5, 7, 9, 11], [2, 3, 1])),
  c('shape: reports rank and static dimensions', [td(iota(24), [2, 3, 4])], (o, x) => { const s = o.shape(x!); return o.constant([s.length, s[1]!, s[2]!], [3]); }, td([3, 3, 4], [3])),
  c('dispose: disposing an intermediate leaves the result intact', [td([-1, 2], [2])], (o, x) => { const a = o.abs(x!); const b = o.add(a, a); o.dispose(a); return b; }, td([2, 4], [2])),
  c('tidy: keeps the returned tensor', [td([-1, 2], [2])], (o, x) => tidy(o, (t) => t.mul(t.abs(x!), t.constant([3], []))), td([3, 6], [2])),

  // ---- feature-map scores ----
  // sample 0: ch0 0,2,4,6 (|dev| mean 2), ch1 constant -> (8 + 0)/8 = 1; sample 1: ch0 constant, ch1 0,0,0,8 (mean 2, |dev| 2,2,2,6) -> 12/8 = 1.5
  c('FS: NCHW, hand-derived', [td([0, 2, 4, 6, 5, 5, 5, 5, 1, 1, 1, 1, 0, 0, 0, 8], [2, 2, 2, 2])], (o, f) => featureSim(o, f!), td([1, 1.5], [2])),
  c('FS: (B, C, L) tokens', [td([1, 3, 0, 0], [1, 2, 2])], (o, f) => featureSim(o, f!), td([0.5], [1])),
  // The same tokens as (N, L, C) behind a class token (9, 9): dropped, then as above.
  c('FS: (N, L, C) tokens without the class token', [td([9, 9, 1, 0, 3, 0], [1, 3, 2])], (o, f) => featureSim(o, channelsFirst(o, f!, 'nlc', 1)), td([0.5], [1])),
  // NHWC (1, 2, 2, 2) of the NCHW sample 1 above: ch0 constant 1, ch1 0, 0, 0, 8 -> 1.5
  c('FS: NHWC map', [td([1, 0, 1, 0, 1, 0, 1, 8], [1, 2, 2, 2])], (o, f) => featureSim(o, channelsFirst(o, f!, 'nhwc')), td([1.5], [1])),
  c('TA: ReLU(f − 0.5)', [td([0, 0.5, 1, 2], [1, 1, 2, 2])], (o, f) => thresholdActivation(o, f!, 0.5), td([0, 0, 0.5, 1.5], [1, 1, 2, 2])),
  // TA map 0, 0, 0.5, 1.5: mean 0.5, |dev| 0.5, 0.5, 0, 1 -> 0.5
  c('FS of the TA map', [td([0, 0.5, 1, 2], [1, 1, 2, 2])], (o, f) => featureSim(o, thresholdActivation(o, f!, 0.5)), td([0.5], [1])),
  c('feature std: sqrt((9 + 1 + 1 + 9)/4)', [td([0, 2, 4, 6], [1, 1, 2, 2])], (o, f) => featureStd(o, f!), td([Math.sqrt(5)], [1]), TRANSCENDENTAL),
  c('feature median deviation: |dev| 3, 2, 0, 5 → 2.5', [td([0, 1, 3, 8], [1, 1, 2, 2])], (o, f) => featureMedianDev(o, f!), td([2.5], [1])),
  // channel means 1, 3, 5 -> mean 3 -> |dev| 2, 0, 2 -> 4/3
  c('channel MAD', [td([1, 1, 2, 4, 5, 5], [1, 3, 1, 2])], (o, f) => channelMad(o, f!), td([4 / 3], [1])),
  // G = [[1,2],[3,4]]·ᵀ/2 = [2.5, 5.5, 5.5, 12.5]: mean 6.5, deviations −4, −1, −1, 6
  c('Gram mean', [td([1, 2, 3, 4], [1, 2, 1, 2])], (o, f) => gramStat(o, f!, 'mean'), td([6.5], [1])),
  c('Gram std', [td([1, 2, 3, 4], [1, 2, 1, 2])], (o, f) => gramStat(o, f!, 'std'), td([Math.sqrt(13.5)], [1]), TRANSCENDENTAL),
  c('Gram MAD', [td([1, 2, 3, 4], [1, 2, 1, 2])], (o, f) => gramStat(o, f!, 'mad'), td([3], [1])),

  // ---- classifier scores ----
  c('energy: T = 1 is logsumexp', [td([0, LN3, 1000, 1000], [2, 2])], (o, z) => energy(o, z!), td([LN4, 1000 + LN2], [2]), TRANSCENDENTAL),
  c('energy: T = 2 is 2·logsumexp(z/2)', [td([0, 2 * LN3], [1, 2])], (o, z) => energy(o, z!, 2), td([2 * LN4], [1]), TRANSCENDENTAL),
  c('msp', [td([0, LN3, 7, 7], [2, 2])], (o, z) => msp(o, z!), td([0.75, 0.5], [2]), TRANSCENDENTAL),
  c('msp: T = 2', [td([0, 2 * LN3], [1, 2])], (o, z) => msp(o, z!, 2), td([0.75], [1]), TRANSCENDENTAL),
  c('ODIN: T = 1000', [td([0, 1000 * LN3], [1, 2])], (o, z) => odinScore(o, z!), td([0.75], [1]), TRANSCENDENTAL),
  c('max logit', [td([1, 5, 3, -2, -1, -3], [2, 3])], (o, z) => maxLogit(o, z!), td([5, -1], [2])),
  // p = (0.25, 0.75): Σ|p − 1/2| = 0.5, Σ|h| = 3 -> 1.5; uniform p -> 0
  c('GradNorm: closed form', [td([1, -2, 0.5, 0.5], [2, 2]), td([0, LN3, 0, 0], [2, 2])], (o, h, z) => gradNorm(o, h!, z!), td([1.5, 0], [2]), TRANSCENDENTAL),
  // h = (10, 0) clipped at 3.6 -> identity head -> log(e^3.6 + 1)
  c('ReAct: clip then energy', [td([10, 0], [1, 2])], (o, h) => reactScore(o, h!, identityHead, { kind: 'react', clip: 3.6, percentile: 90 }), td([Math.log(Math.exp(3.6) + 1)], [1]), TRANSCENDENTAL),
  // D = 10, p = 65: k = 10 − round_half_even(6.5) = 4 kept: 7, 8, 9, 10 (sum 34 of 55)
  c('ASH-P: keeps the top 4 of 10 at p = 65', [td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], [1, 10])], (o, h) => ashShape(o, h!, 'p', 65), td([0, 0, 0, 10, 0, 0, 0, 7, 8, 9], [1, 10])),
  c('ASH-B: kept values become 55/4', [td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], [1, 10])], (o, h) => ashShape(o, h!, 'b', 65), td([0, 0, 0, 13.75, 0, 0, 0, 13.75, 13.75, 13.75], [1, 10])),
  c('ASH-S: kept values scaled by exp(55/34)', [td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], [1, 10])], (o, h) => ashShape(o, h!, 's', 65), td([0, 0, 0, 10, 0, 0, 0, 7, 8, 9].map((v) => v * Math.exp(55 / 34)), [1, 10]), TRANSCENDENTAL),
  // head row 0 = 0.1·1, row 1 = 0: logits (3.4, 0) -> log(e^3.4 + 1)
  c('ASH-P score: head then energy', [td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], [1, 10])], (o, h) => ashScore(o, h!, { weight: { data: [...Array(10).fill(0.1), ...Array(10).fill(0)], shape: [2, 10] } }, { variant: 'p', percentile: 65 }), td([Math.log(Math.exp(3.4) + 1)], [1]), TRANSCENDENTAL),
  // SCALE at p = 65: the same 4 of 10 kept (sum 34 of 55), but every value is scaled by exp(55/34)
  c('SCALE: all values scaled by exp(55/34)', [td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], [1, 10])], (o, h) => scaleShape(o, h!, 65), td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9].map((v) => v * Math.exp(55 / 34)), [1, 10]), TRANSCENDENTAL),
  // head row 0 = 0.1·1, row 1 = 0: logits (5.5·exp(55/34), 0) -> log(e^x + 1)
  c('SCALE score: head then energy', [td([3, 1, 2, 10, 4, 5, 6, 7, 8, 9], [1, 10])], (o, h) => scaleScore(o, h!, { weight: { data: [...Array(10).fill(0.1), ...Array(10).fill(0)], shape: [2, 10] } }, { percentile: 65 }), td([Math.log(Math.exp(5.5 * Math.exp(55 / 34)) + 1)], [1]), TRANSCENDENTAL),
  // W rows (1, 0), (0, 1), (0, −1), no bias; ‖w0 − w1‖ = ‖w0 − w2‖ = √2, ‖w1 − w2‖ = 2; μ = mean of (0, 0), (0, 2) = (0, 1).
  // h = (3, 1): z = (3, 1, −1), p = 0: (2/√2 + 4/√2)/2 = 1.5√2, ‖h − μ‖ = 3 -> √2/2.
  // h = (2, 2): z = (2, 2, −2) ties; the first class wins: (0 + 4/√2)/2 = √2, ‖h − μ‖ = √5 -> √2/√5 (class 1 would give 1/√5).
  c('fDBD: boundary distances over feature deviation, first class wins a tie', [td([3, 1, 2, 2], [2, 2])], (o, h) => {
    const head = { weight: { data: [1, 0, 0, 1, 0, -1], shape: [3, 2] } };
    return fdbdScore(o, h!, head, fitFdbd({ data: [0, 0, 0, 2], shape: [2, 2] }, head));
  }, td([Math.SQRT2 / 2, Math.SQRT2 / Math.sqrt(5)], [2]), TRANSCENDENTAL),
  // masked head [[1, 0], [0, 1]], bias (0, log 3), h = (1, 2): logits (1, 2 + log 3) -> log(e + 3e²)
  c('DICE score: masked head then energy', [td([1, 2], [1, 2])], (o, h) => diceScore(o, h!, { kind: 'dice', weight: [1, 0, 0, 1], shape: [2, 2], bias: [0, LN3], threshold: 0, sparsity: 50 }), td([Math.log(Math.E + 3 * Math.E ** 2)], [1]), TRANSCENDENTAL),
  c('fusion: S_feat + λ·S_cls', [td([1, 2], [2]), td([10, 20], [2])], (o, f, s) => fuseTensor(o, f!, s!, 0.1), td([2, 4], [2])),
];

function compare(actual: { data: ArrayLike<number>; shape: readonly number[] }, kase: ConformanceCase): ConformanceResult {
  const { expected, rtol, atol, name } = kase;
  const shapeOk = actual.shape.length === expected.shape.length && actual.shape.every((d, i) => d === expected.shape[i]);
  if (!shapeOk) return { name, ok: false, maxAbsErr: NaN, message: `shape [${actual.shape.join(', ')}], expected [${expected.shape.join(', ')}]` };
  if (actual.data.length !== expected.data.length) return { name, ok: false, maxAbsErr: NaN, message: `${actual.data.length} values, expected ${expected.data.length}` };
  let maxAbsErr = 0, worst = -1;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!, a = actual.data[i]!;
    const err = Math.abs(a - e);
    if (!(err <= atol + rtol * Math.abs(e))) {
      if (worst < 0 || !(err <= maxAbsErr)) worst = i;
    }
    if (!(err <= maxAbsErr)) maxAbsErr = err;
  }
  if (worst >= 0) return { name, ok: false, maxAbsErr, message: `index ${worst}: got ${actual.data[worst]}, expected ${expected.data[worst]} (rtol ${rtol}, atol ${atol})` };
  return { name, ok: true, maxAbsErr, message: '' };
}

export interface ConformanceOptions {
  /** Run only the cases whose name matches (substring, regular expression or predicate). */
  only?: string | RegExp | ((name: string) => boolean);
}

/** Runs every case through the backend's `evaluate` and reports each; never throws for a failing case. */
export async function runConformance(evaluate: ConformanceEvaluate, options: ConformanceOptions = {}): Promise<ConformanceResult[]> {
  const { only } = options;
  const pick = only === undefined ? () => true : typeof only === 'string' ? (n: string) => n.includes(only) : only instanceof RegExp ? (n: string) => only.test(n) : only;
  const results: ConformanceResult[] = [];
  for (const kase of conformanceCases.filter((k) => pick(k.name))) {
    try {
      results.push(compare(await evaluate(kase.build, kase.inputs), kase));
    } catch (e) {
      results.push({ name: kase.name, ok: false, maxAbsErr: NaN, message: `threw: ${(e as Error)?.message ?? String(e)}` });
    }
  }
  return results;
}

/** The harness for an eager backend: fromArray → build → read, disposing what it made. */
export function eagerEvaluator<T>(ops: EagerOps<T>): ConformanceEvaluate {
  return async (build, inputs) => {
    const xs = inputs.map((i) => ops.fromArray(i.data, i.shape));
    try {
      const out = build(ops, ...xs);
      try {
        return { data: await ops.read(out), shape: [...ops.shape(out)] };
      } finally {
        if (!xs.includes(out)) ops.dispose(out);
      }
    } finally {
      ops.dispose(xs);
    }
  };
}
