import { FstaError } from '@fsta/core';
import { GraphIndex } from './graph-index.js';
import { tensorDims, tensorToFloat32 } from './tensor.js';
import type { OnnxModel } from './types.js';

/** The weight (O, D) and bias (O) of a Gemm head with transB = 1, as nn.Linear exports. */
export function headWeights(model: OnnxModel, weight: string, bias: string | null): { weight: { data: Float32Array; shape: [number, number] }; bias: Float32Array | null } {
  const index = new GraphIndex(model.graph!);
  const w = index.initializers.get(weight);
  if (!w) throw new FstaError('UNKNOWN_TENSOR', `the head weight "${weight}" is not an initializer of the model`, 'point the manifest head at the Gemm weight initializer');
  const dims = tensorDims(w);
  if (dims.length !== 2) throw new FstaError('BAD_HEAD', `head weight "${weight}" has shape [${dims.join(', ')}], expected (classes, features)`, 'use the final nn.Linear layer as the head');
  const b = bias ? index.initializers.get(bias) : undefined;
  if (bias && !b) throw new FstaError('UNKNOWN_TENSOR', `the head bias "${bias}" is not an initializer of the model`, 'point the manifest head at the Gemm bias initializer, or leave it out');
  return { weight: { data: tensorToFloat32(w), shape: [dims[0]!, dims[1]!] }, bias: b ? tensorToFloat32(b) : null };
}
