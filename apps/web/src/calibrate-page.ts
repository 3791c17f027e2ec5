import { CALIBRATION_DEFAULTS, FstaError, TA_SAMPLE, chooseConfig, defaultConfig, kFromPercentile, syntheticSet, taSampleImages, taSampleOfBatch } from '@fsta/core';
import type { ClassifierScoreName, ClassifierSetScores, ConfigChoice, FstaConfig, SyntheticScores, TaCandidate } from '@fsta/core';
import type { ModelSpec } from './model-spec.js';

/** Scores of one run of the patched model over some images. */
export interface RunScores {
  fs: number[];
  /** FS+TA per image, where the config has a TA stage. */
  fsTa: number[] | null;
  /** Classifier scores the patched graph computes (msp, maxlogit, energy), where the model has a head. */
  classifier: Partial<Record<ClassifierScoreName, number[]>>;
  /** TA-stage activations per image, flattened, where the config has a TA stage. */
  taStage: Float32Array[];
}

/** Runs the model patched with `config` over preprocessed CHW samples; `taStage` asks for the TA-stage activations too. */
export type Runner = (samples: readonly Float32Array[], config: FstaConfig, options?: { taStage?: boolean }) => Promise<RunScores>;

export interface PageCalibration {
  config: FstaConfig;
  /** Scores of the ID calibration images under `config`, for the histograms (empty when there were none). */
  id: { fs: number[]; fsTa: number[]; score: number[] };
  /** What calibration compared and why it chose (null for an imported config or a model without ID images). */
  choice: ConfigChoice | null;
  /** Where the config came from, in words. */
  source: string;
}

/** Classifier scores the page can fuse: the ones the patched graph computes. */
const IN_GRAPH: readonly ClassifierScoreName[] = ['msp', 'maxlogit', 'energy'];
/** The ID images k is taken from and a strided sample of their TA activations: core's rule, in the CLI's batches, so the page takes the values `fsta calibrate` takes (at its default --batch). */
function taSample(perImage: readonly Float32Array[]): Float32Array {
  const chosen = taSampleImages(perImage.length).map((i) => perImage[i]!);
  const parts: number[][] = [];
  for (let i = 0; i < chosen.length; i += TA_SAMPLE.batch) {
    const batch = chosen.slice(i, i + TA_SAMPLE.batch);
    const values = new Float32Array(batch.reduce((s, a) => s + a.length, 0));
    let o = 0;
    for (const a of batch) { values.set(a, o); o += a.length; }
    parts.push(taSampleOfBatch(values, batch.length, chosen.length));
  }
  return Float32Array.from(parts.flat());
}

/** What `fsta calibrate --ta-stages --k-percentiles --noise-count` narrows; unset parts are its defaults. */
export interface CalibrationGrid {
  taStages?: readonly string[];
  kPercentiles?: readonly number[];
  syntheticCount?: number;
}

/** The TA stage candidates: every stage before the FS stage, as `fsta calibrate` tries by default. */
export function taStagesOf(spec: Pick<ModelSpec, 'stages' | 'fsStage'>): string[] {
  const names = Object.keys(spec.stages);
  const fs = names.indexOf(spec.fsStage);
  if (fs < 0) throw new FstaError('UNKNOWN_STAGE', `FS stage ${spec.fsStage} is not a stage of this model (it has ${names.join(', ')})`, 'pick the backbone that fits the model');
  return names.slice(0, fs);
}

function checkedTaStages(spec: Pick<ModelSpec, 'stages' | 'fsStage'>, wanted: readonly string[]): string[] {
  const allowed = taStagesOf(spec);
  const bad = wanted.filter((s) => !allowed.includes(s));
  if (bad.length || wanted.length === 0) throw new FstaError('UNKNOWN_STAGE', `TA stage candidates ${wanted.join(', ') || '(none)'} are not stages before ${spec.fsStage} (those are ${allowed.join(', ')})`, `name TA stages among ${allowed.join(', ')}`);
  return [...wanted];
}

/**
 * Calibration as `fsta calibrate` runs it with its defaults, from ID validation images
 * and synthetic OOD only (never OOD test data): the default sets of core's `syntheticSet`
 * (CALIBRATION_DEFAULTS.syntheticSets); k candidates at the default percentiles of ID activations at
 * every stage before the FS stage, plus plain FS; fusion with none, MSP, MaxLogit or
 * Energy; the choice by core's `chooseConfig`, so the page and the CLI choose the same
 * for the same scores. `grid` narrows the candidates as the CLI's flags do (the bundled
 * demo's grid, which `fsta demo` uses too).
 */
