import type { OnnxAttribute, OnnxGraph, OnnxModel, OnnxNode, OnnxTensor } from './types.js';

/** A SparseTensorProto as protobufjs decodes it: values and indices are TensorProtos. */
interface SparseTensor {
  values?: OnnxTensor;
  indices?: OnnxTensor;
}

interface FunctionLike {
  name?: string;
  node?: OnnxNode[];
}

interface TrainingInfoLike {
  initialization?: OnnxGraph;
  algorithm?: OnnxGraph;
}

/** The subgraphs an attribute holds (If branches, Loop and Scan bodies). */
export const attributeGraphs = (a: OnnxAttribute): OnnxGraph[] => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];

const sparseParts = (s: SparseTensor | undefined, where: string): [OnnxTensor, string][] =>
  s ? [...(s.values ? [[s.values, `${where} (values)`] as [OnnxTensor, string]] : []), ...(s.indices ? [[s.indices, `${where} (indices)`] as [OnnxTensor, string]] : [])] : [];

/**
 * Every TensorProto the model holds, wherever it is: graph initializers and sparse
 * initializers, node attributes (`t`, `tensors`, sparse ones), the same inside every
 * subgraph (If/Loop/Scan, at any depth), local functions and training info. Each comes
 * with a description of where it is, for error messages. onnxruntime reads them all,
 * so a check that skips one (external data) can be bypassed through it.
 */
export function forEachTensor(model: OnnxModel, visit: (t: OnnxTensor, where: string) => void): void {
  const inNodes = (nodes: readonly OnnxNode[] | undefined, scope: string) => {
    for (const [i, n] of (nodes ?? []).entries()) {
      const node = `node "${n.name || `#${i}`}" (${n.opType ?? '?'})${scope}`;
      for (const a of n.attribute ?? []) {
        const at = `attribute "${a.name ?? '?'}" of ${node}`;
        if (a.t) visit(a.t, at);
        for (const t of a.tensors ?? []) visit(t, at);
        for (const [t, w] of sparseParts(a.sparseTensor as SparseTensor | undefined, `sparse ${at}`)) visit(t, w);
        for (const s of (a.sparseTensors as SparseTensor[] | undefined) ?? []) for (const [t, w] of sparseParts(s, `sparse ${at}`)) visit(t, w);
        for (const g of attributeGraphs(a)) inGraph(g, ` in subgraph "${a.name ?? '?'}" of ${node}`);
      }
    }
  };
  const inGraph = (g: OnnxGraph | undefined, scope: string) => {
    if (!g) return;
    for (const t of g.initializer ?? []) visit(t, `initializer "${t.name ?? ''}"${scope}`);
    for (const s of (g.sparseInitializer as SparseTensor[] | undefined) ?? []) for (const [t, w] of sparseParts(s, `sparse initializer "${s.values?.name ?? ''}"${scope}`)) visit(t, w);
    inNodes(g.node, scope);
  };
  inGraph(model.graph, '');
  for (const f of (model.functions as FunctionLike[] | undefined) ?? []) inNodes(f.node, ` in function "${f.name ?? ''}"`);
  for (const [i, ti] of ((model.trainingInfo as TrainingInfoLike[] | undefined) ?? []).entries()) {
    inGraph(ti.initialization, ` in training info ${i} (initialization)`);
    inGraph(ti.algorithm, ` in training info ${i} (algorithm)`);
  }
}
