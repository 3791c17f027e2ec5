/**
 * SCALE (Xu et al., ICLR 2024): multiply all penultimate activations of a sample by
 * exp(Σ h / Σ kept h), where "kept" are the k = D − round(D·p/100) largest (ASH's
 * keep rule, ties with the k-th largest all kept), then take the energy of the head's
 * logits. It is ASH-S's scale without pruning the features themselves; the authors'
 * default percentile is 85 (their `configs/postprocessors/scale.yml`, `scale()` in
 * `openood/networks/scale_net.py`). Like ASH it assumes post-ReLU (non-negative) features.
 */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { checkTemperature } from './host.js';
import { energy } from './classifier-scores.js';
import { applyHead, type Head } from './head.js';
import { sharpeningScale } from './ash.js';

/** The authors' default percentile (ImageNet). */
export const SCALE_DEFAULT_PERCENTILE = 85;

/** h · exp(Σ h / Σ kept h), (N, D). */
export function scaleShape<T>(ops: TensorOps<T>, penultimate: T, percentile = SCALE_DEFAULT_PERCENTILE): T {
  return tidy(ops, (o) => o.mul(penultimate, sharpeningScale(o, penultimate, percentile, 'SCALE')));
}

export interface ScaleOptions {
  percentile?: number;
  temperature?: number;
}

/** energy(head(SCALE(h)), T), higher = more ID. */
export function scaleScore<T>(ops: TensorOps<T>, penultimate: T, head: Head<T>, options: ScaleOptions = {}): T {
  const t = options.temperature ?? 1;
  checkTemperature(t);
  return tidy(ops, (o) => energy(o, applyHead(o, scaleShape(o, penultimate, options.percentile ?? SCALE_DEFAULT_PERCENTILE), head), t));
}
