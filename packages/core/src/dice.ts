/**
 * DICE (Sun & Li 2022): sparsify the head's weights by their mean contribution on
 * ID data, then take the energy of the sparsified head.
 */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';
import { percentileOf } from './reference.js';
import { type HostMatrix, type LinearHead, checkHead, checkMatrix, checkPercentile, checkTemperature } from './host.js';
import { applyHead } from './head.js';
import { energy } from './classifier-scores.js';

export interface DiceFit {
  kind: 'dice';
  /** The masked head: weight (O, D) row-major with the pruned entries zeroed, and the unchanged bias. */
  weight: number[];
  shape: [number, number];
  bias: number[] | null;
  /** Contributions at or below this were pruned. */
  threshold: number;
  sparsity: number;
}

/**
 * contribution[o][d] = mean_ID(h_d)·W[o][d]; keep the weights whose contribution is
 * above the `sparsity`-th percentile of all O·D contributions (the authors' rule), zero the rest.
 */
export function fitDice(idPenultimate: HostMatrix, head: LinearHead, sparsity = 90): DiceFit {
  checkPercentile(sparsity, 'DICE sparsity');
  const { n, d, data } = checkMatrix(idPenultimate, 'ID penultimate features');
  const { o } = checkHead(head, d);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j]! /= n;
  const w = head.weight.data;
  const contrib = new Float64Array(o * d);
  for (let r = 0; r < o; r++) for (let j = 0; j < d; j++) contrib[r * d + j] = mean[j]! * w[r * d + j]!;
  const threshold = percentileOf(Float64Array.from(contrib).sort(), sparsity);
  const weight = Array.from(contrib, (c, i) => (c > threshold ? w[i]! : 0));
  return { kind: 'dice', weight, shape: [o, d], bias: head.bias != null ? Array.from(head.bias) : null, threshold, sparsity };
}

/** energy(h·W_maskedᵀ + b, T), higher = more ID. */
export function diceScore<T>(ops: TensorOps<T>, penultimate: T, fit: DiceFit, temperature = 1): T {
  checkTemperature(temperature);
  if (fit?.kind !== 'dice' || !Array.isArray(fit.weight)) throw new FstaError('BAD_FIT', 'diceScore needs the object returned by fitDice', 'call fitDice(idPenultimate, head) first and pass its result');
  const head: LinearHead = { weight: { data: fit.weight, shape: fit.shape }, bias: fit.bias };
  return tidy(ops, (o) => energy(o, applyHead(o, penultimate, head), temperature));
}
