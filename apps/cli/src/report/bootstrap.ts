import { auroc, fprAtTpr, mulberry32 } from '@fsta/core';

/** A 95% interval [lo, hi], in the units of the statistic. */
export type Interval = [number, number];

export interface BootstrapOptions {
  resamples?: number;
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

/** Linear interpolation between order statistics, as numpy's default `quantile`. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/**
 * Percentile bootstrap intervals for statistics of several independent groups of
 * scores (ID and each OOD set): every resample draws each group with replacement,
 * at its own size, from one mulberry32 stream with a fixed seed, so a run is
 * reproducible and every method is resampled at the same image indices.
 *
 * Should move to core's bootstrap (packages/core/src/metrics.ts) once that lands;
 * this is kept pure and small so the swap is one import.
 */
export function bootstrapIntervals<K extends string>(
  groups: readonly ArrayLike<number>[],
  statistic: (resampled: Float64Array[]) => Record<K, number>,
  { resamples = 1000, seed = 20240521, level = 0.95 }: BootstrapOptions = {},
): Record<K, Interval> {
  const rand = mulberry32(seed);
  const draws: Record<string, Float64Array> = {};
  const bufs = groups.map((g) => new Float64Array(g.length));
  for (let r = 0; r < resamples; r++) {
    groups.forEach((g, j) => {
      const b = bufs[j]!;
      for (let i = 0; i < b.length; i++) b[i] = g[Math.floor(rand() * g.length)]!;
    });
    const s = statistic(bufs);
    for (const key in s) (draws[key] ??= new Float64Array(resamples))[r] = s[key];
  }
  const tail = (1 - level) / 2;
  return Object.fromEntries(Object.entries(draws).map(([key, d]) => {
    d.sort();
    return [key, [quantile(d, tail), quantile(d, 1 - tail)]];
  })) as Record<K, Interval>;
}

/**
 * AUROC and FPR95 (percent) of ID against each OOD set and their mean over the sets,
 * with 95% bootstrap intervals: ID and every set resampled on their own, one draw for all.
 */
export function rankIntervals(id: ArrayLike<number>, oods: Record<string, ArrayLike<number>>, opts?: BootstrapOptions): Record<string, { auroc: Interval; fpr95: Interval }> {
  const names = Object.keys(oods);
  const ci = bootstrapIntervals([id, ...names.map((n) => oods[n]!)], ([i, ...os]) => {
    const out: Record<string, number> = {};
    let a = 0, f = 0;
    os.forEach((o, j) => {
      out[`${j} auroc`] = auroc(i!, o) * 100;
      out[`${j} fpr95`] = fprAtTpr(i!, o, 0.95) * 100;
      a += out[`${j} auroc`]!; f += out[`${j} fpr95`]!;
    });
    out['average auroc'] = a / os.length;
    out['average fpr95'] = f / os.length;
    return out;
  }, opts);
  const keys = [...names.map((n, j) => [n, String(j)]), ['average', 'average']];
  return Object.fromEntries(keys.map(([n, k]) => [n, { auroc: ci[`${k} auroc`]!, fpr95: ci[`${k} fpr95`]! }]));
}

/**
 * The share (percent) of ID scores at or above `threshold` (kept) and of each OOD
 * set's scores below it (caught), with intervals; the threshold stays fixed.
 */
export function operatingPoint(threshold: number, id: ArrayLike<number>, oods: Record<string, ArrayLike<number>>, opts?: BootstrapOptions) {
  const names = Object.keys(oods);
  const kept = (s: ArrayLike<number>) => { let n = 0; for (let i = 0; i < s.length; i++) if (s[i]! >= threshold) n++; return (n / s.length) * 100; };
  const stat = ([i, ...os]: Float64Array[]) => {
    const out: Record<string, number> = { kept: kept(i!) };
    os.forEach((o, j) => { out[names[j]!] = 100 - kept(o); });
    out['all OOD'] = os.reduce((s, o) => s + (100 - kept(o)) * o.length, 0) / os.reduce((s, o) => s + o.length, 0);
    return out;
  };
  const groups = [id, ...names.map((n) => oods[n]!)];
  const point = stat(groups.map((g) => Float64Array.from(g)));
  const ci = bootstrapIntervals(groups, stat, opts);
  return { kept: { value: point.kept!, ci: ci.kept! }, caught: Object.fromEntries([...names, 'all OOD'].map((n) => [n, { value: point[n]!, ci: ci[n]! }])) };
}
