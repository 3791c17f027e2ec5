import type { ClassifierScoreName, FstaConfig } from './config.js';
import { defaultConfig, parseConfig } from './config.js';
import { FstaError } from './errors.js';
import { PAPER_LAMBDA, fuse, lambdaFromSpread } from './fusion.js';
import { auroc, fprAtTpr } from './metrics.js';
import { percentileOf } from './reference.js';
import { scoreSet } from './score-set.js';
import { thresholdAtTpr } from './threshold.js';
import { aurocMargin, clearlyBetter, describeMargin, type Margin, type MarginOptions, type PairedScores } from './do-no-harm.js';

/*
 * Calibration picks k, the TA stage, λ and the decision threshold from ID validation
 * data and synthetic OOD (noise, or ID validation images scrambled) only. It never sees OOD test data: the callers (adapters,
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
  checkSeed(seed, 'noise');
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

/** A synthetic-OOD maker's seed, refused unless an integer (`what`: 'noise', 'jigsaw', …). */
export function checkSeed(seed: number, what: string): void {
  if (!Number.isInteger(seed)) throw new FstaError('BAD_INPUT', `${what} seed ${String(seed)} is not an integer`, 'pass an integer seed');
}

/** Patches per side of an H×W image (jigsaw's grid, tile's divisions), refused outside [2, min(H, W)]. */
export function checkPatchGrid(value: number, what: string, option: string, H: number, W: number): void {
  if (!Number.isInteger(value) || value < 2 || value > Math.min(H, W)) {
    throw new FstaError('BAD_INPUT', `${what} ${option} ${String(value)} is not an integer in [2, ${Math.min(H, W)}] for ${H}x${W} images`, `pass ${option} ≥ 2 and at most the image side, e.g. 4`);
  }
}

/** [N, C, H, W] of a batch a synthetic-OOD maker transforms, or a SHAPE_MISMATCH naming `what`. */
export function checkImageBatch(images: ArrayLike<number>, shape: readonly number[], what: string, example: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new FstaError('SHAPE_MISMATCH', `${what} image shape [${shape.join(', ')}] is not [N, C, H, W] with positive integers`, `pass the NCHW shape of the ID validation batch, e.g. [${example.join(', ')}]`);
  }
  const [N, C, H, W] = shape as [number, number, number, number];
  if (images.length !== N * C * H * W) {
    throw new FstaError('SHAPE_MISMATCH', `${what} input has ${images.length} values but shape [${shape.join(', ')}] needs ${N * C * H * W}`, 'pass the image data and its own shape');
  }
  return [N, C, H, W];
}

export interface JigsawOptions {
  /** Patches per side: the image is cut into grid × grid patches. Default 4. */
  grid?: number;
  /** PRNG seed for the patch order; the same seed always gives the same images. Default 0. */
  seed?: number;
}

/**
 * Synthetic OOD made from ID images: each image is cut into grid × grid patches that are
 * put back in a seeded random order (never the identity), the same order for every
 * channel. Pixel values, colour statistics and textures inside a patch stay those of ID
 * data while the object layout is broken, so it is much closer to ID than noise and can
 * rank TA settings that all separate noise perfectly. When H or W is not a multiple of
 * the grid, the last H mod grid rows and W mod grid columns stay where they are.
 * Works on preprocessed (normalized) images: the normalization is per pixel, so
 * permuting before or after it gives the same tensor.
 */
