/** Fusion of a feature-map score with a classifier score: S = S_feat + λ·S_cls. */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError, assertFinite } from './errors.js';

/** The paper's λ per classifier score (for FS+TA on ImageNet ResNet-50). */
export const PAPER_LAMBDA = Object.freeze({ msp: 0.1, energy: 0.016, odin: 1300, gradnorm: 0.4, react: 0.028 } as const);
export type PaperLambdaName = keyof typeof PAPER_LAMBDA;

/** The fusion rule, written once; `fuse` and `fuseTensor` apply it. */
export const fusedScore = (feature: number, classifier: number, lambda: number): number => feature + lambda * classifier;

function checkLambda(lambda: number): void {
  if (!Number.isFinite(lambda)) throw new FstaError('BAD_LAMBDA', `λ must be a finite number, got ${lambda}`, 'pass a value from PAPER_LAMBDA or lambdaFromSpread');
}

/** S_i = S_feat,i + λ·S_cls,i for host-side score arrays of equal length. */
export function fuse(featureScores: ArrayLike<number>, classifierScores: ArrayLike<number>, lambda: number): Float64Array {
  checkLambda(lambda);
  if (featureScores.length !== classifierScores.length) throw new FstaError('SHAPE_MISMATCH', `${featureScores.length} feature scores but ${classifierScores.length} classifier scores`, 'pass one score of each kind per sample');
  assertFinite(featureScores, 'feature scores');
  assertFinite(classifierScores, 'classifier scores');
  return Float64Array.from(featureScores, (f, i) => fusedScore(f, classifierScores[i]!, lambda));
}

/** The same rule on tensors of per-sample scores (N), for in-graph fusion. */
export function fuseTensor<T>(ops: TensorOps<T>, featureScores: T, classifierScores: T, lambda: number): T {
  checkLambda(lambda);
  return tidy(ops, (o) => o.add(featureScores, o.mul(classifierScores, o.constant([lambda], []))));
}

function std(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i]!;
  m /= v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i]! - m) ** 2;
  return Math.sqrt(s / v.length);
}

/**
 * λ = std(S_feat) / std(S_cls) on ID validation scores (population std), so that
 * λ·S_cls has the same spread as S_feat and neither term dominates the sum.
 */
export function lambdaFromSpread(idFeatureScores: ArrayLike<number>, idClassifierScores: ArrayLike<number>): number {
  if (idFeatureScores.length !== idClassifierScores.length) throw new FstaError('SHAPE_MISMATCH', `${idFeatureScores.length} ID feature scores but ${idClassifierScores.length} ID classifier scores`, 'pass both scores for the same ID validation samples');
  if (idFeatureScores.length < 2) throw new FstaError('EMPTY', `λ from spread needs at least 2 ID validation scores, got ${idFeatureScores.length}`, 'score more ID validation images');
  assertFinite(idFeatureScores, 'ID feature scores');
  assertFinite(idClassifierScores, 'ID classifier scores');
  const sc = std(idClassifierScores);
  if (!(sc > 0)) throw new FstaError('ZERO_SPREAD', 'the ID classifier scores are all equal, so their spread cannot set λ', 'use a classifier score that varies on ID data, or pass λ explicitly');
  return std(idFeatureScores) / sc;
}
