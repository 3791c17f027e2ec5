import type { FstaConfig } from './config.js';
import type { FeatureMap, ImageFeatures, ImageScore } from './detector.js';
import { verdictOf } from './detector.js';
import { FstaError, assertFinite } from './errors.js';
import { fusedScore } from './fusion.js';

/** The [N] outputs a patched model adds (see @fsta/onnx's patchModel). */
export const PATCHED_OUTPUTS = Object.freeze({
  fs: 'fsta/fs',
  fsTa: 'fsta/fs_ta',
  msp: 'fsta/msp',
  maxlogit: 'fsta/maxlogit',
  energy: 'fsta/energy',
  /** ASH and SCALE, emitted when the config fuses them (they need the head's weights). */
  ash: 'fsta/ash',
  scale: 'fsta/scale',
  score: 'fsta/score',
  penultimate: 'fsta/penultimate',
  stageFs: 'fsta/stage/fs',
  stageTa: 'fsta/stage/ta',
  stageFsTa: 'fsta/stage/fs_ta',
} as const);

/** Tensors a patch exposes as they are ('fsta/tensor/<name>'). */
export const TENSOR_PREFIX = 'fsta/tensor/';

/** FS+TA at the i-th extra k (i ≥ 1) of a patch with `moreKs`; i = 0 is 'fsta/fs_ta'. */
export const fsTaOutput = (i: number): string => (i === 0 ? PATCHED_OUTPUTS.fsTa : `${PATCHED_OUTPUTS.fsTa}/${i}`);
/** The FS-stage map of the i-th TA pass. */
export const fsTaStageOutput = (i: number): string => (i === 0 ? PATCHED_OUTPUTS.stageFsTa : `${PATCHED_OUTPUTS.stageFsTa}/${i}`);

/** Image i's [1, …] slice of a batched [N, …] output. */
function sliceImage(o: NamedOutput, i: number, n: number): FeatureMap {
  const per = o.data.length / n;
  return { data: o.data.slice(i * per, (i + 1) * per), shape: [1, ...o.shape.slice(1)] };
}

export interface NamedOutput {
  data: Float32Array;
  shape: readonly number[];
}

const isFstaOutput = (name: string) => name.startsWith('fsta/');

/**
 * Maps one run of a patched model (N images) to per-image results: every adapter
 * calls this, so scores, fusion and verdicts are assembled the same way everywhere.
 * Outputs not under `fsta/` are the model's own and are passed on per image,
 * sliced along the batch axis, values untouched.
 */
export function scoresFromOutputs(outputs: Readonly<Record<string, NamedOutput>>, config: FstaConfig, n: number, extraKs = 0): ImageScore[] {
  const perImage = (name: string, required: boolean): Float32Array | null => {
    const o = outputs[name];
    if (!o) {
      if (required) throw new FstaError('MISSING_OUTPUT', `the patched model has no output "${name}" (it has ${Object.keys(outputs).join(', ')})`, 'patch the model with @fsta/onnx patchModel and the same config (TA stage, head) the detector uses');
      return null;
    }
    if (o.data.length !== n) throw new FstaError('SHAPE_MISMATCH', `output "${name}" has ${o.data.length} values for ${n} images`, 'patched score outputs must have shape [N]');
    assertFinite(o.data, `output "${name}"`);
    return o.data;
  };
  const fs = perImage(PATCHED_OUTPUTS.fs, true)!;
  const fsTa = perImage(PATCHED_OUTPUTS.fsTa, config.taStage !== null);
  const cls = {
    msp: perImage(PATCHED_OUTPUTS.msp, false), maxlogit: perImage(PATCHED_OUTPUTS.maxlogit, false), energy: perImage(PATCHED_OUTPUTS.energy, false),
    ash: perImage(PATCHED_OUTPUTS.ash, false), scale: perImage(PATCHED_OUTPUTS.scale, false),
  };
  const fusedInGraph = perImage(PATCHED_OUTPUTS.score, false);
  const name = config.classifier;
  if (name !== null && config.lambda !== 0 && !fusedInGraph && !(name in cls && cls[name as keyof typeof cls])) {
    throw new FstaError('MISSING_OUTPUT', `the config fuses classifier score "${name}" but the patched model outputs neither it nor "${PATCHED_OUTPUTS.score}"`, 'patch with a classifier head, or set classifier to null in the config');
  }
  const more = Array.from({ length: extraKs }, (_, j) => perImage(fsTaOutput(j + 1), true)!);
  const own = Object.entries(outputs).filter(([k]) => !isFstaOutput(k));
  const pen = outputs[PATCHED_OUTPUTS.penultimate];
  const stageFs = outputs[PATCHED_OUTPUTS.stageFs];
  const features = (i: number): ImageFeatures | null => {
    if (!pen && !stageFs) return null;
    const f: ImageFeatures = {};
    if (pen) f.penultimate = pen.data.slice(i * (pen.data.length / n), (i + 1) * (pen.data.length / n));
    if (stageFs) {
      const ta = outputs[PATCHED_OUTPUTS.stageTa];
      const fsTa: FeatureMap[] = [];
      for (let j = 0; outputs[fsTaStageOutput(j)]; j++) fsTa.push(sliceImage(outputs[fsTaStageOutput(j)]!, i, n));
      f.stages = { fs: sliceImage(stageFs, i, n), ta: ta ? sliceImage(ta, i, n) : null, fsTa };
      const tensors = Object.keys(outputs).filter((k) => k.startsWith(TENSOR_PREFIX));
      if (tensors.length) f.stages.tensors = Object.fromEntries(tensors.map((k) => [k.slice(TENSOR_PREFIX.length), sliceImage(outputs[k]!, i, n)]));
    }
    return f;
  };
  return Array.from({ length: n }, (_, i) => {
    const feat = config.featureScore === 'fs_ta' ? fsTa![i]! : fs[i]!;
    const c = name !== null ? cls[name as keyof typeof cls] : null;
    const score = fusedInGraph ? fusedInGraph[i]! : c && config.lambda !== 0 ? fusedScore(feat, c[i]!, config.lambda) : feat;
    const classifier: ImageScore['classifier'] = {};
    for (const [k, v] of Object.entries(cls)) if (v) classifier[k as keyof typeof cls] = v[i]!;
    const mine: ImageScore['outputs'] = {};
    for (const [k, o] of own) {
      const batched = o.shape[0] === n;
      const per = batched ? o.data.length / n : o.data.length;
      mine[k] = batched ? { data: o.data.slice(i * per, (i + 1) * per), shape: [1, ...o.shape.slice(1)] } : { data: o.data.slice(), shape: [...o.shape] };
    }
    const result: ImageScore = { fs: fs[i]!, fsTa: fsTa ? fsTa[i]! : null, classifier, score, verdict: verdictOf(score, config.threshold), outputs: mine };
    if (fsTa) result.fsTaByK = [fsTa[i]!, ...more.map((m) => m[i]!)];
    const f = features(i);
    if (f) result.features = f;
    return result;
  });
}
