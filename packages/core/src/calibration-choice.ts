import type { ClassifierScoreName, FstaConfig } from './config.js';
import { FstaError } from './errors.js';
import { calibrate, chooseTa, jigsawImages, noiseImages, separatesBetter, separation } from './calibration.js';
import { phaseImages, tileImages } from './synthetic-textures.js';
import type { SetSeparation, SyntheticScores, TaCandidate, TaChoice } from './calibration.js';
import { fuse } from './fusion.js';
import { aurocMargin, clearlyBetter, describeMargin, type PairedScores } from './do-no-harm.js';

/*
 * The selection half of calibration, shared by the CLI (`fsta calibrate`) and the web
 * inspector: both score the same candidates on the same images and synthetic sets, then
 * hand the score arrays here, so they cannot choose differently for the same scores.
 */

/** Synthetic OOD sets calibration can rank candidates by (a set's seed is 1 + its position in the list used). */
export const SYNTHETIC_SET_KINDS = ['gaussian', 'uniform', 'jigsaw', 'tile', 'phase'] as const;
export type SyntheticSetKind = (typeof SYNTHETIC_SET_KINDS)[number];

/** The defaults of `fsta calibrate`, which the page uses too. */
export const CALIBRATION_DEFAULTS = Object.freeze({
  /** k candidates as percentiles of ID activations at each TA stage. */
  kPercentiles: Object.freeze([50, 70, 80, 90, 95, 99]) as readonly number[],
  /**
   * Texture-like sets made from the ID validation images (`tileImages`, `phaseImages`).
   * Issue 17's study (docs/results.md, "Choosing TA without OOD data") found that they rank
   * TA candidates as real OOD sets do on CIFAR ResNets and MobileNetV2, where noise ties
   * every candidate and 4x4 jigsaw ranked MobileNetV2's candidates the wrong way round.
   */
  syntheticSets: Object.freeze(['tile', 'phase']) as readonly SyntheticSetKind[],
  /** Images per synthetic set (jigsaw: at most one per ID validation image). */
  syntheticCount: 200,
  /** Patches per side for jigsaw: 4x4 as in the self-supervised jigsaw literature. */
  jigsawGrid: 4,
  /** Fusion candidates, in order; null is FS or FS+TA alone. */
  fusions: Object.freeze([null, 'msp', 'maxlogit', 'energy']) as readonly (ClassifierScoreName | null)[],
  tpr: 0.95,
});

/** `count` indices spread evenly over 0..n-1 (all of them when count ≥ n), without repeats. */
export function spreadPicks(n: number, count: number): number[] {
  const m = Math.min(n, count);
  return [...new Set(Array.from({ length: m }, (_, j) => Math.floor(((j + 0.5) * n) / m)))];
}

const FROM_ID: Record<string, { make: (x: Float32Array, shape: number[], seed: number, grid: number) => { data: Float32Array }; what: (grid: number) => string }> = {
  jigsaw: { make: (x, shape, seed, grid) => jigsawImages(x, shape, { grid, seed }), what: (grid) => `${grid}x${grid} patches of evenly spread ID validation images, shuffled, core jigsawImages` },
  tile: { make: (x, shape, seed) => tileImages(x, shape, { seed }), what: () => 'a quarter-side patch of each of evenly spread ID validation images mirror-tiled over the frame, core tileImages' },
  phase: { make: (x, shape, seed) => phaseImages(x, shape, { seed }), what: () => 'evenly spread ID validation images with their Fourier phase randomized (amplitude spectrum kept), core phaseImages' },
};

/**
 * One synthetic OOD set as a preprocessed NCHW batch: `noiseImages` for gaussian and
 * uniform; `jigsawImages`, `tileImages` or `phaseImages` of up to `count` evenly spread ID
 * validation images (already preprocessed, CHW each) for jigsaw, tile and phase.
 * `position` is the set's place in the list of sets used, and its seed is 1 + position,
 * so the CLI and the page make the same images.
 */
