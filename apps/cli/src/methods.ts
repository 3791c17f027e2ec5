import { ASH_DEFAULTS, FstaError, PAPER_LAMBDA, SCALE_DEFAULT_PERCENTILE, ashScore, energy, fdbdScore, fitFdbd, fitReact, fuse, gradNorm, maxLogit, msp, odinScore, reactScore, referenceOps, resolveLambda, scaleScore } from '@fsta/core';
import type { FdbdFit, LinearHead, ReactFit, RefTensor } from '@fsta/core';
import type { Collected } from './engine/collect.js';

export const CLASSIFIER_METHODS = ['MSP', 'MaxLogit', 'Energy', 'ODIN', 'GradNorm', 'ReAct', 'ASH', 'SCALE', 'fDBD'] as const;
export const FEATURE_METHODS = ['FS', 'FS+TA'] as const;
/**
 * Classifier scores fused with FS+TA, by their core name. λ is core's `resolveLambda`
 * default: the paper's (PAPER_LAMBDA) for MSP, Energy, ODIN, GradNorm and ReAct; the
 * spread rule on the ID images for ASH, SCALE and fDBD, for which the paper gives none.
 */
export const FUSED = { MSP: 'msp', Energy: 'energy', ODIN: 'odin', GradNorm: 'gradnorm', ReAct: 'react', ASH: 'ash', SCALE: 'scale', fDBD: 'fdbd' } as const;
export const ALL_METHODS = [...CLASSIFIER_METHODS, ...FEATURE_METHODS, ...Object.keys(FUSED).map((c) => `FS+TA+${c}`)];
const NEEDS_HEAD = ['GradNorm', 'ReAct', 'ASH', 'SCALE', 'fDBD'];
const PENULTIMATE = new Set([...NEEDS_HEAD, ...NEEDS_HEAD.map((m) => `FS+TA+${m}`)]);

export interface MethodSettings {
  odinTemperature: number;
  reactPercentile: number;
  ashVariant: 'p' | 'b' | 's';
  ashPercentile: number;
  scalePercentile: number;
}

/** ASH and SCALE at core's defaults, which a config without `ash` / `scale` settings also runs (in the graph). */
export const defaultMethodSettings: MethodSettings = { odinTemperature: 1000, reactPercentile: 90, ashVariant: ASH_DEFAULTS.variant, ashPercentile: ASH_DEFAULTS.percentile, scalePercentile: SCALE_DEFAULT_PERCENTILE };

/** The config fields that make a detector's in-graph ASH / SCALE the one these settings score. */
export const classifierSettingsOf = (s: MethodSettings): { ash: { variant: 'p' | 'b' | 's'; percentile: number }; scale: { percentile: number } } => ({
  ash: { variant: s.ashVariant, percentile: s.ashPercentile },
  scale: { percentile: s.scalePercentile },
});

/** What methods fitted on ID data need (null where no requested method needs it). */
export interface MethodFits {
  react: ReactFit | null;
  fdbd: FdbdFit | null;
}
export const NO_FITS: MethodFits = { react: null, fdbd: null };

/** Parses --methods: a comma list of method names (case-insensitive) or "all". Without logits only FS and FS+TA apply. */
export function parseMethods(list: string | undefined, hasHead: boolean, hasLogits = true): string[] {
  const allowed = (m: string) => (hasHead || !PENULTIMATE.has(m)) && (hasLogits || (FEATURE_METHODS as readonly string[]).includes(m));
  const wanted = !list || list === 'all' ? ALL_METHODS.filter(allowed) : list.split(',').map((s) => s.trim()).filter(Boolean);
  return wanted.map((w) => {
    const m = ALL_METHODS.find((a) => a.toLowerCase() === w.toLowerCase());
    if (!m) throw new FstaError('USAGE', `--methods has unknown method "${w}"`, `use a comma list of ${ALL_METHODS.join(', ')}, or all`);
    if (!hasLogits && !(FEATURE_METHODS as readonly string[]).includes(m)) throw new FstaError('NO_LOGITS', `method ${m} needs class logits, and this model has no (N, classes) output`, 'use FS and FS+TA, or name the logits output in a manifest ("output")');
    if (!hasHead && PENULTIMATE.has(m)) throw new FstaError('NO_HEAD', `method ${m} needs the penultimate features and classifier head, which this model's manifest does not name`, 'add a "head" to the manifest or drop the method');
    return m;
  });
}

