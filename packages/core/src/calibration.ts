import type { ClassifierScoreName, FstaConfig } from './config.js';
import { defaultConfig, parseConfig } from './config.js';
import { FstaError } from './errors.js';
import { PAPER_LAMBDA, fuse, lambdaFromSpread } from './fusion.js';
import { auroc, fprAtTpr } from './metrics.js';
import { percentileOf } from './reference.js';
import { scoreSet } from './score-set.js';
import { thresholdAtTpr } from './threshold.js';

/*
 * Calibration picks k, the TA stage, λ and the decision threshold from ID validation
 * data and synthetic noise only. It never sees OOD test data: the callers (adapters,
 * CLI) run the model and hand over score arrays computed on those two sources.
 */

export { thresholdAtTpr };

/** mulberry32: a small seeded 32-bit PRNG with uniform output in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface NoiseOptions {
  /** Per-channel normalization mean of the model's preprocessing (pixel units, [0, 1]). */
  mean: readonly number[];
  /** Per-channel normalization std of the model's preprocessing. */
  std: readonly number[];
  /** PRNG seed; the same seed always gives the same images. Default 0. */
  seed?: number;
  /** Gaussian only: std of the pixel noise around 0.5 before clipping to [0, 1]. Default 0.5. */
  sigma?: number;
}

export interface NoiseImages {
  data: Float32Array;
  shape: [number, number, number, number];
  layout: 'NCHW';
}

/**
 * Synthetic OOD images for calibration: i.i.d. pixels in [0, 1], uniform U(0, 1) or
 * Gaussian N(0.5, sigma²) clipped to [0, 1], then normalized per channel as
 * (p − mean[c]) / std[c], so they enter the model like a preprocessed image.
 * Deterministic for a given seed (mulberry32 + Box–Muller).
 */
