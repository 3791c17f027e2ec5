import type { TensorOps } from './ops.js';
import { FstaError, assertFinite } from './errors.js';

/** Row-major host data with a shape: what fitting and host-side scoring take. */
export interface HostMatrix {
  data: ArrayLike<number>;
  shape: readonly number[];
}

/** A classifier head as host arrays: weight (O, D) row-major, bias (O). */
export interface LinearHead {
  weight: HostMatrix;
  bias?: ArrayLike<number> | null;
}

/** Checks an (N, D) matrix: rank 2, data length, at least `minRows` rows, all values finite. */
export function checkMatrix(m: HostMatrix, what: string, minRows = 1): { n: number; d: number; data: ArrayLike<number> } {
  if (!m || !m.data || !m.shape) throw new FstaError('BAD_INPUT', `${what} is missing`, `pass ${what} as { data, shape: [N, D] }`);
  if (m.shape.length !== 2) throw new FstaError('BAD_RANK', `${what} must be 2-D (N, D), got shape [${m.shape.join(', ')}]`, 'flatten or pool the features to (N, D) first');
  const [n, d] = m.shape as [number, number];
  if (!(Number.isInteger(n) && Number.isInteger(d) && n >= 0 && d >= 1)) throw new FstaError('SHAPE_MISMATCH', `${what} has an invalid shape [${m.shape.join(', ')}]`, 'pass positive integer dimensions');
  if (m.data.length !== n * d) throw new FstaError('SHAPE_MISMATCH', `${what} has ${m.data.length} values but shape [${n}, ${d}] needs ${n * d}`, 'pass data whose length is N·D');
  if (n < minRows) throw new FstaError('EMPTY', `${what} has ${n} samples; at least ${minRows} needed`, `pass at least ${minRows} sample(s)`);
  assertFinite(m.data, what, d);
  return { n, d, data: m.data };
}

/** Checks a head against the feature width D and returns its dimensions. */
export function checkHead(head: LinearHead, d: number | null): { o: number; d: number } {
  const w = checkMatrix(head.weight, 'head weight');
  if (d !== null && d >= 0 && w.d !== d) throw new FstaError('SHAPE_MISMATCH', `head weight expects ${w.d} features but the penultimate features have ${d}`, 'pass the head (W, b) of the layer that consumes these features');
  if (head.bias != null) {
    if (head.bias.length !== w.n) throw new FstaError('SHAPE_MISMATCH', `head bias has ${head.bias.length} values but the weight has ${w.n} outputs`, 'pass one bias per output class');
    assertFinite(head.bias, 'head bias');
  }
  return { o: w.n, d: w.d };
}

export function checkTemperature(t: number): void {
  if (!(Number.isFinite(t) && t > 0)) throw new FstaError('BAD_TEMPERATURE', `temperature must be a finite number > 0, got ${t}`, 'pass T > 0 (1 for plain energy/MSP, 1000 for ODIN)');
}

export function checkPercentile(p: number, what: string, allow100 = true): void {
  if (!(p >= 0 && (allow100 ? p <= 100 : p < 100))) throw new FstaError('BAD_PERCENTILE', `${what} percentile must be in [0, ${allow100 ? '100]' : '100)'}, got ${p}`, `pass a percentile such as 90`);
}

/** NumPy's np.round: halves go to the nearest even integer. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Throws unless x is rank 2; returns its (possibly dynamic, -1) dimensions. */
export function rank2<T>(ops: TensorOps<T>, x: T, what: string): [number, number] {
  const s = ops.shape(x);
  if (s.length !== 2) throw new FstaError('BAD_RANK', `${what} must be (N, ${what === 'logits' ? 'K' : 'D'}), got shape [${s.join(', ')}]`, 'flatten to 2-D; for a single sample pass shape [1, D]');
  return [s[0]!, s[1]!];
}
