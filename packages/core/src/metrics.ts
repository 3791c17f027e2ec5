import { FstaError, assertFinite } from './errors.js';
import { scoreSet } from './score-set.js';
import { thresholdAtTpr } from './threshold.js';

/*
 * OOD metrics on host arrays. ID is the positive class and scores are "higher = more
 * in-distribution" throughout; an image counts as accepted (ID) when score ≥ threshold.
 */

/** One operating point of the ROC curve, ID positive. */
export interface RocPoint {
  fpr: number;
  tpr: number;
  /** Samples with score ≥ threshold are accepted as ID at this point. */
  threshold: number;
}

export interface OodMetrics {
  auroc: number;
  /** Fraction of OOD accepted at the threshold that keeps ≥ 95% of ID (see `fprAtTpr`). */
  fpr95: number;
  auprIn: number;
  auprOut: number;
}

/**
 * Cumulative counts at every distinct score, from the highest down: after step i,
 * `pos[i]` positives and `neg[i]` negatives have score ≥ `thresholds[i]`. This is
 * scikit-learn's `_binary_clf_curve`; every curve and area here is derived from it.
 */
function countsAtThresholds(posScores: Float64Array, negScores: Float64Array) {
  const p = Float64Array.from(posScores).sort();
  const q = Float64Array.from(negScores).sort();
  let i = p.length - 1, j = q.length - 1;
  let tp = 0, fp = 0;
  const thresholds: number[] = [], pos: number[] = [], neg: number[] = [];
  while (i >= 0 || j >= 0) {
    const v = Math.max(i >= 0 ? p[i]! : -Infinity, j >= 0 ? q[j]! : -Infinity);
    while (i >= 0 && p[i] === v) { tp++; i--; }
    while (j >= 0 && q[j] === v) { fp++; j--; }
    thresholds.push(v);
    pos.push(tp);
    neg.push(fp);
  }
  return { thresholds, pos, neg, nPos: p.length, nNeg: q.length };
}

function pair(idScores: ArrayLike<number>, oodScores: ArrayLike<number>) {
  return { id: scoreSet(idScores, 'ID scores'), ood: scoreSet(oodScores, 'OOD scores') };
}

/**
 * The ROC curve with ID positive, as scikit-learn's `roc_curve(y, s, drop_intermediate=False)`:
 * a first point (0, 0) with threshold +Infinity (scikit-learn ≥ 1.3; 1.2 writes max + 1),
 * then one point per distinct score, from the highest score down to (1, 1).
 */
export function rocCurve(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): RocPoint[] {
  const { id, ood } = pair(idScores, oodScores);
  const c = countsAtThresholds(id, ood);
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  for (let k = 0; k < c.thresholds.length; k++) {
    points.push({ fpr: c.neg[k]! / c.nNeg, tpr: c.pos[k]! / c.nPos, threshold: c.thresholds[k]! });
  }
  return points;
}

/**
 * Area under the ROC curve, ID positive, equal to scikit-learn's `roc_auc_score`:
 * P(s_id > s_ood) + ½·P(s_id = s_ood), i.e. the Mann–Whitney U / (n_id · n_ood).
 * Computed as the trapezoid area in integer counts, so ties are exact. O(n log n).
 */
export function auroc(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const { id, ood } = pair(idScores, oodScores);
  const c = countsAtThresholds(id, ood);
  let twiceArea = 0, prevTp = 0, prevFp = 0;
  for (let k = 0; k < c.thresholds.length; k++) {
    twiceArea += (c.neg[k]! - prevFp) * (c.pos[k]! + prevTp);
    prevTp = c.pos[k]!;
    prevFp = c.neg[k]!;
  }
  return twiceArea / 2 / (c.nPos * c.nNeg);
}

