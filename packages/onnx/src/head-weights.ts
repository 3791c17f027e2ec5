import { FstaError } from '@fsta/core';
import { GraphIndex } from './graph-index.js';
import { attrInt } from './attributes.js';
import { tensorDims, tensorToFloat32, tensorToNumbers } from './tensor.js';
import { DataType, type OnnxModel, type OnnxTensor } from './types.js';

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

/**
 * The float values a head tensor holds when the model runs: a float initializer as it is,
 * an int8/uint8 one behind DequantizeLinear as onnxruntime dequantizes it,
 * float32((q − zero_point) · scale), per tensor or per `axis`. Anything else is refused:
 * the raw integers of a quantized weight would give silently wrong scores.
 */
function headTensor(index: GraphIndex, name: string, what: string): { data: Float32Array; dims: number[] } {
  let t = name;
  for (let hops = 0; hops < 4; hops++) {
    const init = index.initializers.get(t);
    if (init) {
      if (!FLOAT_TYPES.has(init.dataType ?? 0)) throw new FstaError('BAD_HEAD', `the head ${what} "${name}" is initializer "${t}" of data type ${init.dataType}, not float`, 'export the head (final nn.Linear) with float weights, or int8 weights behind DequantizeLinear');
      return { data: tensorToFloat32(init), dims: tensorDims(init) };
    }
    const p = index.producer.get(t);
    const node = p === undefined ? undefined : index.nodes[p]!;
    if (node?.opType === 'Identity') { t = node.input![0]!; continue; }
    if (node?.opType === 'DequantizeLinear') return dequantized(index, node.input ?? [], attrInt(node, 'axis', 1), name, what);
    break;
  }
  throw new FstaError('BAD_HEAD', `the head ${what} "${name}" is not a float initializer nor an int8 one behind DequantizeLinear`, 'export the head (final nn.Linear) with its weight and bias as initializers');
}

function dequantized(index: GraphIndex, [x, scale, zeroPoint]: readonly string[], axis0: number, name: string, what: string): { data: Float32Array; dims: number[] } {
  const init = (t: string | undefined): OnnxTensor => {
    const i = t ? index.initializers.get(t) : undefined;
    if (!i) throw new FstaError('BAD_HEAD', `the head ${what} "${name}" is dequantized from "${t ?? ''}", which is not an initializer`, 'export the head with constant (initializer) quantized weights');
    return i;
  };
  const q = init(x);
  const dims = tensorDims(q);
  const values = tensorToNumbers(q);
  const s = tensorToFloat32(init(scale));
  const zp = zeroPoint ? tensorToNumbers(init(zeroPoint)) : [0];
  const axis = axis0 < 0 ? axis0 + dims.length : axis0;
  // Per tensor: one scale. Per axis: one scale per index along `axis`.
  const perAxis = s.length > 1;
  if (perAxis && dims[axis] !== s.length) throw new FstaError('BAD_HEAD', `the head ${what} "${name}" has ${s.length} dequantization scales for axis ${axis0} of length ${dims[axis]}`, 're-export the quantized model');
  const inner = perAxis ? dims.slice(axis + 1).reduce((a, b) => a * b, 1) : 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = perAxis ? Math.floor(i / inner) % s.length : 0;
    out[i] = Math.fround((values[i]! - (zp[perAxis && zp.length > 1 ? c : 0] ?? 0)) * s[c]!);
  }
  return { data: out, dims };
}

/**
 * The weight (O, D) and bias (O) of a Gemm head with transB = 1, as nn.Linear exports,
 * from the tensors the Gemm reads (initializers, or DequantizeLinear outputs).
 */
export function headWeights(model: OnnxModel, weight: string, bias: string | null): { weight: { data: Float32Array; shape: [number, number] }; bias: Float32Array | null } {
  const index = new GraphIndex(model.graph!);
  if (!index.has(weight)) throw new FstaError('UNKNOWN_TENSOR', `the head weight "${weight}" is not in the model`, 'point the manifest head at the Gemm weight');
  const w = headTensor(index, weight, 'weight');
  if (w.dims.length !== 2) throw new FstaError('BAD_HEAD', `head weight "${weight}" has shape [${w.dims.join(', ')}], expected (classes, features)`, 'use the final nn.Linear layer as the head');
  if (bias && !index.has(bias)) throw new FstaError('UNKNOWN_TENSOR', `the head bias "${bias}" is not in the model`, 'point the manifest head at the Gemm bias, or leave it out');
  return { weight: { data: w.data, shape: [w.dims[0]!, w.dims[1]!] }, bias: bias ? headTensor(index, bias, 'bias').data : null };
}
