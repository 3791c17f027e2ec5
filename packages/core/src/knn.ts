/**
 * KNN (Sun et al. 2022): distance to the k-th nearest L2-normalized ID feature.
 * Host-side, in float64, so the score is exact rather than subject to the
 * cancellation of 2 − 2·cos in float32.
 */
import { FstaError } from './errors.js';
import { type HostMatrix, checkMatrix } from './host.js';

export interface KnnFit {
  kind: 'knn';
  /** The L2-normalized ID features, (n, d) row-major. */
  bank: number[];
  n: number;
  d: number;
  k: number;
}

function normalizeRows(data: ArrayLike<number>, n: number, d: number, what: string): Float64Array {
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[i * d + j]! ** 2;
    const norm = Math.sqrt(s);
    if (norm === 0) throw new FstaError('ZERO_VECTOR', `${what} sample ${i} is all zeros and cannot be L2-normalized`, 'drop that sample or check the feature extraction', { sample: i });
    for (let j = 0; j < d; j++) out[i * d + j] = data[i * d + j]! / norm;
  }
  return out;
}

/** Stores the normalized ID features; k defaults to 50 (the paper's CIFAR setting). */
export function fitKnn(idFeatures: HostMatrix, k = 50): KnnFit {
  const { n, d, data } = checkMatrix(idFeatures, 'ID features');
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new FstaError('BAD_K', `KNN k=${k} must be an integer in [1, ${n}] (the number of ID samples)`, 'pass a smaller k or more ID samples');
  return { kind: 'knn', bank: Array.from(normalizeRows(data, n, d, 'ID features')), n, d, k };
}

/** −‖x̂ − b̂_(k)‖₂ per sample: minus the Euclidean distance to the k-th nearest normalized ID feature. */
export function knnScores(fit: KnnFit, features: HostMatrix): Float64Array {
  if (fit?.kind !== 'knn' || fit.bank.length !== fit.n * fit.d) throw new FstaError('BAD_FIT', 'knnScores needs the object returned by fitKnn', 'call fitKnn(idFeatures) first and pass its result');
  const { n, d, data } = checkMatrix(features, 'features');
  if (d !== fit.d) throw new FstaError('SHAPE_MISMATCH', `features have ${d} dimensions but the KNN bank has ${fit.d}`, 'use features from the same layer as the fit');
  const x = normalizeRows(data, n, d, 'features');
  const out = new Float64Array(n);
  const dist = new Float64Array(fit.n);
  for (let i = 0; i < n; i++) {
    for (let m = 0; m < fit.n; m++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (x[i * d + j]! - fit.bank[m * d + j]!) ** 2;
      dist[m] = s;
    }
    dist.sort();
    out[i] = -Math.sqrt(dist[fit.k - 1]!);
  }
  return out;
}
