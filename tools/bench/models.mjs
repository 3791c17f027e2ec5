// @ts-check
// The benchmark models, decoded once, with their stages found by @fsta/backbones
// and shapes by @fsta/onnx: what every section builds its sessions from.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel, inferShapes, toGraphView } from '@fsta/onnx';
import { findBackbone, requireStage } from '@fsta/backbones';

export const ROOT = new URL('../../', import.meta.url).pathname;
export { SHARED } from './images.mjs';
import { SHARED } from './images.mjs';

export const MODELS = [
  { id: 'resnet50', label: 'torchvision ResNet-50 (random weights)', path: join(ROOT, '.cache/models/resnet50.onnx'), backbone: 'resnet50', chw: [3, 224, 224] },
  { id: 'cifar10-resnet56', label: 'CIFAR ResNet-56', path: join(SHARED, 'models/cifar10-resnet56.onnx'), backbone: 'cifar_resnet56', chw: [3, 32, 32] },
  { id: 'imagenet-mobilenetv2', label: 'MobileNetV2', path: join(SHARED, 'models/imagenet-mobilenetv2.onnx'), backbone: 'mobilenet_v2', chw: [3, 224, 224] },
];

/** @param {typeof MODELS[number]} m */
export function loadModel(m) {
  if (!existsSync(m.path)) throw new Error(`${m.path} is missing${m.id === 'resnet50' ? ': run `node tools/ensure-models.mjs`' : ''}`);
  const bytes = readFileSync(m.path);
  const model = decodeModel(bytes);
  const shapes = inferShapes(model);
  /** @type {Map<string, number[]>} */
  const numeric = new Map();
  for (const [name, dims] of shapes) if (dims) numeric.set(name, dims.map((d) => (typeof d === 'number' ? d : -1)));
  const found = findBackbone(toGraphView(model, numeric), m.backbone);
  return {
    ...m,
    bytes,
    model,
    shapes,
    taTensor: requireStage(found, 'C4').tensor,
    fsTensor: requireStage(found, 'C5').tensor,
    head: found.head ? { penultimate: found.head.penultimate, logits: found.head.logits } : undefined,
    k: found.defaults.k,
  };
}

/** x[i] = ((i · 7919) mod 1000) / 1000 − 0.5: deterministic, image-like in range. */
export function probeInput(shape) {
  const n = shape.reduce((p, d) => p * d, 1);
  return Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
}
