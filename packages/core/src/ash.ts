/**
 * ASH (Djurisic et al. 2022): per sample, keep the activations at or above the
 * p-th percentile of that sample's penultimate features, zero the rest, reshape the
 * kept ones, then run the head and take the energy.
 *  - ASH-P: kept values unchanged.
 *  - ASH-B: every kept value becomes sum_all / count_kept (the sample's total activation, spread evenly).
 *  - ASH-S: kept values multiplied by exp(sum_all / sum_kept).
 * As in the authors' code, "keep" means the k = D − round(D·p/100) largest values
 * (NumPy rounding). Values tied with the k-th largest are all kept. ASH assumes
 * non-negative (post-ReLU) activations, as the paper does.
 */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';
import { type LinearHead, checkPercentile, checkTemperature, rank2, roundHalfEven } from './host.js';
import { energy } from './classifier-scores.js';
import { applyHead } from './head.js';

export type AshVariant = 'p' | 'b' | 's';

/** How many activations ASH keeps out of d at percentile p. */
export function ashKeepCount(d: number, percentile: number): number {
  checkPercentile(percentile, 'ASH', false);
  return d - roundHalfEven((d * percentile) / 100);
}

/** The shaped penultimate features (N, D). */
export function ashShape<T>(ops: TensorOps<T>, penultimate: T, variant: AshVariant, percentile = 90): T {
  const [, d] = rank2(ops, penultimate, 'penultimate features');
  if (d < 1) throw new FstaError('DYNAMIC_SHAPE', 'ASH needs the feature width D known when the graph is built', 'export the model with a static penultimate width');
  if (variant !== 'p' && variant !== 'b' && variant !== 's') throw new FstaError('BAD_VARIANT', `ASH variant must be 'p', 'b' or 's', got ${String(variant)}`, "pass 'p', 'b' or 's'");
  const k = ashKeepCount(d, percentile);
  if (k < 1) throw new FstaError('BAD_PERCENTILE', `ASH at percentile ${percentile} keeps no activation out of ${d}`, 'lower the percentile');
  return tidy(ops, (o) => {
    const kth = o.min(o.topk(penultimate, k), [-1], true);
    const keep = o.sub(o.constant([1], []), o.greater(kth, penultimate));
    const kept = o.mul(penultimate, keep);
    if (variant === 'p') return kept;
    const total = o.sum(penultimate, [-1], true);
    if (variant === 'b') return o.mul(keep, o.div(total, o.sum(keep, [-1], true)));
    return o.mul(kept, o.exp(o.div(total, o.sum(kept, [-1], true))));
  });
}

export interface AshOptions {
  variant: AshVariant;
  percentile?: number;
  temperature?: number;
}

/** energy(head(ASH(h)), T), higher = more ID. */
export function ashScore<T>(ops: TensorOps<T>, penultimate: T, head: LinearHead, options: AshOptions): T {
  const t = options.temperature ?? 1;
  checkTemperature(t);
  return tidy(ops, (o) => energy(o, applyHead(o, ashShape(o, penultimate, options.variant, options.percentile ?? 90), head), t));
}
