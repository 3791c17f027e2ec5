/**
 * The 2-component GMM feature score. Per sample, a 1-D two-component Gaussian mixture
 * is fitted by EM to the sample's per-channel intensities (the GAP value of each
 * channel, one point per channel), and S = (μ_f − μ_g)·w_f / w_g, where f is the
 * component with the higher mean and g the other: a strong, rare "foreground" set of
 * channels separated from the rest scores high. Host-side float64 code.
 */
import type { EagerOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError, assertFinite } from './errors.js';

export interface Gmm2 {
  /** Component means, ascending: index 1 is the higher-mean ("foreground") component. */
  means: [number, number];
  variances: [number, number];
  weights: [number, number];
  /** Σ_i log p(x_i) under the returned parameters. */
  logLikelihood: number;
  iterations: number;
  converged: boolean;
}

export interface Gmm2Options {
  maxIterations?: number;
  /** Stop when the mean log-likelihood changes by less than this. */
  tolerance?: number;
  /** Added to each variance, as scikit-learn's reg_covar, so a component cannot collapse. */
  varianceFloor?: number;
}

const LOG_2PI = Math.log(2 * Math.PI);

function logDensity(x: number, mean: number, variance: number): number {
  return -0.5 * (LOG_2PI + Math.log(variance) + ((x - mean) * (x - mean)) / variance);
}

/**
 * EM with a deterministic start: the values are sorted and split at the median; each
 * half gives its component's initial mean, variance (+ floor) and weight (its share).
 * The updates are scikit-learn's GaussianMixture M-step for one dimension.
 */
export function fitGmm2(values: ArrayLike<number>, options: Gmm2Options = {}): Gmm2 {
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-10;
  const floor = options.varianceFloor ?? 1e-6;
  const n = values.length;
  if (n < 2) throw new FstaError('EMPTY', `a 2-component GMM needs at least 2 values, got ${n}`, 'pass the per-channel intensities of a feature map with at least 2 channels');
  assertFinite(values, 'GMM input');
  const x = Float64Array.from(values);
  const sorted = Float64Array.from(x).sort();
  const half = Math.floor(n / 2);
  const stats = (a: Float64Array) => {
    let m = 0;
    for (const v of a) m += v;
    m /= a.length;
    let s = 0;
    for (const v of a) s += (v - m) ** 2;
    return [m, s / a.length + floor] as const;
  };
  const lo = stats(sorted.subarray(0, half)), hi = stats(sorted.subarray(half));
  const mean = [lo[0], hi[0]], variance = [lo[1], hi[1]], weight = [half / n, (n - half) / n];

  const resp = new Float64Array(n);
  const eStep = (): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const a = Math.log(weight[0]!) + logDensity(x[i]!, mean[0]!, variance[0]!);
      const b = Math.log(weight[1]!) + logDensity(x[i]!, mean[1]!, variance[1]!);
      const m = Math.max(a, b);
      const lse = m + Math.log(Math.exp(a - m) + Math.exp(b - m));
      resp[i] = Math.exp(b - lse);
      total += lse;
    }
    return total;
  };

  let previous = -Infinity, iterations = 0, converged = false;
  while (iterations < maxIterations) {
    const ll = eStep() / n;
    iterations++;
    let n1 = 0, s1 = 0, s0 = 0;
    for (let i = 0; i < n; i++) {
      n1 += resp[i]!;
      s1 += resp[i]! * x[i]!;
      s0 += (1 - resp[i]!) * x[i]!;
    }
    // scikit-learn adds 10·eps to each component's mass so an empty component stays defined.
    const nk = [n - n1 + 10 * Number.EPSILON, n1 + 10 * Number.EPSILON];
    mean[0] = s0 / nk[0]!;
    mean[1] = s1 / nk[1]!;
    let v0 = 0, v1 = 0;
    for (let i = 0; i < n; i++) {
      v0 += (1 - resp[i]!) * (x[i]! - mean[0]!) ** 2;
      v1 += resp[i]! * (x[i]! - mean[1]!) ** 2;
    }
    variance[0] = v0 / nk[0]! + floor;
    variance[1] = v1 / nk[1]! + floor;
    weight[0] = nk[0]! / (nk[0]! + nk[1]!);
    weight[1] = nk[1]! / (nk[0]! + nk[1]!);
    if (Math.abs(ll - previous) < tolerance) {
      converged = true;
      break;
    }
    previous = ll;
  }
  const logLikelihood = eStep();
  const order = mean[0]! <= mean[1]! ? [0, 1] : [1, 0];
  const pick = (a: number[]) => [a[order[0]!]!, a[order[1]!]!] as [number, number];
  return { means: pick(mean), variances: pick(variance), weights: pick(weight), logLikelihood, iterations, converged };
}

/** S = (μ_f − μ_g)·w_f / w_g for a fitted mixture (f = higher mean). */
export function gmmScoreOf(g: Gmm2): number {
  return ((g.means[1] - g.means[0]) * g.weights[1]) / g.weights[0];
}

/** One GMM score per row of per-channel intensities (N, C) row-major. */
export function gmmScoresFromChannels(channelMeans: ArrayLike<number>, shape: readonly [number, number], options?: Gmm2Options): Float64Array {
  const [n, c] = shape;
  if (channelMeans.length !== n * c) throw new FstaError('SHAPE_MISMATCH', `channel intensities have ${channelMeans.length} values but shape [${n}, ${c}] needs ${n * c}`, 'pass (N, C) per-channel means');
  assertFinite(channelMeans, 'channel intensities', c);
  const out = new Float64Array(n);
  const view = Float64Array.from(channelMeans);
  for (let i = 0; i < n; i++) out[i] = gmmScoreOf(fitGmm2(view.subarray(i * c, (i + 1) * c), options));
  return out;
}

/** The GMM score of each sample of an NCHW map or (B, C, L) tokens, on an eager backend. */
export async function gmmFeatureScores<T>(ops: EagerOps<T>, f: T, options?: Gmm2Options): Promise<Float64Array> {
  const s = ops.shape(f);
  if (s.length !== 3 && s.length !== 4) throw new FstaError('BAD_RANK', `a feature map must be NCHW (rank 4) or (B, C, L) tokens (rank 3), got shape [${s.join(', ')}]`, 'pass the stage tensor itself, not pooled features');
  const gap = tidy(ops, (o) => o.mean(o.reshape(f, [0, 0, -1]), [2]));
  try {
    return gmmScoresFromChannels(await ops.read(gap), [s[0]!, s[1]!], options);
  } finally {
    ops.dispose(gap);
  }
}
