import { FstaError, PAPER_LAMBDA, ashScore, energy, fitReact, fuse, gradNorm, maxLogit, msp, odinScore, reactScore, referenceOps } from '@fsta/core';
import type { LinearHead, RefTensor } from '@fsta/core';
import type { Collected } from './engine/collect.js';

export const CLASSIFIER_METHODS = ['MSP', 'MaxLogit', 'Energy', 'ODIN', 'GradNorm', 'ReAct', 'ASH'] as const;
export const FEATURE_METHODS = ['FS', 'FS+TA'] as const;
/** Classifier scores fused with FS+TA, with the paper's λ (core's PAPER_LAMBDA). */
export const FUSED = { MSP: 'msp', Energy: 'energy', ODIN: 'odin', GradNorm: 'gradnorm', ReAct: 'react' } as const;
export const ALL_METHODS = [...CLASSIFIER_METHODS, ...FEATURE_METHODS, ...Object.keys(FUSED).map((c) => `FS+TA+${c}`)];
const PENULTIMATE = new Set(['GradNorm', 'ReAct', 'ASH', 'FS+TA+GradNorm', 'FS+TA+ReAct']);

export interface MethodSettings {
  odinTemperature: number;
  reactPercentile: number;
  ashVariant: 'p' | 'b' | 's';
  ashPercentile: number;
}

export const defaultMethodSettings: MethodSettings = { odinTemperature: 1000, reactPercentile: 90, ashVariant: 's', ashPercentile: 90 };

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
 * Per-image scores of every method on one image set (higher = more ID). `react`
 * is fitted on ID penultimate features once and passed for every set. FS+TA (and its
 * fusions) read the k at `taIndex` of the collected k list.
 */
export function methodScores(c: Collected, methods: readonly string[], head: LinearHead | null, react: ReturnType<typeof fitReact> | null, s: MethodSettings, taIndex = 0): Record<string, Float64Array> {
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
    ReAct: () => read(reactScore(ops, pen!, lin!, react!)),
    ASH: () => read(ashScore(ops, pen!, lin!, { variant: s.ashVariant, percentile: s.ashPercentile })),
  };
  const out: Record<string, Float64Array> = {};
  const get = (m: string) => (out[m] ??= m === 'FS' ? c.fs : m === 'FS+TA' ? c.fsTa[taIndex]! : cls[m]!());
  for (const m of methods) {
    if (m.startsWith('FS+TA+')) {
      const name = m.slice('FS+TA+'.length) as keyof typeof FUSED;
      const scores = m in out ? out[m]! : fuse(get('FS+TA'), get(name), PAPER_LAMBDA[FUSED[name]]);
      out[m] = scores;
    } else get(m);
  }
  return Object.fromEntries(methods.map((m) => [m, out[m]!]));
}

/** The ReAct clip from ID penultimate features, or null when no method needs it. */
export function fitReactFromId(id: Collected, methods: readonly string[], percentile: number) {
  if (!methods.some((m) => m.endsWith('ReAct')) || !id.penultimate) return null;
  return fitReact({ data: id.penultimate, shape: [id.files.length, id.penultimateDim] }, percentile);
}
