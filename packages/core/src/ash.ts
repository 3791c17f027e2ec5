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
import { checkPercentile, checkTemperature, rank2, roundHalfEven } from './host.js';
import { energy } from './classifier-scores.js';
import { applyHead, type Head } from './head.js';

export type AshVariant = 'p' | 'b' | 's';
export const ASH_VARIANTS: readonly AshVariant[] = ['p', 'b', 's'];

/**
 * The ASH setting `fsta eval` and `fsta calibrate` score, and a config without an `ash`
 * field runs: ASH-S at the 90th percentile, the authors' ImageNet setting.
 */
export const ASH_DEFAULTS = Object.freeze({ variant: 's' as AshVariant, percentile: 90 });

/** How many activations ASH keeps out of d at percentile p. */
export function ashKeepCount(d: number, percentile: number): number {
  checkPercentile(percentile, 'ASH', false);
  return d - roundHalfEven((d * percentile) / 100);
}

/** k for `method` at `percentile` on (N, D) features, refusing a dynamic D or an empty keep set. */
function keepCountFor<T>(ops: TensorOps<T>, penultimate: T, percentile: number, method: string): number {
  const [, d] = rank2(ops, penultimate, 'penultimate features');
  if (d < 1) throw new FstaError('DYNAMIC_SHAPE', `${method} needs the feature width D known when the graph is built`, 'export the model with a static penultimate width');
  const k = ashKeepCount(d, percentile);
  if (k < 1) throw new FstaError('BAD_PERCENTILE', `${method} at percentile ${percentile} keeps no activation out of ${d}`, 'lower the percentile');
  return k;
}

/** Per sample, 1 for the kept activations (≥ the k-th largest) and 0 for the rest, (N, D). */
function keepMask<T>(o: TensorOps<T>, penultimate: T, k: number): T {
  const kth = o.min(o.topk(penultimate, k), [-1], true);
  return o.sub(o.constant([1], []), o.greater(kth, penultimate));
}

/** exp(Σ h / Σ kept), (N, 1), from the features and their kept part. */
const scaleOf = <T>(o: TensorOps<T>, penultimate: T, kept: T): T => o.exp(o.div(o.sum(penultimate, [-1], true), o.sum(kept, [-1], true)));

/**
 * exp(Σ h / Σ kept h) per sample, (N, 1): the scale ASH-S puts on the kept
 * activations and SCALE (scale.ts) puts on all of them, written once here.
 */
export function sharpeningScale<T>(ops: TensorOps<T>, penultimate: T, percentile: number, method = 'ASH'): T {
  const k = keepCountFor(ops, penultimate, percentile, method);
  return tidy(ops, (o) => scaleOf(o, penultimate, o.mul(penultimate, keepMask(o, penultimate, k))));
}

/** The shaped penultimate features (N, D). */
export function ashShape<T>(ops: TensorOps<T>, penultimate: T, variant: AshVariant, percentile = 90): T {
  if (variant !== 'p' && variant !== 'b' && variant !== 's') {
    rank2(ops, penultimate, 'penultimate features');
    throw new FstaError('BAD_VARIANT', `ASH variant must be 'p', 'b' or 's', got ${String(variant)}`, "pass 'p', 'b' or 's'");
  }
  const k = keepCountFor(ops, penultimate, percentile, 'ASH');
  return tidy(ops, (o) => {
    const keep = keepMask(o, penultimate, k);
    const kept = o.mul(penultimate, keep);
    if (variant === 'p') return kept;
    if (variant === 'b') return o.mul(keep, o.div(o.sum(penultimate, [-1], true), o.sum(keep, [-1], true)));
    return o.mul(kept, scaleOf(o, penultimate, kept));
  });
}

export interface AshOptions {
  variant: AshVariant;
  percentile?: number;
  temperature?: number;
}

/** energy(head(ASH(h)), T), higher = more ID. */
export function ashScore<T>(ops: TensorOps<T>, penultimate: T, head: Head<T>, options: AshOptions): T {
  const t = options.temperature ?? 1;
  checkTemperature(t);
  return tidy(ops, (o) => energy(o, applyHead(o, ashShape(o, penultimate, options.variant, options.percentile ?? ASH_DEFAULTS.percentile), head), t));
}
