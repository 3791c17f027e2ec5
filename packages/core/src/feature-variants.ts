/**
 * The feature-map score variants of the paper's ablation, next to FS (features.ts).
 * Each takes an NCHW map or (B, C, L) tokens and returns one value per sample;
 * higher = more ID for all of them, as for FS. With F the map flattened to
 * (N, C, S), S = H·W (or L), and GAP(F) its per-channel mean over S:
 *  - featureMedianDev: median over C·S of |F − GAP(F)|.
 *  - featureStd:       sqrt(mean over C·S of (F − GAP(F))²), population std around the channel means.
 *  - channelMad:       mean over C of |GAP(F)_c − mean_c' GAP(F)_c'|: FS's deviation taken
 *                      across channels of the pooled vector instead of within channels.
 *  - gramStat:         G = F·Fᵀ/S per sample (C, C); 'mean' = mean of G's entries,
 *                      'std' = their population std, 'mad' = mean |G − mean(G)|.
 */
import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';
import { deviationFromChannelMean } from './features.js';

/** (N, C, S): the map with its spatial / token axes flattened. */
function flatMap<T>(ops: TensorOps<T>, f: T): T {
  const rank = ops.shape(f).length;
  if (rank !== 3 && rank !== 4) throw new FstaError('BAD_RANK', `a feature map must be NCHW (rank 4) or (B, C, L) tokens (rank 3), got shape [${ops.shape(f).join(', ')}]`, 'pass the stage tensor itself, not pooled features');
  return ops.reshape(f, [0, 0, -1]);
}

export function featureMedianDev<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => o.percentile(o.reshape(o.abs(deviationFromChannelMean(o, f)), [0, -1]), 50, 1));
}

export function featureStd<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => o.sqrt(o.mean(o.square(flatMap(o, deviationFromChannelMean(o, f))), [1, 2])));
}

export function channelMad<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => {
    const g = o.mean(flatMap(o, f), [2]);
    return o.mean(o.abs(o.sub(g, o.mean(g, [1], true))), [1]);
  });
}

export type GramStatistic = 'mean' | 'std' | 'mad';

/** The per-sample Gram matrix F·Fᵀ/S, (N, C, C). Built by broadcasting, so it holds N·C²·S values at once. */
export function gramMatrix<T>(ops: TensorOps<T>, f: T): T {
  return tidy(ops, (o) => {
    const rows = o.reshape(flatMap(o, f), [0, 0, 1, -1]);
    return o.mean(o.mul(rows, o.transpose(rows, [0, 2, 1, 3])), [3]);
  });
}

export function gramStat<T>(ops: TensorOps<T>, f: T, statistic: GramStatistic = 'mean'): T {
  if (statistic !== 'mean' && statistic !== 'std' && statistic !== 'mad') throw new FstaError('BAD_STATISTIC', `Gram statistic must be 'mean', 'std' or 'mad', got ${String(statistic)}`, "pass 'mean', 'std' or 'mad'");
  return tidy(ops, (o) => {
    const g = gramMatrix(o, f);
    if (statistic === 'mean') return o.mean(g, [1, 2]);
    const dev = o.sub(g, o.mean(g, [1, 2], true));
    return statistic === 'std' ? o.sqrt(o.mean(o.square(dev), [1, 2])) : o.mean(o.abs(dev), [1, 2]);
  });
}
