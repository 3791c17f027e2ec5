import * as ort from 'onnxruntime-node';
import { encodeModel, withOutputs, type OnnxModel } from '@fsta/onnx';

/**
 * The shapes `tensors` take for one blank input of `inputShape`, measured by running the
 * model once on CPU: static inference cannot follow a detector's own resize and
 * normalize steps, onnxruntime can. For `fsta inspect`, which shows where the stages are.
 */
export async function measureTensorShapes(model: OnnxModel, input: { name: string; shape: readonly number[] }, tensors: readonly string[]): Promise<Map<string, readonly number[]>> {
  const session = await ort.InferenceSession.create(encodeModel(withOutputs(model, tensors)), { executionProviders: ['cpu'] });
  try {
    const size = input.shape.reduce((a, b) => a * b, 1);
    const out = await session.run({ [input.name]: new ort.Tensor('float32', new Float32Array(size), input.shape) }, [...tensors]);
    return new Map(tensors.map((t) => [t, out[t]!.dims] as const));
  } finally {
    await session.release();
  }
}
