import { CALIBRATION_DEFAULTS, FstaError, TA_SAMPLE, chooseConfig, defaultConfig, fuse, kCandidates, syntheticSet, taCandidatesOfTails, taSampleImages, taSampleOfBatch } from '@fsta/core';
import type { ClassifierScoreName, ClassifierSetScores, ConfigChoice, FstaConfig } from '@fsta/core';
import { IN_GRAPH_CLASSIFIERS } from '@fsta/onnx';
import type { ModelSpec } from './model-spec.js';

/** A TA setting scored as one more TA→FS tail of the same patched graph (createDetector's `ks`). */
export interface Tail { taStage: string; k: number }

/** Scores of one run of the patched model over some images. */
export interface RunScores {
  fs: number[];
  /** FS+TA per tail (the config's TA setting first, then `ks`), each per image; empty without a TA stage. */
  fsTa: number[][];
  /** Classifier scores the patched graph computes (msp, maxlogit, energy), where the model has a head. */
  classifier: Partial<Record<ClassifierScoreName, number[]>>;
  /** The TA tensor of each `sampleStages` stage, per image, flattened. */
  stageTensors: Record<string, Float32Array[]>;
}

export interface RunOptions {
  /** More TA settings scored in the same run, after the config's. */
  ks?: readonly Tail[];
  /** Stages whose TA tensor the run returns (for k as a percentile of ID activations). */
  sampleStages?: readonly string[];
}

/** Runs the model patched with `config` (and `ks`) over preprocessed CHW samples. */
export type Runner = (samples: readonly Float32Array[], config: FstaConfig, options?: RunOptions) => Promise<RunScores>;

export interface PageCalibration {
  config: FstaConfig;
  /** Scores of the ID calibration images under `config`, for the histograms (empty when there were none). */
  id: { fs: number[]; fsTa: number[]; score: number[] };
  /** What calibration compared and why it chose (null for an imported config or a model without ID images). */
  choice: ConfigChoice | null;
  /** Where the config came from, in words. */
  source: string;
}

/** What an imported config may fuse: the scores the patched graph computes (@fsta/onnx). */
const IMPORTABLE: readonly string[] = IN_GRAPH_CLASSIFIERS;

/** Images per model run in calibration: the CLI's default --batch, so activations are sampled batch by batch as `fsta calibrate` samples them. */
const BATCH = TA_SAMPLE.batch;

