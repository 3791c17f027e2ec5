import { FstaError } from './errors.js';
import { auroc } from './metrics.js';
import { mulberry32 } from './calibration.js';
import type { SyntheticScores } from './calibration.js';

/** Scores of one candidate setting on the same ID validation images and synthetic sets as the baseline. */
export interface PairedScores {
  idScores: ArrayLike<number>;
  sets: readonly SyntheticScores[];
}

export interface MarginOptions {
  /** Bootstrap resamples (default 200: the 2.5th percentile then rests on 5 draws). */
  resamples?: number;
  seed?: number;
}

/** The candidate's mean-AUROC gain over the baseline, with a 95% paired-bootstrap interval. */
export interface Margin {
  delta: number;
  lo: number;
  hi: number;
  resamples: number;
}

const meanAuroc = (id: ArrayLike<number>, sets: readonly SyntheticScores[], idIdx: Uint32Array, setIdx: Uint32Array[]): number => {
  const pick = (xs: ArrayLike<number>, idx: Uint32Array) => Float64Array.from(idx, (i) => xs[i]!);
  let s = 0;
  sets.forEach((set, j) => { s += auroc(pick(id, idIdx), pick(set.scores, setIdx[j]!)); });
  return s / sets.length;
};

/**
 * How much better `candidate` separates ID validation images from the synthetic sets than
 * `baseline` (mean AUROC over the sets), with a 95% percentile interval from a paired
 * bootstrap: the same resampled images (within ID and within each set) score both, so the
 * interval is that of the difference, not of two noisy numbers. Deterministic for a seed.
 */
export function aurocMargin(candidate: PairedScores, baseline: PairedScores, options: MarginOptions = {}): Margin {
  const resamples = options.resamples ?? 200;
  if (!(Number.isInteger(resamples) && resamples >= 20)) throw new FstaError('BAD_OPTION', `resamples must be an integer ≥ 20, got ${resamples}`, 'pass resamples: 200 (or more)');
  const n = candidate.idScores.length;
  if (baseline.idScores.length !== n || baseline.sets.length !== candidate.sets.length || candidate.sets.some((s, j) => s.scores.length !== baseline.sets[j]!.scores.length || s.name !== baseline.sets[j]!.name)) {
    throw new FstaError('SHAPE_MISMATCH', 'the candidate and the baseline were not scored on the same images', 'score both on the same ID validation images and the same synthetic sets, in the same order');
  }
  const all = (k: number) => Uint32Array.from({ length: k }, (_, i) => i);
  const delta = meanAuroc(candidate.idScores, candidate.sets, all(n), candidate.sets.map((s) => all(s.scores.length))) - meanAuroc(baseline.idScores, baseline.sets, all(n), baseline.sets.map((s) => all(s.scores.length)));
  const rand = mulberry32(options.seed ?? 20240917);
  const draw = (k: number) => Uint32Array.from({ length: k }, () => Math.floor(rand() * k));
  const deltas = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const idIdx = draw(n);
    const setIdx = candidate.sets.map((s) => draw(s.scores.length));
    deltas[r] = meanAuroc(candidate.idScores, candidate.sets, idIdx, setIdx) - meanAuroc(baseline.idScores, baseline.sets, idIdx, setIdx);
  }
  deltas.sort();
  const at = (q: number) => deltas[Math.min(resamples - 1, Math.max(0, Math.round(q * (resamples - 1))))]!;
  return { delta, lo: at(0.025), hi: at(0.975), resamples };
}

/** True when the candidate's gain over the baseline is larger than its bootstrap interval's reach: the whole 95% interval above 0. */
export const clearlyBetter = (m: Margin): boolean => m.lo > 0;

/** "+0.0123 mean AUROC (95% CI +0.0040 … +0.0210)", in percent points as the tables print. */
export const describeMargin = (m: Margin): string => {
  const pp = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)}`;
  return `${pp(m.delta)} points of mean AUROC (95% CI ${pp(m.lo)} to ${pp(m.hi)}, ${m.resamples} paired resamples)`;
};
