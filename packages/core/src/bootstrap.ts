/**
 * Bootstrap intervals for the OOD metrics (metrics.ts). Images are resampled with
 * replacement within ID and within OOD separately (stratified, so every resample
 * keeps both set sizes), `resamples` times, from core's seeded `mulberry32`; the
 * interval is the percentile interval of the resampled metric (NumPy's linear
 * percentile). With the same seed and set sizes every method gets the same draws,
 * so intervals of methods scored on the same images are paired.
 *
 * Speed: the scores are sorted and grouped by distinct value once; a resample only
 * counts how often each group is drawn and walks the groups, O(n_id + n_ood) per
 * resample for all four metrics together.
 */
import { FstaError } from './errors.js';
import { mulberry32 } from './calibration.js';
import { type OodMetrics, evaluateOod } from './metrics.js';
import { percentileOf } from './reference.js';
import { scoreSet } from './score-set.js';
import { keptCount } from './threshold.js';

export interface BootstrapOptions {
  /** Number of resamples; default 1000. */
  resamples?: number;
  /** Seed of the mulberry32 stream; default 0. */
  seed?: number;
  /** Central coverage of the interval; default 0.95 (the 2.5th and 97.5th percentiles). */
  level?: number;
}

export const BOOTSTRAP_DEFAULTS = Object.freeze({ resamples: 1000, seed: 0, level: 0.95 });

export type Interval = [number, number];
export type OodIntervals = Record<keyof OodMetrics, Interval>;

export interface OodMetricsWithIntervals extends OodMetrics {
  ci: OodIntervals;
  /** How the intervals were made, for reports. */
  bootstrap: { resamples: number; seed: number; level: number; stratified: true };
}

const METRICS = ['auroc', 'fpr95', 'auprIn', 'auprOut'] as const;

function checkOptions(options: BootstrapOptions) {
  const { resamples, seed, level } = { ...BOOTSTRAP_DEFAULTS, ...options };
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new FstaError('BAD_OPTION', `bootstrap resamples must be an integer ≥ 1, got ${String(resamples)}`, 'pass a count such as 1000');
  if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff)) throw new FstaError('BAD_OPTION', `bootstrap seed must be an integer in [0, 2³²), got ${String(seed)}`, 'pass a seed such as 0');
  if (!(typeof level === 'number' && level > 0 && level < 1)) throw new FstaError('BAD_OPTION', `bootstrap level must be a fraction in (0, 1), got ${String(level)}`, 'pass 0.95 for a 95% interval (not 95)');
  return { resamples, seed, level };
}

/** One resample's draw: `out[i] = ⌊u·n⌋` for the next `out.length` values u of the stream. */
function draw(rand: () => number, n: number, out: Uint32Array): Uint32Array {
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(rand() * n);
  return out;
}

/**
 * The index draws the bootstrap makes, in its order: per resample, n_id indices into
 * the ID set, then n_ood indices into each OOD set in turn, each ⌊u·n⌋ with u from one
 * mulberry32(seed) stream. For reproducing the intervals elsewhere (the tests do it in NumPy).
 */
export function bootstrapDraws(nId: number, nOods: readonly number[], options: BootstrapOptions = {}): { id: Uint32Array; oods: Uint32Array[] }[] {
  const { resamples, seed } = checkOptions(options);
  const rand = mulberry32(seed);
  return Array.from({ length: resamples }, () => ({ id: draw(rand, nId, new Uint32Array(nId)), oods: nOods.map((n) => draw(rand, n, new Uint32Array(n))) }));
}

/** Distinct values of both sets, descending, and each sample's group. */
function groupScores(id: Float64Array, ood: Float64Array) {
  const values = Float64Array.from([...id, ...ood]).sort().reverse();
  const distinct: number[] = [];
  for (const v of values) if (distinct.length === 0 || distinct[distinct.length - 1] !== v) distinct.push(v);
  const index = new Map(distinct.map((v, g) => [v, g]));
  return { groups: distinct.length, idGroup: Uint32Array.from(id, (v) => index.get(v)!), oodGroup: Uint32Array.from(ood, (v) => index.get(v)!) };
}

/**
 * All four metrics from per-group counts, walking the distinct scores from the highest:
 * the same sums as `auroc`, `fprAtTpr`, `auprIn` and `auprOut` on the resampled sets
 * (groups drawn zero times add nothing).
 */