/** `run` over all `samples` in batches of BATCH, the results joined; `onBatch` gets each batch's size and its run (for the activation sample). */
async function runAll(run: Runner, samples: readonly Float32Array[], config: FstaConfig, options: RunOptions, onBatch: (n: number, r: RunScores) => void): Promise<RunScores> {
  const out: RunScores = { fs: [], fsTa: [], classifier: {}, stageTensors: {} };
  for (let i = 0; i < samples.length; i += BATCH) {
    const r = await run(samples.slice(i, i + BATCH), config, options);
    out.fs.push(...r.fs);
    r.fsTa.forEach((v, j) => (out.fsTa[j] ??= []).push(...v));
    for (const [k, v] of Object.entries(r.classifier)) (out.classifier[k as ClassifierScoreName] ??= []).push(...v);
    onBatch(r.fs.length, r);
  }
  return out;
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
 * (CALIBRATION_DEFAULTS.syntheticSets); k candidates at the default percentiles of ID
 * activations (core's sample: taSampleImages, taSampleOfBatch) at every stage before the
 * FS stage, plus plain FS (core's kCandidates); fusion with none, MSP, MaxLogit or Energy;
 * the choice by core's `chooseConfig`. As in the CLI, one run samples the activations of
 * every TA stage, and one more scores the ID images and the synthetic sets with every
 * candidate as a TA→FS tail of one patched graph (core's taCandidatesOfTails), so the
 * page and the CLI choose the same for the same images. `grid` narrows the candidates as
 * the CLI's flags do (the bundled demo's grid, which `fsta demo` uses too).
 * `onProgress` counts images run, of the total both runs take.
 */
export async function calibratePage(spec: ModelSpec, idSamples: readonly Float32Array[], run: Runner, onProgress: (done: number, total: number) => void = () => undefined, grid: CalibrationGrid = {}): Promise<PageCalibration> {
  if (idSamples.length < 2) throw new FstaError('EMPTY', `only ${idSamples.length} ID image(s) to calibrate on`, 'calibrate on at least a few hundred ID validation images');
  const stages = grid.taStages ? checkedTaStages(spec, grid.taStages) : taStagesOf(spec);
  const d = { ...CALIBRATION_DEFAULTS, kPercentiles: grid.kPercentiles ?? CALIBRATION_DEFAULTS.kPercentiles, syntheticCount: grid.syntheticCount ?? CALIBRATION_DEFAULTS.syntheticCount };
  if (stages.length === 0) throw new FstaError('UNKNOWN_STAGE', `${spec.name} has no stage before its FS stage ${spec.fsStage} to apply TA at`, 'calibrate a model with stages before the FS stage');
  const sets = d.syntheticSets.map((kind, j) => syntheticSet(kind, j, d.syntheticCount, spec.chw, spec.preprocess, idSamples, d.jigsawGrid));
  const synthetic = sets.map((s) => Array.from({ length: s.n }, (_, i) => s.data.subarray((i * s.data.length) / s.n, ((i + 1) * s.data.length) / s.n)));
  const base = defaultConfig({ backbone: spec.name, fsStage: spec.fsStage, provenance: { model: spec.name, synthetic: sets.map((s) => s.description).join('; ') } });
  const patch = (t: Tail): FstaConfig => ({ ...base, taStage: t.taStage, k: t.k, featureScore: 'fs_ta', classifier: null, lambda: 0 });

  const picks = taSampleImages(idSamples.length);
  const total = picks.length + idSamples.length + synthetic.reduce((n, s) => n + s.length, 0);
  let done = 0;
  onProgress(done, total);
  // Every TA stage's activations on core's sample of the ID images, sampled batch by batch as the CLI samples them
  // (the trunk's tensors: no TA tail is needed for them).
  const parts: Record<string, number[][]> = Object.fromEntries(stages.map((st) => [st, []]));
  await runAll(run, picks.map((i) => idSamples[i]!), { ...base, taStage: null, featureScore: 'fs', classifier: null, lambda: 0 }, { sampleStages: stages }, (n, r) => {
    for (const st of stages) parts[st]!.push(taSampleOfBatch(r.stageTensors[st]!, picks.length));
    onProgress((done += n), total);
  });
  const { perStage, tails, skipped } = kCandidates(Object.fromEntries(stages.map((st) => [st, parts[st]!.flat()])), stages, d.kPercentiles);

  // One run with every tail: ID, then each synthetic set.
  const config = patch(tails[0]!);
  const opts = { ks: tails.slice(1) };
  const tick = (n: number) => onProgress((done += n), total);
  const id = await runAll(run, idSamples, config, opts, tick);
  const synth: RunScores[] = [];
  for (const s of synthetic) synth.push(await runAll(run, s, config, opts, tick));
  const candidates = taCandidatesOfTails(perStage, id, synth.map((r, i) => ({ name: sets[i]!.name, fs: r.fs, fsTa: r.fsTa })));

  const classifierScores: Partial<Record<ClassifierScoreName, ClassifierSetScores>> = {};
  // The grid's fusion candidates that the run computed (the patch outputs msp, maxlogit and energy from the logits).
  for (const name of d.fusions) {
    if (name === null) continue;
    const cls = id.classifier[name];
    if (cls) classifierScores[name] = { id: cls, sets: synth.map((r, i) => ({ name: sets[i]!.name, scores: r.classifier[name]! })) };
  }
  const fusions = d.fusions.filter((f) => f === null || classifierScores[f]);
  const choice = chooseConfig({ taCandidates: candidates, classifierScores, fusions, tpr: d.tpr, base });
  const chosen = choice.config.taStage === null ? -1 : tails.findIndex((t) => t.taStage === choice.config.taStage && t.k === choice.config.k);
  const note = skipped.length ? ` (${skipped.join('; ')})` : '';
  return {
    config: choice.config,
    id: idScoresOf(id, chosen, choice.config),
    choice,
    source: `calibrated here on ${idSamples.length} ID images and synthetic ${sets.map((s) => s.name).join(', ')} (as fsta calibrate)${note}`,
  };
}

/** The ID images' scores under `config` from a run whose tail `tail` is the config's TA setting (-1: none), for the histograms. */
function idScoresOf(r: RunScores, tail: number, config: FstaConfig): PageCalibration['id'] {
  const fsTa = tail >= 0 ? r.fsTa[tail]! : [];
  const feat = config.featureScore === 'fs_ta' && tail >= 0 ? fsTa : r.fs;
  const cls = config.classifier ? r.classifier[config.classifier] : undefined;
  return { fs: r.fs, fsTa, score: cls && config.lambda !== 0 ? Array.from(fuse(feat, cls, config.lambda)) : [...feat] };
}

/** The ID images' scores under `config`, for the histograms. */
export async function idScores(idSamples: readonly Float32Array[], config: FstaConfig, run: Runner): Promise<PageCalibration['id']> {
  if (idSamples.length === 0) return { fs: [], fsTa: [], score: [] };
  return idScoresOf(await runAll(run, idSamples, config, {}, () => undefined), config.taStage === null ? -1 : 0, config);
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
    if (!IMPORTABLE.includes(config.classifier)) throw new FstaError('CONFIG_MISMATCH', `the config fuses classifier score "${config.classifier}", which the page cannot compute`, `use a config that fuses ${IMPORTABLE.join(', ')} or none (fsta calibrate --classifiers none,${IMPORTABLE.join(',')})`);
    if (!spec.head) throw new FstaError('CONFIG_MISMATCH', `the config fuses "${config.classifier}", but ${spec.name} has no classifier output the page knows`, 'use a config without a fused classifier score (classifier: null)');
  }
  return config;
}
