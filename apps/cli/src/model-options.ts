import { existsSync } from 'node:fs';
import { FstaError } from '@fsta/core';
import type { Options } from './args.js';
import { positiveInt, requireString, usageError } from './args.js';
import { kList } from './k-choice.js';
import { loadModelSpec } from './engine/model.js';
import type { ModelSpec } from './engine/model.js';

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
  --k K                  TA threshold k ≥ 0 (default: the config's k with --config,
                         else the backbone's default: 0.5 CIFAR ResNets and
                         MobileNetV2, 0.2 ResNet-50; eval and calibrate take a
                         comma list, e.g. --k 0.2,0.5)
  --batch N              images per model run (default 32)`;

export interface ModelChoice {
  spec: ModelSpec;
  fsStage: string;
  taStage: string | null;
  /** The one --k (undefined when none or several were given). */
  k: number | undefined;
  /** Every --k, in the order given. */
  ks: number[] | undefined;
  /** The backbone manifest's (or detection's) default k, when the stages came from @fsta/backbones. */
  defaultK?: { k: number; source: string };
  batch: number;
}

/** Resolves --model and friends to a ModelSpec and the stage settings. */
export function modelChoice(v: Record<string, unknown>, command: string): ModelChoice {
  const model = requireString(v.model, '--model', command);
  if (!existsSync(model)) throw new FstaError('NOT_FOUND', `model ${model} does not exist`, 'pass --model with the path of an .onnx file');
  const ks = kList(v.k, command);
  const spec: ModelSpec = loadModelSpec(model, {
    ...(typeof v.manifest === 'string' ? { manifestPath: v.manifest } : {}),
    ...(typeof v.backbone === 'string' ? { backbone: v.backbone } : {}),
  });
  const r = spec.resolution;
  if (!r.preprocess) throw new FstaError('NO_PREPROCESS', `no backbone manifest matches ${model}; its stages were detected automatically, but its preprocessing is unknown`, 'pass --manifest FILE with the preprocessing and stage tensors (format: apps/cli/assets/demo/demo.json; `fsta inspect` prints the detected stages)');
  // A user manifest's stages keep the CLI's C5/C4 defaults unless it names its own.
  const defaults = spec.manifest && !spec.manifest.defaults ? { fsStage: 'C5', taStage: 'C4' as string | null } : { fsStage: r.defaults.fsStage as string, taStage: r.defaults.taStage as string | null };
  const defaultK: ModelChoice['defaultK'] = spec.manifest
    ? spec.manifest.defaults?.k !== undefined ? { k: spec.manifest.defaults.k, source: `manifest ${spec.manifest.source} default` } : undefined
    : { k: r.defaults.k, source: r.manifest ? `backbone ${r.manifest.name} default` : 'default for automatically detected stages' };
  const ta = typeof v['ta-stage'] === 'string' ? v['ta-stage'] : defaults.taStage ?? 'none';
  if (ta === '') throw usageError('--ta-stage is empty', command);
  const choice: ModelChoice = {
    spec,
    fsStage: typeof v['fs-stage'] === 'string' ? v['fs-stage'] : defaults.fsStage,
    taStage: ta === 'none' ? null : ta,
    k: ks?.length === 1 ? ks[0] : undefined,
    ks,
    batch: positiveInt(v.batch, '--batch', command) ?? 32,
  };
  if (defaultK) choice.defaultK = defaultK;
  return choice;
}
