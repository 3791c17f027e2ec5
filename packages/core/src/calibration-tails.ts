import { FstaError } from './errors.js';
import { kFromPercentile } from './calibration.js';
import type { TaCandidate } from './calibration.js';

/*
 * The TA candidates of one calibration as TA→FS tails of one patched graph, shared by
 * `fsta calibrate` and the web page: both sample the ID activations, take k at the same
 * percentiles here, run the ID images and the synthetic sets once through a detector
 * opened with every tail (createDetector's `ks`), and turn the per-tail scores into
 * `chooseConfig`'s candidates here.
 */

/** The k candidates at one TA stage, in order, with the percentile each came from (undefined: a fixed k). */
export interface StageKs {
  stage: string;
  ks: number[];
  percentiles: (number | undefined)[];
}

export interface KCandidates {
  perStage: StageKs[];
  /** Every (stage, k) in order: the config's TA setting is the first, createDetector's `ks` the rest. */
  tails: { taStage: string; k: number }[];
  /** Per stage whose low percentiles fell below 0 (a signed tensor): what was skipped, for the user. */
  skipped: string[];
}

/**
 * k at each percentile of each stage's sampled ID activations (`samples[stage]`), plus
 * the fixed `extraKs` at every stage. A percentile below 0 (a signed stage, e.g. a
 * residual stream) is skipped and reported, since TA needs k ≥ 0; a stage left without
 * candidates is dropped; none left at all is an error.
 */
export function kCandidates(samples: Readonly<Record<string, ArrayLike<number>>>, stages: readonly string[], percentiles: readonly number[], extraKs: readonly number[] = []): KCandidates {
  const skipped: string[] = [];
  const perStage = stages.map((stage): StageKs => {
    const values = samples[stage];
    if (!values) throw new FstaError('BAD_INPUT', `no sampled ID activations for TA stage ${stage}`, 'sample the activations of every TA stage candidate (taSampleImages, taSampleOfBatch)');
    const ks: number[] = [];
    const pcts: (number | undefined)[] = [];
    const below: string[] = [];
    for (const p of percentiles) {
      const k = kFromPercentile(values, p);
      if (k >= 0) { ks.push(k); pcts.push(p); } else below.push(`p${p} = ${k.toPrecision(3)}`);
    }
    if (below.length) skipped.push(`${stage} is signed: k candidates ${below.join(', ')} are below 0 (TA needs k ≥ 0), skipped`);
    for (const k of extraKs) { ks.push(k); pcts.push(undefined); }
    return { stage, ks, percentiles: pcts };
  }).filter((r) => r.ks.length > 0);
  if (perStage.length === 0) throw new FstaError('BAD_K', `every k candidate at TA stages ${stages.join(', ')} is below 0 (percentiles ${percentiles.join(', ')} of signed activations)`, 'pass higher --k-percentiles, k values with --k, or --ta-stages none for FS alone');
  return { perStage, skipped, tails: perStage.flatMap((r) => r.ks.map((k) => ({ taStage: r.stage, k }))) };
}

/** One image set scored by a detector with every tail: FS, and FS+TA per tail (in `tails` order). */
export interface TailScores {
  fs: ArrayLike<number>;
  fsTa: readonly ArrayLike<number>[];
}

/**
 * `chooseConfig`'s TA candidates from one run with every tail: plain FS first (the
 * baseline), then each stage's k in order, each with its ID scores and its scores on
 * every synthetic set.
 */
export function taCandidatesOfTails(perStage: readonly StageKs[], id: TailScores, sets: readonly (TailScores & { name: string })[]): TaCandidate[] {
  const tails = perStage.reduce((n, r) => n + r.ks.length, 0);
  for (const [what, s] of [['ID', id] as const, ...sets.map((s) => [s.name, s] as const)]) {
    if (s.fsTa.length !== tails) throw new FstaError('SHAPE_MISMATCH', `the ${what} scores have FS+TA for ${s.fsTa.length} TA settings, but there are ${tails} candidates`, 'score every set with a detector opened with every candidate (createDetector ks: the tails after the first)');
  }
  const candidates: TaCandidate[] = [{ taStage: null, k: 0, idScores: id.fs, noiseSets: sets.map((s) => ({ name: s.name, scores: s.fs })) }];
  let j = 0;
  for (const r of perStage) {
    r.ks.forEach((k, i) => {
      const c: TaCandidate = { taStage: r.stage, k, idScores: id.fsTa[j]!, noiseSets: sets.map((s) => ({ name: s.name, scores: s.fsTa[j]! })) };
      if (r.percentiles[i] !== undefined) c.kPercentile = r.percentiles[i]!;
      candidates.push(c);
      j++;
    });
  }
  return candidates;
}