export function noiseImages(kind: 'gaussian' | 'uniform', n: number, chw: readonly [number, number, number] | readonly number[], options: NoiseOptions): NoiseImages {
  if (kind !== 'gaussian' && kind !== 'uniform') {
    throw new FstaError('BAD_INPUT', `noise kind "${String(kind)}" is unknown`, 'pass "gaussian" or "uniform"');
  }
  if (!Number.isInteger(n) || n < 1) throw new FstaError('BAD_INPUT', `noise image count ${String(n)} is not a positive integer`, 'pass n ≥ 1');
  if (chw.length !== 3 || !chw.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FstaError('SHAPE_MISMATCH', `noise image shape [${chw.join(', ')}] is not [C, H, W] with positive integers`, 'pass the model input shape without the batch axis, e.g. [3, 32, 32]');
  }
  const [C, H, W] = chw as [number, number, number];
  const { mean, std, seed = 0, sigma = 0.5 } = options;
  if (mean.length !== C || std.length !== C) {
    throw new FstaError('SHAPE_MISMATCH', `normalization has ${mean.length} means and ${std.length} stds for ${C} channels`, 'pass one mean and one std per channel');
  }
  std.forEach((s, c) => {
    if (!(s > 0) || !Number.isFinite(s)) throw new FstaError('BAD_INPUT', `normalization std[${c}] = ${s} is not a positive number`, 'pass the std of the model\'s preprocessing');
  });
  mean.forEach((m, c) => {
    if (!Number.isFinite(m)) throw new FstaError('BAD_INPUT', `normalization mean[${c}] = ${m} is not finite`, 'pass the mean of the model\'s preprocessing');
  });
  if (!Number.isInteger(seed)) throw new FstaError('BAD_INPUT', `noise seed ${String(seed)} is not an integer`, 'pass an integer seed');
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new FstaError('BAD_INPUT', `noise sigma ${String(sigma)} is not a positive number`, 'pass sigma > 0 (pixel units)');

  const rand = mulberry32(seed);
  let spare: number | null = null;
  const gauss = (): number => {
    if (spare !== null) {
      const z = spare;
      spare = null;
      return z;
    }
    const u1 = 1 - rand(); // (0, 1]: log never sees 0
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  const pixel = kind === 'uniform' ? rand : () => Math.min(1, Math.max(0, 0.5 + sigma * gauss()));

  const plane = H * W;
  const data = new Float32Array(n * C * plane);
  for (let img = 0; img < n; img++) {
    for (let c = 0; c < C; c++) {
      const off = (img * C + c) * plane;
      const m = mean[c]!, s = std[c]!;
      for (let i = 0; i < plane; i++) data[off + i] = (pixel() - m) / s;
    }
  }
  return { data, shape: [n, C, H, W], layout: 'NCHW' };
}

/**
 * k as the q-th percentile (0..100, linear interpolation as NumPy) of ID activations
 * at the TA stage, so that k follows that stage's activation scale. Works on arrays
 * of any size (typed-array sort, no argument spreading).
 */
export function kFromPercentile(idActivations: ArrayLike<number>, q: number): number {
  if (typeof q !== 'number' || !(q >= 0 && q <= 100)) {
    throw new FstaError('BAD_PERCENTILE', `percentile ${String(q)} is outside [0, 100]`, 'pass q between 0 and 100, e.g. 90');
  }
  const values = scoreSet(idActivations, 'ID activations', 'k is a percentile of ID activations at the TA stage').sort();
  return percentileOf(values, q);
}

export interface TaCandidate {
  /** Stage where TA is applied; null scores plain FS (no TA) as a baseline candidate. */
  taStage: string | null;
  k: number;
  kPercentile?: number;
  /** Feature scores (FS with this TA setting) of ID validation images. */
  idScores: ArrayLike<number>;
  /** The same scores on synthetic noise images (`noiseImages`). */
  noiseScores: ArrayLike<number>;
}

export interface TaCandidateResult {
  taStage: string | null;
  k: number;
  kPercentile?: number;
  /** ID validation vs noise, ID positive. */
  auroc: number;
  fpr95: number;
}

export interface TaChoice {
  choice: TaCandidateResult;
  /** Every candidate, in the order given. */
  table: TaCandidateResult[];
  reason: string;
}

const describeTa = (r: { taStage: string | null; k: number; kPercentile?: number }): string =>
  r.taStage === null ? 'no TA (plain FS)' : `TA at ${r.taStage} with k=${r.k}${r.kPercentile !== undefined ? ` (${r.kPercentile}th percentile of ID activations)` : ''}`;

/**
 * Picks the TA stage and k that best separate ID validation scores from synthetic
 * noise scores: highest AUROC, then lowest FPR@95%TPR, then the earlier candidate.
 */
export function chooseTa({ candidates }: { candidates: readonly TaCandidate[] }): TaChoice {
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw new FstaError('EMPTY', 'no TA candidates to choose from', 'pass at least one {taStage, k, idScores, noiseScores} candidate');
  }
  const table = candidates.map((c, i): TaCandidateResult => {
    if (c.taStage !== null && (typeof c.taStage !== 'string' || c.taStage === '')) {
      throw new FstaError('BAD_INPUT', `candidate ${i} has taStage ${String(c.taStage)}`, 'pass a stage name such as "C4", or null for no TA');
    }
    if (typeof c.k !== 'number' || !Number.isFinite(c.k) || c.k < 0) {
      throw new FstaError('BAD_K', `candidate ${i} has k=${String(c.k)}`, 'pass k as a finite number ≥ 0');
    }
    const label = `candidate ${i} (${describeTa(c)})`;
    const id = scoreSet(c.idScores, `${label} ID validation scores`, 'run the model on ID validation images');
    const noise = scoreSet(c.noiseScores, `${label} noise scores`, 'run the model on noiseImages(...)');
    const row: TaCandidateResult = { taStage: c.taStage, k: c.k, auroc: auroc(id, noise), fpr95: fprAtTpr(id, noise, 0.95) };
    if (c.kPercentile !== undefined) row.kPercentile = c.kPercentile;
    return row;
  });
  let best = 0;
  for (let i = 1; i < table.length; i++) {
    const a = table[i]!, b = table[best]!;
    if (a.auroc > b.auroc || (a.auroc === b.auroc && a.fpr95 < b.fpr95)) best = i;
  }
  const choice = table[best]!;
  const fmt = (r: TaCandidateResult) => `AUROC ${r.auroc.toFixed(4)}, FPR95 ${r.fpr95.toFixed(4)}`;
  const others = table.filter((_, i) => i !== best).sort((a, b) => b.auroc - a.auroc || a.fpr95 - b.fpr95);
  const runnerUp = others[0];
  const reason =
    `${describeTa(choice)} separates ID validation from synthetic noise best of ${table.length} candidate${table.length > 1 ? 's' : ''} (${fmt(choice)}` +
    (runnerUp ? `; next: ${describeTa(runnerUp)}, ${fmt(runnerUp)})` : ')') +
    '. Chosen without OOD test data.';
  return { choice, table, reason };
}

export interface CalibrateOptions {
  /** Feature scores (FS, or FS+TA with the chosen stage and k) of ID validation images. */
  idFeature: ArrayLike<number>;
  /** Classifier scores of the same ID validation images, when a classifier score is fused. */
  idClassifier?: ArrayLike<number>;
  classifier?: ClassifierScoreName | null;
  /**
   * A number, 'paper' (the paper's table, for msp/energy/odin/gradnorm/react) or
   * 'spread' (std(S_feat) / std(S_cls) on ID validation). Default: 'paper' where the
   * table has the classifier, else 'spread'.
   */
  lambda?: number | 'paper' | 'spread';
  /** Target ID true-positive rate for the threshold. Default 0.95. */
  tpr?: number;
  /** Settings kept as given (backbone, fsStage, temperature, ...). */
  base?: Partial<FstaConfig>;
  /** A `chooseTa` result: sets taStage, k, kPercentile and featureScore and is recorded. */
  ta?: TaChoice;
}

