import { type TensorOps, FstaError, deviationFromChannelMean, tidy } from '@fsta/core';

/**
 * The FS integrand per position: mean over channels of |f − GAP(f)|, shape (N, H, W).
 * Its spatial mean is exactly FS, so the map shows where the score comes from.
 */
export function fsHeatmap<T>(ops: TensorOps<T>, f: T): T {
  const rank = ops.shape(f).length;
  if (rank !== 4) throw new FstaError('BAD_RANK', `a heatmap needs an NCHW feature map, got shape [${ops.shape(f).join(', ')}]`, 'pass the FS stage tensor (e.g. C5) itself');
  return tidy(ops, (o) => o.mean(o.abs(deviationFromChannelMean(o, f)), [1], false));
}

/** A small perceptual colormap (viridis anchors), so low and high read apart in grayscale too. */
const VIRIDIS = [
  [68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
  [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37],
] as const;

export function colormap(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const a = VIRIDIS[i]!, b = VIRIDIS[i + 1]!, u = x - i;
  return [0, 1, 2].map((c) => Math.round(a[c]! + (b[c]! - a[c]!) * u)) as [number, number, number];
}

/**
 * One H×W map to RGBA pixels over [lo, hi]. Both maps of an image (without and with
 * TA) share one range, so their brightness can be compared directly.
 */
export function heatmapRGBA(map: ArrayLike<number>, lo: number, hi: number, alpha = 255): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(map.length * 4);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < map.length; i++) {
    const [r, g, b] = colormap((map[i]! - lo) / span);
    out.set([r, g, b, alpha], i * 4);
  }
  return out;
}

export function range(...maps: ArrayLike<number>[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const m of maps) for (let i = 0; i < m.length; i++) { lo = Math.min(lo, m[i]!); hi = Math.max(hi, m[i]!); }
  return [lo, hi];
}
