import { calibrate, chooseTa, defaultConfig, kFromPercentile, noiseImages, type FstaConfig, type TaCandidate } from '@fsta/core';
import type { ModelSpec } from './model-spec.js';
import type { StageRun } from './ort-engine.js';

export interface PageCalibration {
  config: FstaConfig;
  /** Scores of the ID calibration images under `config`, for the histograms. */
  id: { fs: number[]; fsTa: number[]; score: number[] };
}

type Runner = (samples: readonly Float32Array[], config: FstaConfig) => Promise<StageRun>;

const PERCENTILES = [80, 90, 95] as const;
const NOISE_PER_KIND = 32;

/**
 * Calibration from ID validation images and synthetic noise only (never OOD test
 * data): k candidates as percentiles of ID activations at the TA stage, TA stage and
 * k by chooseTa (ID vs noise), λ from the paper for MSP, threshold at 95% ID TPR.
 * Every run goes through the patched model, so k candidates are separate patches.
 */
export async function calibratePage(spec: ModelSpec, idSamples: readonly Float32Array[], open: Runner): Promise<PageCalibration> {
  const ta = spec.taStage;
  const base = defaultConfig({ backbone: spec.name, fsStage: spec.fsStage, taStage: ta, featureScore: ta ? 'fs_ta' : 'fs', k: 0 });
  const noise = (['gaussian', 'uniform'] as const).flatMap((kind, s) => {
    const { data } = noiseImages(kind, NOISE_PER_KIND, spec.chw, { mean: spec.preprocess.mean, std: spec.preprocess.std, seed: 1 + s });
    const per = data.length / NOISE_PER_KIND;
    return Array.from({ length: NOISE_PER_KIND }, (_, i) => data.slice(i * per, (i + 1) * per));
  });
  const first = await open(idSamples, base);
  const candidates: TaCandidate[] = [];
  const noiseFirst = await open(noise, base);
  if (ta) {
    const all = new Float32Array(first.taStage.reduce((n, a) => n + a.length, 0));
    let o = 0;
    for (const a of first.taStage) { all.set(a, o); o += a.length; }
    for (const q of PERCENTILES) {
      const k = kFromPercentile(all, q);
      const [id, nz] = [await open(idSamples, { ...base, k }), await open(noise, { ...base, k })];
      candidates.push({ taStage: ta, k, kPercentile: q, idScores: id.inspections.map((r) => r.score.fsTa!), noiseScores: nz.inspections.map((r) => r.score.fsTa!) });
    }
  }
  // Last, so that a tie (FS and FS+TA both separate noise perfectly, as on the demo) keeps TA: chooseTa prefers the earlier candidate.
  candidates.push({ taStage: null, k: 0, idScores: first.inspections.map((r) => r.score.fs), noiseScores: noiseFirst.inspections.map((r) => r.score.fs) });
  const choice = chooseTa({ candidates });
  const chosen = candidates.find((c) => c.taStage === choice.choice.taStage && c.k === choice.choice.k)!;
  const idMsp = (await open(idSamples, { ...base, k: chosen.k, taStage: chosen.taStage, featureScore: chosen.taStage ? 'fs_ta' : 'fs' })).inspections;
  const config = calibrate({
    idFeature: chosen.idScores,
    idClassifier: spec.head ? idMsp.map((r) => r.score.classifier.msp!) : undefined,
    classifier: spec.head ? 'msp' : null,
    lambda: spec.head ? 'paper' : undefined,
    base: { ...base, temperature: 1 },
    ta: choice,
  });
  const final = (await open(idSamples, config)).inspections;
  return { config, id: { fs: final.map((r) => r.score.fs), fsTa: final.map((r) => r.score.fsTa ?? NaN), score: final.map((r) => r.score.score) } };
}