export function syntheticSet(
  kind: SyntheticSetKind,
  position: number,
  count: number,
  chw: readonly [number, number, number],
  normalization: { mean: readonly number[]; std: readonly number[] },
  idImages: readonly Float32Array[] = [],
  grid: number = CALIBRATION_DEFAULTS.jigsawGrid,
): { name: SyntheticSetKind; data: Float32Array; n: number; description: string } {
  const seed = 1 + position;
  const fromId = Object.hasOwn(FROM_ID, kind) ? FROM_ID[kind]! : undefined;
  if (fromId) {
    const picks = spreadPicks(idImages.length, count);
    if (picks.length === 0) throw new FstaError('EMPTY', `no ID validation images to make the ${kind} set from`, `pass the preprocessed ID validation images, or leave ${kind} out of the synthetic sets`);
    const per = chw[0] * chw[1] * chw[2];
    const stacked = new Float32Array(picks.length * per);
    picks.forEach((i, j) => {
      if (idImages[i]!.length !== per) throw new FstaError('SHAPE_MISMATCH', `ID image ${i} has ${idImages[i]!.length} values, not ${chw.join('x')}`, 'pass preprocessed CHW images of the model input shape');
      stacked.set(idImages[i]!, j * per);
    });
    const { data } = fromId.make(stacked, [picks.length, ...chw], seed, grid);
    return { name: kind, data, n: picks.length, description: `${kind} x ${picks.length} (${fromId.what(grid)} seed ${seed})` };
  }
  if (kind !== 'gaussian' && kind !== 'uniform') throw new FstaError('BAD_INPUT', `synthetic set "${String(kind)}" is unknown`, `use one of ${SYNTHETIC_SET_KINDS.join(', ')}`);
  return { name: kind, data: noiseImages(kind, count, chw, { ...normalization, seed }).data, n: count, description: `${kind} x ${count} (core noiseImages seed ${seed})` };
}

/** Classifier scores of the ID validation images and of each synthetic set (same names and order as the TA candidates' sets). */
export interface ClassifierSetScores {
  id: ArrayLike<number>;
  sets: readonly SyntheticScores[];
}

export interface ChooseConfigOptions {
  /** TA candidates as `chooseTa` takes them, each with `noiseSets`; include the plain-FS baseline (taStage null). */
  taCandidates: readonly TaCandidate[];
  /** Classifier scores by name, for the fusion candidates that fuse one (independent of TA: the model's own logits). */
  classifierScores?: Partial<Record<ClassifierScoreName, ClassifierSetScores>>;
  /** Fusion candidates in order; null is no fusion. Default: null, then every name in `classifierScores`. */
  fusions?: readonly (ClassifierScoreName | null)[];
  /** λ rule for every fused candidate (see `calibrate`); default the paper's λ where it has one, else spread. */
  lambda?: number | 'paper' | 'spread';
  /** Target ID true-positive rate for the threshold and FPR. Default 0.95. */
  tpr?: number;
  /** Settings kept as given (backbone, fsStage, provenance, ...). */
  base?: Partial<FstaConfig>;
}

export interface FusionCandidateResult {
  classifier: ClassifierScoreName | null;
  lambda: number;
  /** ID validation vs the synthetic sets on the fused score: mean AUROC and mean FPR at `tpr`. */
  auroc: number;
  fpr95: number;
  sets: SetSeparation[];
  config: FstaConfig;
}

export interface ConfigChoice {
  /** The chosen config: TA stage and k, fusion and λ, threshold at `tpr`. */
  config: FstaConfig;
  ta: TaChoice;
  /** Every fusion candidate, in the order given, on the chosen TA setting. */
  fusions: FusionCandidateResult[];
  fusion: FusionCandidateResult;
  reason: string;
}

/**
 * From scores to a config: the TA stage and k by `chooseTa`, then, on that setting,
 * each fusion candidate is calibrated (λ, threshold) and the one whose fused score
 * separates ID validation from the synthetic sets best (`separation`, `separatesBetter`;
 * the earlier candidate on a tie) is the config. Only ID validation and synthetic
 * scores enter; OOD test data never do.
 */
