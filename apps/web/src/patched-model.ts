import { FstaError, type FstaConfig } from '@fsta/core';
import { encodeModel, patchModel } from '@fsta/onnx';
import type { ModelSpec } from './model-spec.js';

/** The settings a patched graph bakes in; two configs that agree on them share one session. */
export const patchKey = (c: FstaConfig, exposeStages = true): string => JSON.stringify([c.fsStage, c.taStage, c.k, c.classifier, c.lambda, c.featureScore, c.temperature, exposeStages]);

const IN_GRAPH = ['msp', 'maxlogit', 'energy'];

/**
 * The model patched by @fsta/onnx exactly as the ONNX adapters patch it (FS, FS+TA,
 * classifier and fused scores in one run), plus the stage maps the heatmaps are drawn
 * from: fsta/stage/fs (C5), fsta/stage/fs_ta (C5 of the TA pass), fsta/stage/ta
 * (left out with `exposeStages: false`, for runs that need the scores only).
 */
export function patchedBytes(spec: ModelSpec, config: FstaConfig, exposeStages = true): Uint8Array {
  const tensor = (stage: string) => {
    const t = spec.stages[stage];
    if (!t) throw new FstaError('UNKNOWN_STAGE', `stage ${stage} is not a stage of this model (it has ${Object.keys(spec.stages).join(', ')})`, 'pick one of its stages (check the backbone choice)');
    return t;
  };
  if (config.classifier !== null && !IN_GRAPH.includes(config.classifier)) throw new FstaError('BAD_CONFIG', `classifier score "${config.classifier}" cannot be computed in the page`, `use one of ${IN_GRAPH.join(', ')}, or none`);
  const fuse = spec.head !== null && config.classifier !== null;
  return encodeModel(patchModel(spec.model, {
    fsStageTensor: tensor(config.fsStage),
    taStageTensor: config.taStage === null ? null : tensor(config.taStage),
    k: config.k,
    ...(spec.head ? { head: spec.head } : {}),
    classifier: fuse ? (config.classifier as 'msp' | 'maxlogit' | 'energy') : null,
    ...(fuse ? { lambda: config.lambda } : {}),
    featureScore: config.taStage === null ? 'fs' : config.featureScore,
    temperature: config.temperature,
    exposeStages,
  }).model);
}
