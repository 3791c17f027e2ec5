/**
 * fDBD (Liu & Qin, ICML 2024): the feature's average distance to the decision
 * boundaries between the predicted class p and every other class c, in closed form
 * from the linear head, set against the feature's distance to the ID feature mean:
 *
 *   fDBD(h) = [1/(K−1) Σ_{c≠p} |(w_p − w_c)·h + (b_p − b_c)| / ‖w_p − w_c‖] / ‖h − μ‖
 *
 * with p = argmax of the logits z = W·h + b, so the numerator is z_p − z_c ≥ 0.
 * The authors' code (`run_imagenet.py` in litianliu/fDBD-OOD) sums over all classes
 * instead of averaging (the p term is 0/1 = 0): that is (K−1) times this value, the
 * same ranking and AUROC; the paper and this code average. μ is the mean of ID
 * penultimate features (the authors use the training set; `fitFdbd` takes whatever
 * ID features it is given). Ties for the largest logit pick the first class, as
 * torch.max does. Higher = more ID.
 */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';
import { type HostMatrix, type LinearHead, checkHead, checkMatrix, rank2 } from './host.js';
import { applyHead } from './head.js';

export interface FdbdFit {
  kind: 'fdbd';
  /** μ, the mean ID penultimate feature (D). */
  mean: number[];
  /** K, the head's number of classes. */
  classes: number;
  /** 1/‖w_p − w_c‖ row-major (K, K), computed in float64 at fit time; 0 on the diagonal. */
  inverseDistance: number[];
  /** [Σ W, Σ W², Σ b] of the head the fit was made for, to refuse a different head at scoring time. */
  headFingerprint: [number, number, number];
}

function fingerprint(head: LinearHead): [number, number, number] {
  const w = head.weight.data;
  let s = 0, s2 = 0, sb = 0;
  for (let i = 0; i < w.length; i++) { s += w[i]!; s2 += w[i]! * w[i]!; }
  if (head.bias != null) for (let i = 0; i < head.bias.length; i++) sb += head.bias[i]!;
  return [s, s2, sb];
}

/** μ from ID penultimate features and the pairwise head distances ‖w_p − w_c‖. */
export function fitFdbd(idPenultimate: HostMatrix, head: LinearHead): FdbdFit {
  const { n, d, data } = checkMatrix(idPenultimate, 'ID penultimate features');
  const { o: k } = checkHead(head, d);
  if (k < 2) throw new FstaError('BAD_HEAD', `fDBD needs a head with at least 2 classes, got ${k}`, 'use a classifier head with two or more outputs');
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const w = head.weight.data;
  const inv = new Array<number>(k * k).fill(0);
  for (let p = 0; p < k; p++) {
    for (let c = p + 1; c < k; c++) {
      let s = 0;
      for (let j = 0; j < d; j++) { const diff = w[p * d + j]! - w[c * d + j]!; s += diff * diff; }
      if (!(s > 0)) throw new FstaError('DEGENERATE_HEAD', `head rows ${p} and ${c} are identical, so classes ${p} and ${c} have no decision boundary`, 'fDBD needs distinct class weight vectors; check that the head weight is the trained classifier');
      inv[p * k + c] = inv[c * k + p] = 1 / Math.sqrt(s);
    }
  }
  return { kind: 'fdbd', mean: Array.from(mean), classes: k, inverseDistance: inv, headFingerprint: fingerprint(head) };
}

function checkFit(fit: FdbdFit, head: LinearHead, d: number): void {
  if (fit?.kind !== 'fdbd' || !Array.isArray(fit.mean) || !Array.isArray(fit.inverseDistance)) throw new FstaError('BAD_FIT', 'fdbdScore needs the object returned by fitFdbd', 'call fitFdbd(idPenultimate, head) first and pass its result');
  const { o: k } = checkHead(head, d);
  if (fit.classes !== k || fit.inverseDistance.length !== k * k || (d >= 0 && fit.mean.length !== d)) {
    throw new FstaError('BAD_FIT', `the fDBD fit is for ${fit.classes} classes and ${fit.mean.length} features, but the head has ${k} classes and the features ${d}`, 'fit fDBD with the same head and features you score');
  }
  const now = fingerprint(head);
  if (!now.every((v, i) => Math.abs(v - fit.headFingerprint[i]!) <= 1e-9 * (1 + Math.abs(v)))) {
    throw new FstaError('BAD_FIT', 'the fDBD fit was made for a different classifier head than the one given', 'fit fDBD with the head you score with');
  }
}

/** fDBD(h) per sample (N), higher = more ID. */
export function fdbdScore<T>(ops: TensorOps<T>, penultimate: T, head: LinearHead, fit: FdbdFit): T {
  const [, d] = rank2(ops, penultimate, 'penultimate features');
  checkFit(fit, head, d);
  const k = fit.classes;
  // before[c'][c] = 1 for c' < c: counts the maxima left of c, to keep only the first.
  const before = new Float32Array(k * k);
  for (let r = 0; r < k; r++) for (let c = r + 1; c < k; c++) before[r * k + c] = 1;
  return tidy(ops, (o) => {
    const z = applyHead(o, penultimate, head);
    const zMax = o.max(z, [-1], true);
    const isMax = o.sub(o.constant([1], []), o.greater(zMax, z));
    const firstMax = o.mul(isMax, o.sub(o.constant([1], []), o.greater(o.matmul(isMax, o.constant(before, [k, k])), o.constant([0], []))));
    const inverse = o.matmul(firstMax, o.constant(Float32Array.from(fit.inverseDistance), [k, k]));
    const boundary = o.div(o.sum(o.mul(o.sub(zMax, z), inverse), [-1]), o.constant([k - 1], []));
    const deviation = o.sqrt(o.sum(o.square(o.sub(penultimate, o.constant(Float32Array.from(fit.mean), [fit.mean.length]))), [-1]));
    return o.div(boundary, deviation);
  });
}
