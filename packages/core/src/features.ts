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
