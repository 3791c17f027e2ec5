import type { GraphView } from './graph.js';
import { isConv } from './graph.js';

const DOWNSAMPLERS = new Set(['MaxPool', 'AveragePool', 'LpPool']);
/** Ops whose output is not a map of the input's positions (shapes, reductions to a vector). */
const NOT_MAPS = new Set(['Shape', 'Size', 'GlobalAveragePool', 'GlobalMaxPool', 'Flatten', 'ReduceMean', 'ReduceMax', 'ReduceSum', 'Gemm', 'MatMul', 'NonMaxSuppression', 'TopK', 'RoiAlign', 'MaxRoiPool']);

const cache = new WeakMap<GraphView, ReadonlyMap<string, number>>();

/**
 * The stride of every map computed from `input`, from the graph's structure: the product of
 * the strides of the convolutions and pools on its way (the largest over its inputs). Exact
 * where the input-size ratio is not (unpadded layers: SqueezeNet's 224 → 13 is stride 16),
 * and known where static shapes are not (a detector's data-dependent resize). A Resize
 * changes the stride by its static scale when known, else not at all (the detector's own
 * input resize, before any convolution).
 */
export function structuralStrides(graph: GraphView, input: string): ReadonlyMap<string, number> {
  const cached = cache.get(graph);
  if (cached) return cached;
  const s = new Map<string, number>([[input, 1]]);
  for (const n of graph.nodes) {
    if (NOT_MAPS.has(n.opType)) continue;
    const ins = n.inputs.filter((i) => s.has(i));
    if (ins.length === 0) continue;
    let stride = Math.max(...ins.map((i) => s.get(i)!));
    const st = n.attributes?.['strides'];
    const first = Array.isArray(st) ? (st[0] ?? 1) : 1;
    if (isConv(n.opType) && n.opType !== 'ConvTranspose') stride *= first;
    else if (n.opType === 'ConvTranspose') stride /= first;
    else if (DOWNSAMPLERS.has(n.opType)) stride *= first;
    else if (n.opType === 'Resize' || n.opType === 'Upsample') {
      const a = graph.shapes.get(ins[0]!), b = graph.shapes.get(n.outputs[0] ?? '');
      if (a?.length === 4 && b?.length === 4 && a[2]! > 0 && b[2]! > 0) stride *= a[2]! / b[2]!;
    }
    for (const o of n.outputs) if (o !== '') s.set(o, stride);
  }
  cache.set(graph, s);
  return s;
}

/**
 * Which tensors share a resolution: the static height x width where known, else the
 * structural stride (see `structuralStrides`); null for neither.
 */
export function resolutionKey(graph: GraphView, input: string | null, tensor: string): string | null {
  const shape = graph.shapes.get(tensor);
  if (shape?.length === 4 && shape[2]! > 0 && shape[3]! > 0) return `${shape[2]}x${shape[3]}`;
  const s = input ? structuralStrides(graph, input).get(tensor) : undefined;
  return s === undefined ? null : `stride ${s}`;
}