const read = (t: RefTensor) => Float64Array.from(t.data);

/**
 * Per-image scores of every method on one image set (higher = more ID). `fits` are
 * fitted on ID penultimate features once and passed for every set. FS+TA (and its
 * fusions) read the k at `taIndex` of the collected k list. A fusion FS+TA+X uses
 * `lambdas[X]` (from `fusionLambdas` on the ID set), else the paper's λ.
 */
export function methodScores(c: Collected, methods: readonly string[], head: LinearHead | null, fits: MethodFits, s: MethodSettings, taIndex = 0, lambdas: Readonly<Record<string, number>> = {}): Record<string, Float64Array> {
  const n = c.files.length;
  const ops = referenceOps;
  const logits = ops.fromArray(c.logits, [n, c.numClasses]);
  const pen = c.penultimate ? ops.fromArray(c.penultimate, [n, c.penultimateDim]) : null;
  const lin: LinearHead | null = head ? { weight: head.weight, bias: head.bias } : null;
  const cls: Record<string, () => Float64Array> = {
    MSP: () => read(msp(ops, logits)),
    MaxLogit: () => read(maxLogit(ops, logits)),
    Energy: () => read(energy(ops, logits)),
    ODIN: () => read(odinScore(ops, logits, s.odinTemperature)),
    GradNorm: () => read(gradNorm(ops, pen!, logits)),
    ReAct: () => read(reactScore(ops, pen!, lin!, fits.react!)),
    ASH: () => read(ashScore(ops, pen!, lin!, { variant: s.ashVariant, percentile: s.ashPercentile })),
    SCALE: () => read(scaleScore(ops, pen!, lin!, { percentile: s.scalePercentile })),
    fDBD: () => read(fdbdScore(ops, pen!, lin!, fits.fdbd!)),
  };
  const out: Record<string, Float64Array> = {};
  const get = (m: string) => (out[m] ??= m === 'FS' ? c.fs : m === 'FS+TA' ? c.fsTa[taIndex]! : cls[m]!());
  for (const m of methods) {
    if (m.startsWith('FS+TA+')) {
      const name = m.slice('FS+TA+'.length) as keyof typeof FUSED;
      const lambda = lambdas[name] ?? (PAPER_LAMBDA as Readonly<Record<string, number>>)[FUSED[name]];
      if (lambda === undefined) throw new FstaError('NO_LAMBDA', `${m} has no λ: the paper gives none for ${name} and none was derived from ID data`, 'compute λ with fusionLambdas on the ID set first');
      out[m] ??= fuse(get('FS+TA'), get(name), lambda);
    } else get(m);
  }
  return Object.fromEntries(methods.map((m) => [m, out[m]!]));
}

/**
 * λ of every fusion in `methods` for the k at `taIndex`, from the ID set: core's
 * `resolveLambda` default (the paper's where it has one, else the spread rule
 * std(FS+TA)/std(X) on these ID images; no OOD data is used).
 */
export function fusionLambdas(id: Collected, methods: readonly string[], head: LinearHead | null, fits: MethodFits, s: MethodSettings, taIndex = 0): Record<string, { value: number; rule: string }> {
  const names = methods.filter((m) => m.startsWith('FS+TA+')).map((m) => m.slice('FS+TA+'.length) as keyof typeof FUSED);
  if (names.length === 0) return {};
  const scores = methodScores(id, ['FS+TA', ...names], head, fits, s, taIndex);
  return Object.fromEntries(names.map((x) => [x, resolveLambda(FUSED[x], undefined, scores['FS+TA']!, scores[x]!)]));
}

/** The ReAct clip and the fDBD mean from ID penultimate features, each only when a method needs it. */
export function fitsFromId(id: Collected, methods: readonly string[], head: LinearHead | null, s: MethodSettings): MethodFits {
  const matrix = id.penultimate ? { data: id.penultimate, shape: [id.files.length, id.penultimateDim] } : null;
  // Method names may carry a k suffix (FS+TA+ReAct@k=0.5).
  const uses = (x: string) => methods.some((m) => m.replace(/@.*$/, '').endsWith(x));
  return {
    react: uses('ReAct') && matrix ? fitReact(matrix, s.reactPercentile) : null,
    fdbd: uses('fDBD') && matrix && head ? fitFdbd(matrix, head) : null,
  };
}