function metricsFromCounts(wId: Float64Array, wOod: Float64Array, nId: number, nOod: number, kept: number): OodMetrics {
  const g = wId.length;
  let tp = 0, fp = 0, twiceArea = 0, apIn = 0, fpr95 = NaN;
  for (let i = 0; i < g; i++) {
    const prevTp = tp, prevFp = fp;
    tp += wId[i]!;
    fp += wOod[i]!;
    twiceArea += (fp - prevFp) * (tp + prevTp);
    if (tp !== prevTp) apIn += ((tp - prevTp) / nId) * (tp / (tp + fp));
    if (Number.isNaN(fpr95) && tp >= kept) fpr95 = fp / nOod;
  }
  let tpOut = 0, fpOut = 0, apOut = 0;
  for (let i = g - 1; i >= 0; i--) {
    const prev = tpOut;
    tpOut += wOod[i]!;
    fpOut += wId[i]!;
    if (tpOut !== prev) apOut += ((tpOut - prev) / nOod) * (tpOut / (tpOut + fpOut));
  }
  return { auroc: twiceArea / 2 / (nId * nOod), fpr95, auprIn: apIn, auprOut: apOut };
}

type Samples = Record<keyof OodMetrics, Float64Array>;
const newSamples = (n: number): Samples => ({ auroc: new Float64Array(n), fpr95: new Float64Array(n), auprIn: new Float64Array(n), auprOut: new Float64Array(n) });

/**
 * The metrics of every resample, in draw order, for one ID set against several OOD
 * sets resampled jointly (the ID draw of a resample is shared by all OOD sets), and
 * their mean over the sets per resample: what the intervals are percentiles of.
 */
export function bootstrapOodSetsSamples(idScores: ArrayLike<number>, oodSets: readonly ArrayLike<number>[], options: BootstrapOptions = {}): { sets: Samples[]; average: Samples } {
  const { resamples, seed } = checkOptions(options);
  const id = scoreSet(idScores, 'ID scores');
  if (oodSets.length === 0) throw new FstaError('EMPTY', 'no OOD sets were given', 'pass at least one OOD score set');
  const oods = oodSets.map((o, s) => scoreSet(o, oodSets.length > 1 ? `OOD scores of set ${s}` : 'OOD scores'));
  const nId = id.length;
  const kept = keptCount(nId, 0.95);
  const grouped = oods.map((ood) => ({ n: ood.length, ...groupScores(id, ood) }));
  const work = grouped.map((g) => ({ idx: new Uint32Array(g.n), wId: new Float64Array(g.groups), wOod: new Float64Array(g.groups) }));
  const rand = mulberry32(seed);
  const idIdx = new Uint32Array(nId);
  const sets = oods.map(() => newSamples(resamples)), average = newSamples(resamples);
  for (let r = 0; r < resamples; r++) {
    draw(rand, nId, idIdx);
    grouped.forEach((g, s) => {
      const { idx, wId, wOod } = work[s]!;
      wId.fill(0);
      wOod.fill(0);
      for (const i of idIdx) wId[g.idGroup[i]!]!++;
      for (const j of draw(rand, g.n, idx)) wOod[g.oodGroup[j]!]!++;
      const m = metricsFromCounts(wId, wOod, nId, g.n, kept);
      for (const k of METRICS) {
        sets[s]![k][r] = m[k];
        average[k][r]! += m[k] / oods.length;
      }
    });
  }
  return { sets, average };
}

/** The metric of every resample for one ID and one OOD set. */
export function bootstrapOodSamples(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, options: BootstrapOptions = {}): Samples {
  return bootstrapOodSetsSamples(idScores, [oodScores], options).sets[0]!;
}

/** The percentile interval of each metric's resampled values (sorts them in place). */
function intervals(samples: Record<keyof OodMetrics, Float64Array>, level: number): OodIntervals {
  const lo = (100 * (1 - level)) / 2, hi = 100 - lo;
  return Object.fromEntries(METRICS.map((k) => {
    const sorted = samples[k].sort();
    return [k, [percentileOf(sorted, lo), percentileOf(sorted, hi)] as Interval];
  })) as OodIntervals;
}

/**
 * `evaluateOod` per OOD set plus a bootstrap percentile interval for each metric
 * (fractions in [0, 1]), and the mean over the sets with its own interval. The sets are
 * resampled jointly, in the order of `oodSets`' keys. Defaults: 1000 resamples, seed 0, 95%.
 */
