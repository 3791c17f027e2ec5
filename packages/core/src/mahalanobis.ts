/**
 * Mahalanobis score (Lee et al. 2018) on one layer's features: class means and one
 * shared (tied) covariance from ID data; score = −min_c (x − μ_c)ᵀ Σ⁻¹ (x − μ_c).
 *
 * Σ is the maximum-likelihood covariance of the class-centred features,
 * (1/N) Σ_i (x_i − μ_{y_i})(x_i − μ_{y_i})ᵀ, and is inverted with a small ridge:
 * Σ⁻¹ := (Σ + ε·(tr Σ / D)·I)⁻¹, ε = `shrinkage` (default 1e-6), by Cholesky in
 * float64. The ridge keeps the inverse defined when N < D or features are collinear
 * (where the original code's pseudo-inverse would drop directions instead).
 */
import { FstaError, assertFinite } from './errors.js';
import { type HostMatrix, checkMatrix } from './host.js';

export interface MahalanobisFit {
  kind: 'mahalanobis';
  /** The distinct labels, ascending; means[c] belongs to classes[c]. */
  classes: number[];
  /** Class means, (C, D) row-major. */
  means: number[];
  /** (Σ + ridge·I)⁻¹, (D, D) row-major. */
  precision: number[];
  d: number;
  shrinkage: number;
}

/** In-place Cholesky of a symmetric positive-definite (D, D) matrix; returns lower L. */
function cholesky(a: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    let s = a[j * d + j]!;
    for (let k = 0; k < j; k++) s -= l[j * d + k]! ** 2;
    if (!(s > 0)) throw new FstaError('SINGULAR', `the shared covariance is not positive definite (pivot ${j} is ${s})`, 'raise `shrinkage` or fit on more, non-constant ID features');
    const ljj = Math.sqrt(s);
    l[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = a[i * d + j]!;
      for (let k = 0; k < j; k++) t -= l[i * d + k]! * l[j * d + k]!;
      l[i * d + j] = t / ljj;
    }
  }
  return l;
}

/** A⁻¹ = L⁻ᵀ L⁻¹ from the Cholesky factor. */
function inverseFromCholesky(l: Float64Array, d: number): Float64Array {
  const li = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    li[j * d + j] = 1 / l[j * d + j]!;
    for (let i = j + 1; i < d; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * d + k]! * li[k * d + j]!;
      li[i * d + j] = s / l[i * d + i]!;
    }
  }
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < d; k++) s += li[k * d + i]! * li[k * d + j]!;
      inv[i * d + j] = s;
      inv[j * d + i] = s;
    }
  }
  return inv;
}

export function fitMahalanobis(idFeatures: HostMatrix, idLabels: ArrayLike<number>, options: { shrinkage?: number } = {}): MahalanobisFit {
  const shrinkage = options.shrinkage ?? 1e-6;
  if (!(Number.isFinite(shrinkage) && shrinkage >= 0)) throw new FstaError('BAD_SHRINKAGE', `shrinkage must be a finite number ≥ 0, got ${shrinkage}`, 'pass a small ridge such as 1e-6');
  const { n, d, data } = checkMatrix(idFeatures, 'ID features');
  if (!idLabels || idLabels.length !== n) throw new FstaError('SHAPE_MISMATCH', `there are ${idLabels?.length ?? 0} labels for ${n} ID samples`, 'pass one class label per ID sample');
  assertFinite(idLabels, 'ID labels');
  for (let i = 0; i < n; i++) if (!Number.isInteger(idLabels[i])) throw new FstaError('BAD_LABEL', `ID label at sample ${i} is ${idLabels[i]}, not an integer class index`, 'pass integer class labels', { sample: i });
  const classes = [...new Set(Array.from(idLabels))].sort((a, b) => a - b);
  const index = new Map(classes.map((c, i) => [c, i]));
  const c = classes.length;
  const means = new Float64Array(c * d);
  const counts = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    const ci = index.get(idLabels[i]!)!;
    counts[ci]!++;
    for (let j = 0; j < d; j++) means[ci * d + j]! += data[i * d + j]!;
  }
  for (let ci = 0; ci < c; ci++) for (let j = 0; j < d; j++) means[ci * d + j]! /= counts[ci]!;
  const cov = new Float64Array(d * d);
  const r = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const ci = index.get(idLabels[i]!)!;
    for (let j = 0; j < d; j++) r[j] = data[i * d + j]! - means[ci * d + j]!;
    for (let a = 0; a < d; a++) {
      const ra = r[a]!;
      if (ra === 0) continue;
      for (let b = 0; b <= a; b++) cov[a * d + b]! += ra * r[b]!;
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) {
    for (let b = 0; b <= a; b++) {
      cov[a * d + b]! /= n;
      cov[b * d + a] = cov[a * d + b]!;
    }
    trace += cov[a * d + a]!;
  }
  if (!(trace > 0)) throw new FstaError('SINGULAR', 'ID features do not vary within their classes, so the shared covariance is zero', 'fit on real ID features (more than one distinct sample per class)');
  const ridge = (shrinkage * trace) / d;
  for (let a = 0; a < d; a++) cov[a * d + a]! += ridge;
  const precision = inverseFromCholesky(cholesky(cov, d), d);
  return { kind: 'mahalanobis', classes, means: Array.from(means), precision: Array.from(precision), d, shrinkage };
}

/** Per fit: P·μ_c and μ_cᵀPμ_c, so scoring is O(D² + C·D) per sample. */
const prepared = new WeakMap<MahalanobisFit, { pm: Float64Array; mpm: Float64Array }>();

function prepare(fit: MahalanobisFit) {
  let p = prepared.get(fit);
  if (p) return p;
  const { d } = fit;
  const c = fit.classes.length;
  const pm = new Float64Array(c * d);
  const mpm = new Float64Array(c);
  for (let ci = 0; ci < c; ci++) {
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += fit.precision[a * d + b]! * fit.means[ci * d + b]!;
      pm[ci * d + a] = s;
      mpm[ci]! += s * fit.means[ci * d + a]!;
    }
  }
  p = { pm, mpm };
  prepared.set(fit, p);
  return p;
}

/** −min_c (x − μ_c)ᵀ Σ⁻¹ (x − μ_c) per sample; higher = more ID. */
export function mahalanobisScores(fit: MahalanobisFit, features: HostMatrix): Float64Array {
  if (fit?.kind !== 'mahalanobis' || fit.precision.length !== fit.d * fit.d || fit.means.length !== fit.classes.length * fit.d) {
    throw new FstaError('BAD_FIT', 'mahalanobisScores needs the object returned by fitMahalanobis', 'call fitMahalanobis(idFeatures, idLabels) first and pass its result');
  }
  const { n, d, data } = checkMatrix(features, 'features');
  if (d !== fit.d) throw new FstaError('SHAPE_MISMATCH', `features have ${d} dimensions but the fit has ${fit.d}`, 'use features from the same layer as the fit');
  const { pm, mpm } = prepare(fit);
  const c = fit.classes.length;
  const out = new Float64Array(n);
  const px = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    let xpx = 0;
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let b = 0; b < d; b++) s += fit.precision[a * d + b]! * data[i * d + b]!;
      px[a] = s;
      xpx += s * data[i * d + a]!;
    }
    let best = Infinity;
    for (let ci = 0; ci < c; ci++) {
      let xpm = 0;
      for (let a = 0; a < d; a++) xpm += data[i * d + a]! * pm[ci * d + a]!;
      const dist = xpx - 2 * xpm + mpm[ci]!;
      if (dist < best) best = dist;
    }
    out[i] = -best;
  }
  return out;
}
