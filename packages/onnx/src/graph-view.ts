import { inferShapes } from './shapes.js';
import type { GraphNode, GraphView } from '@fsta/backbones';
import { toNumber } from './proto.js';
import { tensorDims, tensorToNumbers } from './tensor.js';
import type { OnnxAttribute, OnnxModel, OnnxTensor, OnnxValueInfo } from './types.js';

/** Tensors this small are kept by value in the view (Clip bounds, scalar constants). */
const MAX_CONSTANT = 8;

const valueInfoDims = (v: OnnxValueInfo): number[] | null => {
  const dims = v.type?.tensorType?.shape?.dim;
  if (!dims) return null;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : -1));
};

function numericAttributes(attrs: readonly OnnxAttribute[] | undefined): Record<string, number | number[]> {
  const out: Record<string, number | number[]> = {};
  for (const a of attrs ?? []) {
    if (!a.name) continue;
    if (a.i !== undefined && a.i !== null && (a.type === 2 || a.type === undefined)) out[a.name] = toNumber(a.i);
    else if (a.f !== undefined && a.type === 1) out[a.name] = a.f;
    else if (a.ints && a.ints.length > 0) out[a.name] = a.ints.map(toNumber);
    else if (a.floats && a.floats.length > 0) out[a.name] = [...a.floats];
  }
  return out;
}

const smallValues = (t: OnnxTensor): number[] | null => {
  const n = tensorDims(t).reduce((p, d) => p * d, 1);
  if (n > MAX_CONSTANT) return null;
  try {
    return tensorToNumbers(t);
  } catch {
    return null;
  }
};

/**
 * The structural view `@fsta/backbones` matches manifests and detects stages on.
 * Shapes come from initializer dims and the graph's own value infos, overridden by
 * `shapes` (pass the result of shape inference: most exporters write no value infos).
 */
/** Static shapes from `inferShapes`, with symbolic dimensions as -1 (the GraphView convention). */
export function inferredShapes(model: OnnxModel): Map<string, readonly number[]> {
  return new Map([...inferShapes(model)].filter(([, s]) => s !== undefined).map(([n, s]) => [n, s!.map((d) => (typeof d === 'number' ? d : -1))]));
}

/**
 * A structural view of the model for @fsta/backbones. Without `shapes`, they are
 * inferred: exports rarely carry value infos, and finding an unknown CNN's stages needs them.
 */
export function toGraphView(model: OnnxModel, shapes: ReadonlyMap<string, readonly number[]> = inferredShapes(model)): GraphView {
  const g = model.graph ?? {};
  const initializerNames = new Set<string>();
  const allShapes = new Map<string, readonly number[]>();
  const constants = new Map<string, readonly number[]>();
  for (const t of g.initializer ?? []) {
    if (!t.name) continue;
    initializerNames.add(t.name);
    allShapes.set(t.name, tensorDims(t));
    const v = smallValues(t);
    if (v) constants.set(t.name, v);
  }
  for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) {
    const d = v.name ? valueInfoDims(v) : null;
    if (d && !allShapes.has(v.name!)) allShapes.set(v.name!, d);
  }
  for (const [k, v] of shapes ?? []) allShapes.set(k, v);
  const nodes: GraphNode[] = (g.node ?? []).map((n, i) => {
    if (n.opType === 'Constant' && n.output?.[0]) {
      const t = n.attribute?.find((a) => a.name === 'value')?.t;
      const v = t ? smallValues(t) : null;
      if (v) constants.set(n.output[0], v);
    }
    return { name: n.name || `${n.opType}_${i}`, opType: n.opType ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attributes: numericAttributes(n.attribute) };
  });
  return {
    nodes,
    inputs: (g.input ?? []).map((v) => v.name ?? '').filter((n) => n !== '' && !initializerNames.has(n)),
    outputs: (g.output ?? []).map((v) => v.name ?? ''),
    initializerNames,
    shapes: allShapes,
    constants,
  };
}
