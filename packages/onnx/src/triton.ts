import { FstaError } from '@fsta/core';
import { toNumber } from './proto.js';
import type { OnnxModel, OnnxValueInfo } from './types.js';

/** ONNX TensorProto.DataType → Triton's data_type. */
const TRITON_TYPES: Record<number, string> = {
  1: 'TYPE_FP32', 2: 'TYPE_UINT8', 3: 'TYPE_INT8', 4: 'TYPE_UINT16', 5: 'TYPE_INT16', 6: 'TYPE_INT32', 7: 'TYPE_INT64',
  8: 'TYPE_STRING', 9: 'TYPE_BOOL', 10: 'TYPE_FP16', 11: 'TYPE_FP64', 12: 'TYPE_UINT32', 13: 'TYPE_UINT64', 16: 'TYPE_BF16',
};

/** One input or output as config.pbtxt declares it. */
export interface TritonTensor {
  name: string;
  dataType: string;
  /** Without the batch axis when the config batches; -1 for a dynamic axis. */
  dims: number[];
}

export interface TritonConfig {
  name: string;
  /** 0 when the model has no dynamic batch axis on every input and output (Triton then passes full shapes). */
  maxBatchSize: number;
  inputs: TritonTensor[];
  outputs: TritonTensor[];
  /** The config.pbtxt text. */
  text: string;
}

/** -1 for a symbolic or missing dimension. */
const dimsOf = (v: OnnxValueInfo): number[] | null => {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dimValue !== undefined && d.dimValue !== null && d.dimParam === undefined ? toNumber(d.dimValue) : -1));
};

// Protobuf text format strings: C escapes for the quote and the backslash; names with control characters are refused.
const quoted = (s: string): string => {
  if (/[\u0000-\u001f\u007f]/.test(s)) throw new FstaError('BAD_MODEL', `tensor name ${JSON.stringify(s)} has a control character, which config.pbtxt cannot hold as written`, 'rename the tensor in the model');
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
};

/**
 * The Triton Inference Server config (platform onnxruntime_onnx) for a model: its inputs and
 * every output (its own and fsta's) with their dtypes and dims. Where every input and output
 * has a dynamic first axis, that axis is the batch: `max_batch_size` and `dynamic_batching`,
 * dims without it ([N] outputs become dims [1] reshaped to [], Triton's form for a per-request
 * scalar). Otherwise max_batch_size 0 and full shapes.
 */
export function tritonConfig(model: OnnxModel, name: string, options: { maxBatchSize?: number } = {}): TritonConfig {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new FstaError('BAD_OPTION', `Triton model name "${name}" is not a plain folder name`, 'use letters, digits, "_", "-" and "." only');
  const g = model.graph!;
  const initializers = new Set((g.initializer ?? []).map((t) => t.name));
  const declared = (list: readonly OnnxValueInfo[], what: string) => list.map((v) => {
    const elem = v.type?.tensorType?.elemType ?? 0;
    const dataType = TRITON_TYPES[elem];
    if (!dataType) throw new FstaError('NOT_SUPPORTED', `${what} "${v.name}" is not a tensor of a type Triton declares (ONNX elem_type ${elem})`, 'serve this model with a hand-written config.pbtxt');
    const dims = dimsOf(v);
    if (!dims) throw new FstaError('NO_SHAPE', `${what} "${v.name}" has no shape in the model`, 're-export the model with output shapes (torch.onnx.export writes them), or write config.pbtxt by hand');
    return { name: v.name!, dataType, dims };
  });
  const inputs = declared((g.input ?? []).filter((i) => !initializers.has(i.name)), 'input');
  const outputs = declared(g.output ?? [], 'output');
  const all = [...inputs, ...outputs];
  const batched = all.every((t) => t.dims.length >= 1 && t.dims[0] === -1);
  const maxBatchSize = batched ? options.maxBatchSize ?? 32 : 0;
  if (!(Number.isInteger(maxBatchSize) && maxBatchSize >= (batched ? 1 : 0))) throw new FstaError('BAD_OPTION', `max batch size must be an integer ≥ 1, got ${maxBatchSize}`, 'pass a positive integer');
  const shown = (t: TritonTensor): TritonTensor => ({ ...t, dims: batched ? t.dims.slice(1) : t.dims });
  const entry = (t: TritonTensor) => {
    const scalar = t.dims.length === 0;
    return [
      '  {',
      `    name: ${quoted(t.name)}`,
      `    data_type: ${t.dataType}`,
      `    dims: [ ${scalar ? '1' : t.dims.join(', ')} ]`,
      ...(scalar ? ['    reshape: { shape: [ ] }'] : []),
      '  }',
    ].join('\n');
  };
  const ins = inputs.map(shown);
  const outs = outputs.map(shown);
  const text = [
    '# Written by fsta patch --triton. The fsta/* outputs are the OOD scores; fsta/verdict (where present)',
    '# is true for in-distribution images. The model file\'s metadata_props (fsta.*) hold the settings.',
    `name: ${quoted(name)}`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatchSize}`,
    `input [\n${ins.map(entry).join(',\n')}\n]`,
    `output [\n${outs.map(entry).join(',\n')}\n]`,
    ...(batched ? ['dynamic_batching { }'] : []),
    '',
  ].join('\n');
  return { name, maxBatchSize, inputs: ins, outputs: outs, text };
}