export function jigsawImages(images: ArrayLike<number>, shape: readonly number[], options: JigsawOptions = {}): NoiseImages {
  const [N, C, H, W] = checkImageBatch(images, shape, 'jigsaw', [200, 3, 32, 32]);
  const { grid = 4, seed = 0 } = options;
  checkPatchGrid(grid, 'jigsaw', 'grid', H, W);
  checkSeed(seed, 'jigsaw');
  const ph = Math.floor(H / grid), pw = Math.floor(W / grid);
  const rand = mulberry32(seed);
  const cells = grid * grid;
  const order = new Int32Array(cells);
  const data = Float32Array.from(images);
  for (let img = 0; img < N; img++) {
    // Fisher–Yates, redrawn in the (1 / cells!) case that it leaves every patch in place.
    let identity = true;
    while (identity) {
      for (let i = 0; i < cells; i++) order[i] = i;
      for (let i = cells - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const t = order[i]!; order[i] = order[j]!; order[j] = t;
      }
      identity = order.every((v, i) => v === i);
    }
    for (let c = 0; c < C; c++) {
      const plane = (img * C + c) * H * W;
      for (let dst = 0; dst < cells; dst++) {
        const src = order[dst]!;
        const sy = Math.floor(src / grid) * ph, sx = (src % grid) * pw;
        const dy = Math.floor(dst / grid) * ph, dx = (dst % grid) * pw;
        for (let y = 0; y < ph; y++) {
          for (let x = 0; x < pw; x++) data[plane + (dy + y) * W + dx + x] = images[plane + (sy + y) * W + sx + x]!;
        }
      }
    }
  }
  return { data, shape: [N, C, H, W], layout: 'NCHW' };
}

/** How k's ID activations are sampled: up to `images` ID images, about `size` values in all, taken per batch of `batch` images. */
export const TA_SAMPLE = Object.freeze({ images: 200, size: 200_000, batch: 32 });

/**
 * The ID images k's activations come from: every (n / images)-th, at most `images`
 * of them (indices into the n ID images).
 */
export function taSampleImages(n: number, images: number = TA_SAMPLE.images): number[] {
  const step = Math.max(1, Math.floor(n / images));
  return Array.from({ length: n }, (_, i) => i).filter((i) => i % step === 0).slice(0, images);
}

/**
 * One batch's share of the activation sample k is a percentile of: a stride over the
 * batch's values, its images' activations one after another (`perImage`, of `total`
 * images in all), as many per image as `size` over the whole set allows. The CLI samples
 * batch by batch as it streams; the web page groups its images into the same batches, so
 * both take the same values.
 */
