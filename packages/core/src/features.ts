import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';

/** Spatial axes of an NCHW map, or the token axis of (B, C, L) features. */
function spatialAxes<T>(ops: TensorOps<T>, f: T): number[] {
  const rank = ops.shape(f).length;
  if (rank === 4) return [2, 3];
  if (rank === 3) return [2];
  throw new FstaError('BAD_RANK', `a feature map must be NCHW (rank 4) or (B, C, L) tokens (rank 3), got rank ${rank} with shape [${ops.shape(f).join(', ')}]`, 'pass the stage tensor itself, not pooled features');
}

/**
 * How a stage tensor holds its channels: 'nchw' and 'ncl' (channels first) are what FS takes;
 * 'nhwc' is a channels-last map (Swin's stages) and 'nlc' a token sequence (ViT: (N, L, C)).
 */
export type FeatureLayout = 'nchw' | 'ncl' | 'nhwc' | 'nlc';
export const FEATURE_LAYOUTS: readonly FeatureLayout[] = ['nchw', 'ncl', 'nhwc', 'nlc'];
const LAYOUT_RANK: Record<FeatureLayout, number> = { nchw: 4, ncl: 3, nhwc: 4, nlc: 3 };

/**
 * A stage tensor in the channels-first layout FS is defined on: NHWC → NCHW; (N, L, C)
 * tokens → (N, C, L) without the first `prefixTokens` tokens (a ViT's class token, DeiT's
 * distillation token: summaries the head reads, not positions of the image), so that the
 * per-channel mean over the remaining tokens plays the role of GAP.
 */
export function channelsFirst<T>(ops: TensorOps<T>, f: T, layout: FeatureLayout, prefixTokens = 0): T {
  const shape = ops.shape(f);
  if (LAYOUT_RANK[layout] !== shape.length) throw new FstaError('BAD_RANK', `a "${layout}" stage has rank ${LAYOUT_RANK[layout]}, got shape [${shape.join(', ')}]`, 'pass the layout the stage tensor really has (the backbone resolution says)');
  if (prefixTokens !== 0 && layout !== 'nlc') throw new FstaError('BAD_OPTION', `prefix tokens (${prefixTokens}) only exist in an "nlc" token sequence, not in "${layout}"`, 'pass prefixTokens 0');
  if (layout === 'nchw' || layout === 'ncl') return f;
  if (layout === 'nhwc') return ops.transpose(f, [0, 3, 1, 2]);
  const L = shape[1]!;
  if (!(Number.isInteger(prefixTokens) && prefixTokens >= 0 && (L < 0 || prefixTokens < L))) throw new FstaError('BAD_OPTION', `prefixTokens ${prefixTokens} leaves no token of ${L}`, 'pass the number of class/distillation tokens in front of the patch tokens');
  return tidy(ops, (o) => o.transpose(prefixTokens > 0 ? o.slice(f, 1, prefixTokens) : f, [0, 2, 1]));
}

/** f − GAP(f): each channel minus its spatial (or token) mean. */
export function deviationFromChannelMean<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => o.sub(f, o.mean(f, spatialAxes(o, f), true)));
}

/**
 * Feature Sim: the mean over C, H and W (or C and L) of |f − GAP(f)|, one value per
 * sample. Higher means more in-distribution.
 */
export function featureSim<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => {
    const axes = [1, ...spatialAxes(o, f)];
    return o.mean(o.abs(deviationFromChannelMean(o, f)), axes, false);
  });
}

/**
 * The FS integrand per position: |f − GAP(f)| averaged over channels, shape (N, H, W)
 * for an NCHW map or (B, L) for tokens. Its spatial mean is `featureSim`, so it shows
 * where in the image the score comes from (the paper's Fig. 1 heatmaps).
 */
export function featureSimMap<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => o.mean(o.abs(deviationFromChannelMean(o, f)), [1], false));
}

/** Threshold Activation at a middle stage: ReLU(f − k). */
export function thresholdActivation<T>(ops: TensorOps<T>, f: T, k: number): T {
  if (!Number.isFinite(k) || k < 0) {
    throw new FstaError('BAD_K', `TA threshold k must be a finite number ≥ 0, got ${k}`, 'pass k ≥ 0 (the paper uses 0.2 for an ImageNet ResNet-50), or k as a percentile of ID activations via calibration');
  }
  return tidy(ops, (o) => o.relu(o.sub(f, o.constant([k], []))));
}
