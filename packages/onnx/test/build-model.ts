import type { OnnxGraph, OnnxModel, OnnxValueInfo } from '../src/index.js';

// The few lines every hand-built test model starts from: one place for the tests that
// build ONNX graphs by hand (fuzz-reader, hostile-models, graph-cut, graph-ops, ...).

/** A graph input/output/value_info: float32 (elemType 1) unless told; a string dim is symbolic (dim_param); no dims, no shape. */
export const valueInfo = (name: string, dims?: readonly (number | string)[], elemType = 1): OnnxValueInfo => ({
  name,
  type: { tensorType: { elemType, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } : {}) } },
});

/** A model around `graph`: IR version 8, the default opset `opset` (13); `more` adds or replaces model fields. */
export const onnxModel = (graph: OnnxGraph, more: Partial<OnnxModel> = {}, opset = 13): OnnxModel => ({
  irVersion: 8,
  opsetImport: [{ domain: '', version: opset }],
  graph,
  ...more,
});