/** scikit-learn's `average_precision_score`: Σ (R_k − R_{k−1}) · P_k over distinct thresholds. */
function averagePrecision(pos: Float64Array, neg: Float64Array): number {
  const c = countsAtThresholds(pos, neg);
  let ap = 0, prevTp = 0;
  for (let k = 0; k < c.thresholds.length; k++) {
    const tp = c.pos[k]!;
    if (tp !== prevTp) ap += ((tp - prevTp) / c.nPos) * (tp / (tp + c.neg[k]!));
    prevTp = tp;
  }
  return ap;
}

/** Average precision with ID as the positive class and the scores as they are. */
export function auprIn(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const { id, ood } = pair(idScores, oodScores);
  return averagePrecision(id, ood);
}

/** Average precision with OOD as the positive class, ranked by the negated scores. */
export function auprOut(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): number {
  const { id, ood } = pair(idScores, oodScores);
  return averagePrecision(ood.map((v) => -v), id.map((v) => -v));
}

/**
 * FPR at a target TPR, ID positive: the fraction of OOD scores ≥ t, where
 * t = thresholdAtTpr(idScores, tpr) is the largest threshold that keeps at least
 * `tpr` of ID. Equals scikit-learn's `fpr[argmax(tpr_curve >= tpr)]` on
 * `roc_curve(y_id, s, drop_intermediate=False)`. OpenOOD and pytorch-ood report a
 * different quantity (OOD positive); see docs/core.md.
 */
export function fprAtTpr(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, tpr = 0.95): number {
  const { id, ood } = pair(idScores, oodScores);
  const t = thresholdAtTpr(id, tpr);
  let accepted = 0;
  for (let i = 0; i < ood.length; i++) if (ood[i]! >= t) accepted++;
  return accepted / ood.length;
}

/** AUROC, FPR@95%TPR, AUPR-In and AUPR-Out, as fractions in [0, 1]. */
export function evaluateOod(idScores: ArrayLike<number>, oodScores: ArrayLike<number>): OodMetrics {
  return {
    auroc: auroc(idScores, oodScores),
    fpr95: fprAtTpr(idScores, oodScores, 0.95),
    auprIn: auprIn(idScores, oodScores),
    auprOut: auprOut(idScores, oodScores),
  };
}

/**
 * Top-k accuracy from flat (N, K) logits. A sample counts as correct when fewer than
 * k classes have a logit strictly greater than its true class's logit, so a tie at
 * the k-th place counts in the sample's favour (deterministic, unlike an arbitrary
 * top-k tie break).
 */
export function topkAccuracy(logits: ArrayLike<number>, numClasses: number, labels: ArrayLike<number>, k = 1): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new FstaError('BAD_INPUT', `numClasses must be a positive integer, got ${String(numClasses)}`, 'pass the size of the logits\' last dimension');
  }
  if (!Number.isInteger(k) || k < 1 || k > numClasses) {
    throw new FstaError('BAD_K', `top-k k=${String(k)} is outside [1, ${numClasses}]`, 'pass k = 1 or 5 (at most the number of classes)');
  }
  const n = labels.length;
  if (n === 0) throw new FstaError('EMPTY', 'labels are empty', 'pass one label per sample');
  if (logits.length !== n * numClasses) {
    throw new FstaError('SHAPE_MISMATCH', `logits have ${logits.length} values but ${n} labels × ${numClasses} classes need ${n * numClasses}`, 'pass flat (N, K) logits with one label per row');
  }
  assertFinite(logits, 'logits', numClasses);
  let correct = 0;
  for (let s = 0; s < n; s++) {
    const label = labels[s]!;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new FstaError('BAD_LABEL', `label ${String(label)} at sample ${s} is not a class index in [0, ${numClasses})`, 'pass integer class indices in the logits\' class order', { sample: s });
    }
    const row = s * numClasses;
    const target = logits[row + label]!;
    let above = 0;
    for (let c = 0; c < numClasses && above < k; c++) if (logits[row + c]! > target) above++;
    if (above < k) correct++;
  }
  return correct / n;
}
