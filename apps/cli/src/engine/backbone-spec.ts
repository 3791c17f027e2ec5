import { MAX_MODEL_BYTES, readRegularFileSync } from '@fsta/onnxruntime-node/read-file';
import { FstaError } from '@fsta/core';
import type { PreprocessSpec } from '@fsta/core';
import { decodeModel, toGraphView } from '@fsta/onnx';
import { findBackbone } from '@fsta/backbones';
import type { BackboneResolution } from '@fsta/backbones';
import type { ModelSpec } from './spec.js';

/** Reads and decodes a model file with one clear error for a missing or unreadable file. */
export function readModel(path: string) {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFileSync(path, { maxBytes: MAX_MODEL_BYTES, what: 'model' });
  } catch (e) {
    if (e instanceof FstaError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new FstaError('NOT_FOUND', `cannot read model ${path} (${code === 'ENOENT' ? 'no such file' : code})`, 'pass the path of an .onnx file');
  }
  return decodeModel(bytes);
}

/** Stages, head and preprocessing from @fsta/backbones: a named manifest, or 'auto' (manifest match, else detection). */
export function resolveBackbone(modelPath: string, name: string): { spec: ModelSpec | null; resolution: BackboneResolution; inputName: string } {
  const model = readModel(modelPath);
  const view = toGraphView(model);
  const resolution = findBackbone(view, name);
  const stages: Record<string, string> = {};
  for (const [stage, s] of Object.entries(resolution.stages)) if (s) stages[stage] = s.tensor;
  const inputName = view.inputs.find((i: string) => !(model.graph!.initializer ?? []).some((t) => t.name === i)) ?? 'input';
  const h = resolution.head;
  const head = h && h.weightInitializer ? { penultimate: h.penultimate, weight: h.weightInitializer, bias: h.biasInitializer } : null;
  const output = h?.logits ?? view.outputs[0] ?? 'logits';
  const pre = resolution.manifest?.preprocess;
  const spec: ModelSpec | null = pre
    ? { modelPath, input: inputName, output, preprocess: { ...pre, size: [...pre.size], mean: [...pre.mean], std: [...pre.std], range: [...pre.range] } as PreprocessSpec, stages, head, source: `backbone ${resolution.manifest!.name}` }
    : null;
  return { spec, resolution, inputName };
}
