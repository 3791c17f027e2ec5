import { FstaError } from './errors.js';
import { scoreSet, sortedDescending } from './score-set.js';

/**
 * The number of ID samples that must be kept for a true-positive rate of at least
 * `tpr`: the smallest m with m / n ≥ tpr, compared as the float m / n is (so that
 * 0.95 · 20 keeps exactly 19, not 20 through rounding).
 */
export function keptCount(n: number, tpr: number): number {
  let m = Math.max(1, Math.min(n, Math.ceil(tpr * n)));
  while (m > 1 && (m - 1) / n >= tpr) m--;
  while (m < n && m / n < tpr) m++;
  return m;
}

/**
 * The decision threshold at a target ID true-positive rate, the one rule fsta uses
 * for calibration and for FPR@TPR: the largest t such that the fraction of ID scores
 * ≥ t is at least `tpr`. That is the m-th largest ID score, m = ⌈tpr·n⌉. An image is
 * ID when its score ≥ t, so at least `tpr` of the ID set is kept (more with ties at t).
 */
export function thresholdAtTpr(idScores: ArrayLike<number>, tpr = 0.95): number {
  if (typeof tpr !== 'number' || !(tpr > 0 && tpr <= 1)) {
    throw new FstaError('BAD_TPR', `target true-positive rate ${String(tpr)} is outside (0, 1]`, 'pass a fraction such as 0.95 (not a percent)');
  }
  const sorted = sortedDescending(scoreSet(idScores, 'ID scores', 'the threshold is an order statistic of the ID scores'));
  return sorted[keptCount(sorted.length, tpr) - 1]!;
}