export function chooseConfig(options: ChooseConfigOptions): ConfigChoice {
  const { taCandidates, classifierScores = {}, lambda, tpr = CALIBRATION_DEFAULTS.tpr, base = {} } = options;
  const fusions = options.fusions ?? [null, ...(Object.keys(classifierScores) as ClassifierScoreName[])];
  if (fusions.length === 0) throw new FstaError('EMPTY', 'no fusion candidates to choose from', 'pass fusions, e.g. [null, "msp"]');
  if (taCandidates.some((c) => !c.noiseSets)) throw new FstaError('BAD_INPUT', 'a TA candidate has no noiseSets', 'score every candidate on the named synthetic sets (noiseSets)');
  const ta = chooseTa({ candidates: taCandidates });
  const chosen = taCandidates.find((c) => c.taStage === ta.choice.taStage && c.k === ta.choice.k)!;
  const setNames = chosen.noiseSets!.map((s) => s.name).join(', ');
  const scored: PairedScores[] = [];
  const rows = fusions.map((cls): FusionCandidateResult => {
    const given = cls === null ? null : classifierScores[cls];
    if (cls !== null && !given) throw new FstaError('BAD_INPUT', `fusion candidate "${cls}" has no classifier scores`, `pass classifierScores.${cls}, or leave it out of fusions`);
    if (given && given.sets.map((s) => s.name).join(', ') !== setNames) {
      throw new FstaError('BAD_INPUT', `classifier "${cls}" has synthetic sets [${given.sets.map((s) => s.name).join(', ')}] but the TA candidates have [${setNames}]`, 'score the classifier on the same synthetic sets, in the same order');
    }
    const config = calibrate({
      idFeature: chosen.idScores,
      ...(given ? { idClassifier: given.id, classifier: cls, ...(lambda !== undefined ? { lambda } : {}) } : {}),
      tpr, ta, base,
    });
    const fused = (feat: ArrayLike<number>, c: ArrayLike<number> | undefined) => (c ? fuse(feat, c, config.lambda) : Float64Array.from(feat));
    const sep = separation(fused(chosen.idScores, given?.id), chosen.noiseSets!.map((s, i) => ({ name: s.name, scores: fused(s.scores, given?.sets[i]!.scores) })), tpr, `fusion ${cls ?? 'none'}`);
    scored.push({ idScores: fused(chosen.idScores, given?.id), sets: chosen.noiseSets!.map((s, i) => ({ name: s.name, scores: fused(s.scores, given?.sets[i]!.scores) })) });
    return { classifier: cls, lambda: config.lambda, auroc: sep.auroc, fpr95: sep.fpr95, sets: sep.sets, config };
  });
  let best = 0;
  for (let i = 1; i < rows.length; i++) if (separatesBetter(rows[i]!, rows[best]!)) best = i;
  // Do no harm, as for TA: a fusion must beat no fusion by more than the bootstrap interval of the gain.
  const none = rows.findIndex((r) => r.classifier === null);
  let harm = '';
  if (none >= 0 && best !== none) {
    const m = aurocMargin(scored[best]!, scored[none]!);
    if (!clearlyBetter(m)) {
      harm = `; ${rows[best]!.classifier} ranked first but beat no fusion by only ${describeMargin(m)}, within the bootstrap interval, so no fusion is kept`;
      best = none;
    } else harm = `; it beats no fusion by ${describeMargin(m)}`;
  }
  const fusion = rows[best]!;
  const names = fusions.map((c) => c ?? 'none');
  const fusionReason = `${fusion.classifier ?? 'none'} chosen: highest mean AUROC of ID validation vs ${setNames} (${(fusion.auroc * 100).toFixed(2)}%) among ${names.join(', ')}${harm}`;
  const config: FstaConfig = { ...fusion.config, provenance: { ...fusion.config.provenance, fusion: fusionReason } };
  return { config, ta, fusions: rows, fusion, reason: `${ta.reason} Fusion: ${fusionReason}.` };
}