function resolveLambda(classifier: ClassifierScoreName, rule: number | 'paper' | 'spread' | undefined, idFeature: ArrayLike<number>, idClassifier: ArrayLike<number>) {
  const paper = (PAPER_LAMBDA as Readonly<Record<string, number>>)[classifier];
  const chosen = rule ?? (paper !== undefined ? 'paper' : 'spread');
  if (typeof chosen === 'number') {
    if (!Number.isFinite(chosen)) throw new FstaError('BAD_LAMBDA', `λ must be a finite number, got ${chosen}`, "pass a number, 'paper' or 'spread'");
    return { value: chosen, rule: 'given' as const };
  }
  if (chosen === 'paper') {
    if (paper === undefined) {
      throw new FstaError('BAD_LAMBDA', `the paper gives no λ for classifier "${classifier}" (it has ${Object.keys(PAPER_LAMBDA).join(', ')})`, "pass lambda: 'spread' or a number");
    }
    return { value: paper, rule: 'paper' as const };
  }
  if (chosen === 'spread') return { value: lambdaFromSpread(idFeature, idClassifier), rule: 'spread' as const };
  throw new FstaError('BAD_LAMBDA', `λ rule ${String(chosen)} is unknown`, "pass a number, 'paper' or 'spread'");
}

/**
 * Builds the config a detector runs with from ID validation scores: λ (given, the
 * paper's, or the ratio of spreads), then the threshold at `tpr` on the fused ID
 * validation scores (`thresholdAtTpr`). Only ID validation data and, through `ta`,
 * synthetic noise are used; OOD test data never enter calibration.
 */
export function calibrate(options: CalibrateOptions): FstaConfig {
  const { idClassifier, lambda, tpr = 0.95, base = {}, ta } = options;
  const classifier = options.classifier ?? null;
  const idFeature = scoreSet(options.idFeature, 'ID validation feature scores', 'calibration needs scores of ID validation images');
  const provenance: Record<string, unknown> = {
    data: `${idFeature.length} ID validation images${ta ? ' and synthetic noise images (TA choice)' : ''}; no OOD test data`,
  };
  const taFields: Partial<FstaConfig> = {};
  if (ta) {
    const { taStage, k, kPercentile } = ta.choice;
    Object.assign(taFields, { taStage, k, featureScore: taStage === null ? 'fs' : 'fs_ta' });
    if (kPercentile !== undefined) taFields.kPercentile = kPercentile;
    provenance.ta = { reason: ta.reason, candidates: ta.table };
  }

  let fused: ArrayLike<number> = idFeature;
  let lambdaValue = 0;
  if (classifier !== null) {
    if (idClassifier === undefined) {
      throw new FstaError('BAD_INPUT', `classifier "${classifier}" is fused but no ID classifier scores were given`, 'pass idClassifier (the same ID validation images scored by the classifier score) or classifier: null');
    }
    const cls = scoreSet(idClassifier, 'ID validation classifier scores', 'calibration needs scores of ID validation images');
    if (cls.length !== idFeature.length) {
      throw new FstaError('SHAPE_MISMATCH', `${idFeature.length} ID feature scores but ${cls.length} ID classifier scores`, 'score the same ID validation images with both');
    }
    const l = resolveLambda(classifier, lambda, idFeature, cls);
    lambdaValue = l.value;
    fused = fuse(idFeature, cls, lambdaValue);
    provenance.lambda = { rule: l.rule, value: lambdaValue, classifier };
  } else if (lambda !== undefined) {
    throw new FstaError('BAD_INPUT', 'λ was given but no classifier score is fused', 'pass classifier as well, or leave lambda out');
  }

  const threshold = thresholdAtTpr(fused, tpr);
  let kept = 0;
  for (let i = 0; i < fused.length; i++) if (fused[i]! >= threshold) kept++;
  provenance.threshold = {
    rule: 'largest t with at least targetTpr of the fused ID validation scores ≥ t',
    targetTpr: tpr,
    achievedTpr: kept / fused.length,
  };

  const { provenance: baseProvenance, ...rest } = base;
  return parseConfig(
    defaultConfig({
      ...rest,
      ...taFields,
      classifier,
      lambda: lambdaValue,
      threshold,
      targetTpr: tpr,
      provenance: { ...baseProvenance, ...provenance },
    }),
  );
}