export async function calibratePage(spec: ModelSpec, idSamples: readonly Float32Array[], run: Runner, onProgress: (done: number, total: number) => void = () => undefined, grid: CalibrationGrid = {}): Promise<PageCalibration> {
  if (idSamples.length < 2) throw new FstaError('EMPTY', `only ${idSamples.length} ID image(s) to calibrate on`, 'calibrate on at least a few hundred ID validation images');
  const stages = grid.taStages ? checkedTaStages(spec, grid.taStages) : taStagesOf(spec);
  const d = { ...CALIBRATION_DEFAULTS, kPercentiles: grid.kPercentiles ?? CALIBRATION_DEFAULTS.kPercentiles, syntheticCount: grid.syntheticCount ?? CALIBRATION_DEFAULTS.syntheticCount };
  const sets = d.syntheticSets.map((kind, j) => syntheticSet(kind, j, d.syntheticCount, spec.chw, spec.preprocess, idSamples, d.jigsawGrid));
  const synthetic = sets.map((s) => Array.from({ length: s.n }, (_, i) => s.data.subarray((i * s.data.length) / s.n, ((i + 1) * s.data.length) / s.n)));
  const base = defaultConfig({ backbone: spec.name, fsStage: spec.fsStage, provenance: { model: spec.name, synthetic: sets.map((s) => s.description).join('; ') } });
  const patch = (taStage: string | null, k: number): FstaConfig => ({ ...base, taStage, k, featureScore: taStage ? 'fs_ta' : 'fs', classifier: null, lambda: 0 });
  const named = (per: number[][]): SyntheticScores[] => per.map((scores, i) => ({ name: sets[i]!.name, scores }));
  // One run at a time: a runtime session takes one run at once.
  const runEach = async (c: FstaConfig) => {
    const out: RunScores[] = [];
    for (const s of synthetic) out.push(await run(s, c));
    return out;
  };

  const total = 1 + stages.length * d.kPercentiles.length;
  let done = 0;
  onProgress(done, total);
  // Plain FS and the classifier scores come from any run: a TA stage never changes them.
  const plain = patch(stages[0] ?? null, 0);
  const idPlain = await run(idSamples, plain, { taStage: true });
  const synthPlain = await runEach(plain);
  onProgress(++done, total);
  const candidates: TaCandidate[] = [{ taStage: null, k: 0, idScores: idPlain.fs, noiseSets: named(synthPlain.map((r) => r.fs)) }];
  for (const stage of stages) {
    const activations = stage === plain.taStage ? idPlain.taStage : (await run(idSamples, patch(stage, 0), { taStage: true })).taStage;
    const sample = taSample(activations);
    for (const q of d.kPercentiles) {
      const k = kFromPercentile(sample, q);
      const c = patch(stage, k);
      const id = await run(idSamples, c);
      const synth = await runEach(c);
      candidates.push({ taStage: stage, k, kPercentile: q, idScores: id.fsTa!, noiseSets: named(synth.map((r) => r.fsTa!)) });
      onProgress(++done, total);
    }
  }
  const classifierScores: Partial<Record<ClassifierScoreName, ClassifierSetScores>> = {};
  for (const name of IN_GRAPH) {
    const id = idPlain.classifier[name];
    if (id) classifierScores[name] = { id, sets: named(synthPlain.map((r) => r.classifier[name]!)) };
  }
  const fusions = d.fusions.filter((f) => f === null || classifierScores[f]);
  const choice = chooseConfig({ taCandidates: candidates, classifierScores, fusions, tpr: d.tpr, base });
  return { config: choice.config, id: await idScores(idSamples, choice.config, run), choice, source: `calibrated here on ${idSamples.length} ID images and synthetic ${sets.map((s) => s.name).join(', ')} (as fsta calibrate)` };
}

/** The ID images' scores under `config`, for the histograms. */
export async function idScores(idSamples: readonly Float32Array[], config: FstaConfig, run: Runner): Promise<PageCalibration['id']> {
  if (idSamples.length === 0) return { fs: [], fsTa: [], score: [] };
  const r = await run(idSamples, config);
  const feat = config.featureScore === 'fs_ta' && r.fsTa ? r.fsTa : r.fs;
  const cls = config.classifier ? r.classifier[config.classifier] : undefined;
  return { fs: r.fs, fsTa: r.fsTa ?? [], score: feat.map((f, i) => (cls && config.lambda !== 0 ? f + config.lambda * cls[i]! : f)) };
}

/**
 * A config from elsewhere (a file written by `fsta calibrate`), checked against the
 * model in the page: its stages must be the model's and its fused score one the page
 * computes. Refused with the reason otherwise, never half-applied.
 */
export function checkImportedConfig(config: FstaConfig, spec: Pick<ModelSpec, 'name' | 'stages' | 'head'>): FstaConfig {
  const names = Object.keys(spec.stages);
  const stageFix = `use a config calibrated for ${spec.name} (its stages are ${names.join(', ')}), or run \`fsta calibrate\` on this model`;
  if (!names.includes(config.fsStage)) throw new FstaError('CONFIG_MISMATCH', `the config scores FS at stage ${config.fsStage}, which ${spec.name} does not have`, stageFix);
  if (config.taStage !== null && !names.includes(config.taStage)) throw new FstaError('CONFIG_MISMATCH', `the config applies TA at stage ${config.taStage}, which ${spec.name} does not have`, stageFix);
  if (config.taStage !== null && names.indexOf(config.taStage) >= names.indexOf(config.fsStage)) throw new FstaError('CONFIG_MISMATCH', `the config applies TA at ${config.taStage}, not before its FS stage ${config.fsStage}`, stageFix);
  if (config.classifier !== null) {
    if (!IN_GRAPH.includes(config.classifier)) throw new FstaError('CONFIG_MISMATCH', `the config fuses classifier score "${config.classifier}", which the page cannot compute`, `use a config that fuses ${IN_GRAPH.join(', ')} or none (fsta calibrate --classifiers none,${IN_GRAPH.join(',')})`);
    if (!spec.head) throw new FstaError('CONFIG_MISMATCH', `the config fuses "${config.classifier}", but ${spec.name} has no classifier output the page knows`, 'use a config without a fused classifier score (classifier: null)');
  }
  return config;
}