export function taSampleOfBatch(perImage: readonly ArrayLike<number>[], total: number, size: number = TA_SAMPLE.size): number[] {
  const length = perImage.reduce((n, v) => n + v.length, 0);
  const want = Math.ceil((size * perImage.length) / total);
  const step = Math.max(1, Math.floor(length / want));
  const out: number[] = [];
  // i runs over the batch's values as if joined; `start` is where the current image's begin.
  let i = 0, start = 0;
  for (const v of perImage) {
    for (; i < start + v.length; i += step) out.push(v[i - start]!);
    start += v.length;
  }
  return out;
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

/** Scores of one synthetic OOD set (noise, jigsaw, ...) under one setting. */
export interface SyntheticScores {
  name: string;
  scores: ArrayLike<number>;
}

export interface SetSeparation {
  name: string;
  /** ID validation vs this synthetic set, ID positive. */
  auroc: number;
  fpr95: number;
}

export interface Separation {
  /** Mean over the synthetic sets. */
  auroc: number;
  /** Mean over the synthetic sets. */
  fpr95: number;
  sets: SetSeparation[];
}

/**
 * How well scores separate ID validation images from several synthetic OOD sets: AUROC
 * and FPR at `tpr` per set and their means. Each set counts equally, whatever its size,
 * so a set that every candidate separates perfectly (noise) cannot drown one that
 * ranks them (jigsaw). The one criterion calibration ranks TA settings and fusions by.
 */
export function separation(idScores: ArrayLike<number>, sets: readonly SyntheticScores[], tpr = 0.95, label = 'scores'): Separation {
  if (!Array.isArray(sets) || sets.length === 0) {
    throw new FstaError('EMPTY', `no synthetic OOD sets for ${label}`, 'pass at least one {name, scores} set, e.g. noiseImages or jigsawImages scored by the model');
  }
  const id = scoreSet(idScores, `${label} ID validation scores`, 'run the model on ID validation images');
  const rows = sets.map((s): SetSeparation => {
    const ood = scoreSet(s.scores, `${label} ${s.name} scores`, `run the model on the ${s.name} images`);
    return { name: s.name, auroc: auroc(id, ood), fpr95: fprAtTpr(id, ood, tpr) };
  });
  const mean = (key: 'auroc' | 'fpr95') => rows.reduce((a, r) => a + r[key], 0) / rows.length;
  return { auroc: mean('auroc'), fpr95: mean('fpr95'), sets: rows };
}

/** True when `a` separates better than `b`: higher mean AUROC, then lower mean FPR95. */
export const separatesBetter = (a: { auroc: number; fpr95: number }, b: { auroc: number; fpr95: number }): boolean =>
  a.auroc > b.auroc || (a.auroc === b.auroc && a.fpr95 < b.fpr95);

export interface TaCandidate {
  /** Stage where TA is applied; null scores plain FS (no TA) as a baseline candidate. */
  taStage: string | null;
  k: number;
  kPercentile?: number;
  /** Feature scores (FS with this TA setting) of ID validation images. */
  idScores: ArrayLike<number>;
  /** The same scores on synthetic OOD images: one set (`noiseImages`)... */
  noiseScores?: ArrayLike<number>;
  /** ...or several named sets (noise kinds, `jigsawImages`), the same names for every candidate. */
  noiseSets?: readonly SyntheticScores[];
}

export interface TaCandidateResult {
  taStage: string | null;
  k: number;
  kPercentile?: number;
  /** ID validation vs synthetic OOD, ID positive: mean over the sets. */
  auroc: number;
  /** Mean over the sets. */
  fpr95: number;
  /** Per synthetic set. */
  sets: SetSeparation[];
}

export interface TaChoice {
  choice: TaCandidateResult;
  /** Every candidate, in the order given. */
  table: TaCandidateResult[];
  reason: string;
  /** The best candidate's gain over plain FS, when it was checked (do no harm); `fellBack` when it was not clear enough. */
  margin?: Margin & { fellBack: boolean };
}

const describeTa = (r: { taStage: string | null; k: number; kPercentile?: number }): string =>
  r.taStage === null ? 'no TA (plain FS)' : `TA at ${r.taStage} with k=${r.k}${r.kPercentile !== undefined ? ` (${r.kPercentile}th percentile of ID activations)` : ''}`;

/**
 * Picks the TA stage and k that best separate ID validation scores from synthetic OOD
 * (`separation`): highest mean AUROC over the synthetic sets, then lowest mean
 * FPR@95%TPR, then the earlier candidate.
 */
export function chooseTa({ candidates, doNoHarm = {} }: { candidates: readonly TaCandidate[]; doNoHarm?: MarginOptions | false }): TaChoice {
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw new FstaError('EMPTY', 'no TA candidates to choose from', 'pass at least one {taStage, k, idScores, noiseScores} candidate');
  }
  let names: string | null = null;
  const table = candidates.map((c, i): TaCandidateResult => {
    if (c.taStage !== null && (typeof c.taStage !== 'string' || c.taStage === '')) {
      throw new FstaError('BAD_INPUT', `candidate ${i} has taStage ${String(c.taStage)}`, 'pass a stage name such as "C4", or null for no TA');
    }
    if (typeof c.k !== 'number' || !Number.isFinite(c.k) || c.k < 0) {
      throw new FstaError('BAD_K', `candidate ${i} has k=${String(c.k)}`, 'pass k as a finite number ≥ 0');
    }
    if ((c.noiseScores === undefined) === (c.noiseSets === undefined)) {
      throw new FstaError('BAD_INPUT', `candidate ${i} has ${c.noiseScores === undefined ? 'neither noiseScores nor noiseSets' : 'both noiseScores and noiseSets'}`, 'pass exactly one of noiseScores (one set) or noiseSets (named sets)');
    }
    const sets: readonly SyntheticScores[] = c.noiseSets ?? [{ name: 'noise', scores: c.noiseScores! }];
    const these = sets.map((s) => s.name).join(', ');
    if (names === null) names = these;
    else if (these !== names) {
      throw new FstaError('BAD_INPUT', `candidate ${i} has synthetic sets [${these}] but candidate 0 has [${names}]`, 'score every candidate on the same synthetic sets, in the same order');
    }
    const sep = separation(c.idScores, sets, 0.95, `candidate ${i} (${describeTa(c)})`);
    const row: TaCandidateResult = { taStage: c.taStage, k: c.k, auroc: sep.auroc, fpr95: sep.fpr95, sets: sep.sets };
    if (c.kPercentile !== undefined) row.kPercentile = c.kPercentile;
    return row;
  });
  let best = 0;
  for (let i = 1; i < table.length; i++) if (separatesBetter(table[i]!, table[best]!)) best = i;
  // Do no harm: TA must beat plain FS by more than the bootstrap interval of the gain, else plain FS.
  const plain = table.findIndex((r) => r.taStage === null);
  let margin: TaChoice['margin'];
  if (doNoHarm !== false && plain >= 0 && best !== plain) {
    const paired = (c: TaCandidate): PairedScores => ({ idScores: c.idScores, sets: c.noiseSets ?? [{ name: 'noise', scores: c.noiseScores! }] });
    const m = aurocMargin(paired(candidates[best]!), paired(candidates[plain]!), doNoHarm);
    margin = { ...m, fellBack: !clearlyBetter(m) };
    if (margin.fellBack) {
      const beaten = table[best]!;
      const choice = table[plain]!;
      const reason = `${describeTa(beaten)} ranked first on synthetic OOD, but its gain over plain FS, ${describeMargin(m)}, is within the bootstrap interval, so fsta keeps plain FS (no TA): TA must beat it clearly to be used. Chosen without OOD test data.`;
      return { choice, table, reason, margin };
    }
  }
  const choice = table[best]!;
  const multi = choice.sets.length > 1;
  const fmt = (r: TaCandidateResult) => `${multi ? 'mean ' : ''}AUROC ${r.auroc.toFixed(4)}, FPR95 ${r.fpr95.toFixed(4)}`;
  const others = table.filter((_, i) => i !== best).sort((a, b) => b.auroc - a.auroc || a.fpr95 - b.fpr95);
  const runnerUp = others[0];
  const what = multi ? `synthetic OOD (${choice.sets.map((s) => s.name).join(', ')}; mean over the sets)` : 'synthetic noise';
  const reason =
    `${describeTa(choice)} separates ID validation from ${what} best of ${table.length} candidate${table.length > 1 ? 's' : ''} (${fmt(choice)}` +
    (runnerUp ? `; next: ${describeTa(runnerUp)}, ${fmt(runnerUp)})` : ')') +
    (margin ? `; it beats plain FS by ${describeMargin(margin)}` : '') +
    '. Chosen without OOD test data.';
  return { choice, table, reason, ...(margin ? { margin } : {}) };
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

/**
 * λ for fusing `classifier` with a feature score, the one rule calibration and the CLI
 * share: a given number; 'paper' (PAPER_LAMBDA, refused where the paper gives none); or
 * 'spread' (`lambdaFromSpread` on the ID scores). Default: the paper's value where it
 * has one (MSP, Energy, ODIN, GradNorm, ReAct), else the spread rule (ASH, SCALE, fDBD, ...).
 */
export function resolveLambda(classifier: ClassifierScoreName, rule: number | 'paper' | 'spread' | undefined, idFeature: ArrayLike<number>, idClassifier: ArrayLike<number>) {
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
    data: `${idFeature.length} ID validation images${ta ? ' and synthetic OOD images made from noise or ID validation images (TA choice)' : ''}; no OOD test data`,
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
