import * as ort from 'onnxruntime-node';
import { encodeModel, withOutputs, type OnnxModel } from '@fsta/onnx';

/**
 * Every tensor's shape as onnxruntime computes it at batch 1 (all node outputs exposed,
 * graph optimizations off): an independent source of shapes for the MAC counter.
 */
export async function runtimeShapes(model: OnnxModel, chw: readonly number[]): Promise<Map<string, number[]>> {
  const tensors = (model.graph?.node ?? []).flatMap((n) => n.output ?? []).filter((t) => t !== '');
  const session = await ort.InferenceSession.create(encodeModel(withOutputs(model, tensors)), { graphOptimizationLevel: 'disabled' });
  try {
    const shape = [1, ...chw];
    const n = shape.reduce((p, d) => p * d, 1);
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', new Float32Array(n).fill(0.1), shape) });
    return new Map(Object.entries(out).map(([k, v]) => [k, [...v.dims]]));
  } finally {
    await session.release();
  }
}