export function evaluateOodSetsWithIntervals(idScores: ArrayLike<number>, oodSets: Readonly<Record<string, ArrayLike<number>>>, options: BootstrapOptions = {}): { sets: Record<string, OodMetricsWithIntervals>; average: OodMetricsWithIntervals } {
  const { resamples, seed, level } = checkOptions(options);
  const names = Object.keys(oodSets);
  const samples = bootstrapOodSetsSamples(idScores, names.map((n) => oodSets[n]!), { resamples, seed });
  const bootstrap = { resamples, seed, level, stratified: true as const };
  const points = names.map((n) => evaluateOod(idScores, oodSets[n]!));
  const sets = Object.fromEntries(names.map((n, s) => [n, { ...points[s]!, ci: intervals(samples.sets[s]!, level), bootstrap }]));
  const mean = Object.fromEntries(METRICS.map((k) => [k, points.reduce((a, p) => a + p[k], 0) / points.length])) as unknown as OodMetrics;
  return { sets, average: { ...mean, ci: intervals(samples.average, level), bootstrap } };
}

/** `evaluateOod` plus a bootstrap percentile interval for each metric: `evaluateOodSetsWithIntervals` with one OOD set. */
export function evaluateOodWithIntervals(idScores: ArrayLike<number>, oodScores: ArrayLike<number>, options: BootstrapOptions = {}): OodMetricsWithIntervals {
  return evaluateOodSetsWithIntervals(idScores, { ood: oodScores }, options).sets.ood!;
}

export interface OodDifference {
  /** Point difference A − B of each metric. */
  difference: OodMetrics;
  /** Percentile interval of the paired resampled differences A − B. */
  ci: OodIntervals;
  bootstrap: { resamples: number; seed: number; level: number; stratified: true };
}

type Scored = { id: ArrayLike<number>; oods: Readonly<Record<string, ArrayLike<number>>> };

/**
 * Method A minus method B on the same images (the same ID set and OOD sets, in the same
 * order), per OOD set and for the mean over the sets, with paired bootstrap intervals:
 * both are resampled with the same draws (`evaluateOodSetsWithIntervals`' scheme), so
 * the interval of the difference is narrower than the two separate intervals
 * suggest. An interval that excludes 0 says the gap is not a resampling accident.
 */
export function compareOodSetsWithIntervals(a: Scored, b: Scored, options: BootstrapOptions = {}): { sets: Record<string, OodDifference>; average: OodDifference } {
  const { resamples, seed, level } = checkOptions(options);
  const names = Object.keys(a.oods);
  const same = a.id.length === b.id.length && names.length === Object.keys(b.oods).length && names.every((n) => b.oods[n] !== undefined && b.oods[n]!.length === a.oods[n]!.length);
  if (!same) {
    const shape = (x: Scored) => `${x.id.length} ID and ${Object.entries(x.oods).map(([n, o]) => `${o.length} ${n}`).join(', ')}`;
    throw new FstaError('SHAPE_MISMATCH', `method A has ${shape(a)} scores but method B has ${shape(b)}`, 'compare two methods scored on the same images, in the same order');
  }
  const bootstrap = { resamples, seed, level, stratified: true as const };
  const sa = bootstrapOodSetsSamples(a.id, names.map((n) => a.oods[n]!), { resamples, seed });
  const sb = bootstrapOodSetsSamples(b.id, names.map((n) => b.oods[n]!), { resamples, seed });
  const minus = (x: OodMetrics, y: OodMetrics) => Object.fromEntries(METRICS.map((k) => [k, x[k] - y[k]])) as unknown as OodMetrics;
  const paired = (x: Samples, y: Samples) => Object.fromEntries(METRICS.map((k) => [k, x[k].map((v, i) => v - y[k][i]!)])) as Samples;
  const pa = names.map((n) => evaluateOod(a.id, a.oods[n]!)), pb = names.map((n) => evaluateOod(b.id, b.oods[n]!));
  const mean = (ps: OodMetrics[]) => Object.fromEntries(METRICS.map((k) => [k, ps.reduce((t, p) => t + p[k], 0) / ps.length])) as unknown as OodMetrics;
  return {
    sets: Object.fromEntries(names.map((n, s) => [n, { difference: minus(pa[s]!, pb[s]!), ci: intervals(paired(sa.sets[s]!, sb.sets[s]!), level), bootstrap }])),
    average: { difference: minus(mean(pa), mean(pb)), ci: intervals(paired(sa.average, sb.average), level), bootstrap },
  };
}

/** `compareOodSetsWithIntervals` for one OOD set. */
export function compareOodWithIntervals(a: { id: ArrayLike<number>; ood: ArrayLike<number> }, b: { id: ArrayLike<number>; ood: ArrayLike<number> }, options: BootstrapOptions = {}): OodDifference {
  return compareOodSetsWithIntervals({ id: a.id, oods: { ood: a.ood } }, { id: b.id, oods: { ood: b.ood } }, options).sets.ood!;
}
