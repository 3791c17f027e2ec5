import { existsSync } from 'node:fs';
import { FstaError } from '@fsta/core';
import type { Options } from './args.js';
import { numberFlag, positiveInt, requireString, usageError } from './args.js';
import { specFromManifest } from './engine/spec.js';
import type { ModelSpec } from './engine/spec.js';
import { resolveBackbone } from './engine/backbone-spec.js';

export const modelOptions: Options = {
  model: { type: 'string', short: 'm' },
  manifest: { type: 'string' },
  backbone: { type: 'string' },
  'fs-stage': { type: 'string' },
  'ta-stage': { type: 'string' },
  k: { type: 'string' },
  batch: { type: 'string' },
};

export const modelHelp = `Model:
  -m, --model M.onnx     the ONNX model (input NCHW float32)
  --manifest FILE        model manifest JSON: preprocess, stage tensors, head
                         (see apps/cli/assets/demo/demo.json)
  --backbone NAME|auto   a built-in backbone manifest (@fsta/backbones)
  --fs-stage S           stage FS is computed on (default C5)
  --ta-stage S|none      stage TA is applied at (default C4)
  --k K                  TA threshold k ≥ 0 (default: 90th percentile of ID
                         activations at the TA stage)
  --batch N              images per model run (default 32)`;

export interface ModelChoice {
  spec: ModelSpec;
  fsStage: string;
  taStage: string | null;
  k: number | undefined;
  batch: number;
}

/** Resolves --model and friends to a ModelSpec and the stage settings. */
export function modelChoice(v: Record<string, unknown>, command: string): ModelChoice {
  const model = requireString(v.model, '--model', command);
  if (!existsSync(model)) throw new FstaError('NOT_FOUND', `model ${model} does not exist`, 'pass --model with the path of an .onnx file');
  const k = numberFlag(v.k, '--k', command, (n) => Number.isFinite(n) && n >= 0, 'a number ≥ 0');
  let spec: ModelSpec;
  let defaults = { fsStage: 'C5', taStage: 'C4' as string | null };
  if (typeof v.manifest === 'string') spec = specFromManifest(model, v.manifest);
  else {
    const name = typeof v.backbone === 'string' ? v.backbone : 'auto';
    const r = resolveBackbone(model, name);
    if (!r.spec) throw new FstaError('NO_PREPROCESS', `no backbone manifest matches ${model}; its stages were detected automatically, but its preprocessing is unknown`, 'pass --manifest FILE with the preprocessing and stage tensors (format: apps/cli/assets/demo/demo.json; `fsta inspect` prints the detected stages)');
    spec = r.spec;
    defaults = { fsStage: r.resolution.defaults.fsStage, taStage: r.resolution.defaults.taStage };
  }
  const ta = typeof v['ta-stage'] === 'string' ? v['ta-stage'] : defaults.taStage ?? 'none';
  if (ta === '') throw usageError('--ta-stage is empty', command);
  return {
    spec,
    fsStage: typeof v['fs-stage'] === 'string' ? v['fs-stage'] : defaults.fsStage,
    taStage: ta === 'none' ? null : ta,
    k,
    batch: positiveInt(v.batch, '--batch', command) ?? 32,
  };
}
