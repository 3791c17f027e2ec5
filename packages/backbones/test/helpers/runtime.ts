import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, withOutputs } from '@fsta/onnx';
import type { OnnxModel } from '@fsta/onnx';
import { toGraphView } from '../../../onnx/src/graph-view.js';
import type { GraphView } from '@fsta/backbones';

/** x[i] = ((i * 7919) % 1000) / 1000 − 0.5: the probe input tools/export_torchvision.py records outputs for. */
export function probeInput(shape: readonly number[]): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return x;
}

export interface RunResult {
  outputs: Record<string, { dims: readonly number[]; data: ArrayLike<number | bigint> }>;
}

/** Runs the model in onnxruntime-node (CPU) with extra outputs, on the probe input. */
export async function runWithOutputs(model: OnnxModel, tensors: readonly string[], inputShape: readonly number[]): Promise<RunResult['outputs']> {
  const session = await ort.InferenceSession.create(encodeModel(withOutputs(model, tensors)), { graphOptimizationLevel: 'disabled' });
  try {
    const input = session.inputNames[0]!;
    const res = await session.run({ [input]: new ort.Tensor('float32', probeInput(inputShape), inputShape) });
    const out: RunResult['outputs'] = {};
    for (const [k, v] of Object.entries(res)) out[k] = { dims: v.dims, data: v.data as ArrayLike<number> };
    return out;
  } finally {
    await session.release();
  }
}

/**
 * Shapes of every node output, observed by running the model once in onnxruntime
 * (batch 1). Stands in for static shape inference in these tests; batch is reported as -1
 * where the model's input has a dynamic batch axis, as static inference would.
 */
export async function runtimeShapes(model: OnnxModel, inputShape: readonly number[], dynamicBatch: boolean): Promise<Map<string, number[]>> {
  const names = (model.graph!.node ?? []).flatMap((n) => n.output ?? []).filter((o) => o !== '');
  const outs = await runWithOutputs(model, names, inputShape);
  // Only tensors computed from the image carry the batch axis (not dequantized weights).
  const fromInput = new Set<string>(model.graph!.input!.map((i) => i.name!));
  for (const n of model.graph!.node ?? []) if ((n.input ?? []).some((i) => fromInput.has(i))) for (const o of n.output ?? []) fromInput.add(o);
  const shapes = new Map<string, number[]>();
  for (const [k, v] of Object.entries(outs)) shapes.set(k, v.dims.length === 4 && dynamicBatch && fromInput.has(k) ? [-1, ...v.dims.slice(1)] : [...v.dims]);
  return shapes;
}

export interface LoadedModel {
  model: OnnxModel;
  graph: GraphView;
  inputShape: number[];
}

export async function loadWithShapes(path: string, inputShape: number[], dynamicBatch = true): Promise<LoadedModel> {
  const model = decodeModel(readFileSync(path));
  const shapes = await runtimeShapes(model, inputShape, dynamicBatch);
  return { model, graph: toGraphView(model, shapes), inputShape };
}
