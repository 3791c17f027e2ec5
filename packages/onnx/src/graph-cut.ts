import { FstaError } from '@fsta/core';
import { GraphIndex } from './graph-index.js';
import type { OnnxGraph, OnnxModel, OnnxValueInfo } from './types.js';

const FLOAT = 1;

const unknownTensor = (tensor: string, what: string) =>
  new FstaError('UNKNOWN_TENSOR', `the model has no tensor "${tensor}" (${what})`, 'use a tensor name the graph has: `fsta inspect MODEL` lists the detected stages, or check the stage and head tensor names in the manifest');

/** Element type of `tensor` where the graph declares it (value_info, inputs, outputs, initializers). */
function elemTypeOf(graph: OnnxGraph, index: GraphIndex, tensor: string): number | undefined {
  const declared = [...(graph.valueInfo ?? []), ...(graph.input ?? []), ...(graph.output ?? [])].find((v) => v.name === tensor);
  const t = declared?.type?.tensorType?.elemType ?? index.initializers.get(tensor)?.dataType;
  return t ? Number(t) : undefined;
}

// Only the element type: a declared shape could pin a batch size the caller does not use.
const info = (name: string, elemType: number | undefined): OnnxValueInfo =>
  elemType === undefined ? { name } : { name, type: { tensorType: { elemType } } };

/**
 * The model, also outputting `tensors`. The original outputs stay first and
 * unchanged; a tensor that already is an output is not added twice. An output whose
 * type the graph does not declare is left untyped for the runtime to infer (shape
 * tensors are int64). The input is not changed; nodes and weights are shared with it,
 * not copied, since a detector's weights can be 100+ MB and callers encode at once.
 */
export function withOutputs(model: OnnxModel, tensors: readonly string[]): OnnxModel {
  const graph = model.graph ?? {};
  const index = new GraphIndex(graph);
  const outputs = [...(graph.output ?? [])];
  const have = new Set(outputs.map((o) => o.name));
  for (const t of tensors) {
    if (!index.has(t)) throw unknownTensor(t, 'asked to expose it as an output');
    if (have.has(t)) continue;
    outputs.push(info(t, elemTypeOf(graph, index, t)));
    have.add(t);
  }
  return { ...model, graph: { ...graph, output: outputs } };
}

export interface TailModel {
  /** Inputs: `fromTensor`, then `extraInputs`; output: `toTensor`. */
  model: OnnxModel;
  /** Earlier tensors the tail reads besides `fromTensor` (e.g. a long skip), in graph order. */
  extraInputs: string[];
}

/**
 * The part of the network from `fromTensor` to `toTensor` as its own model: fed
 * ReLU(f − k) at the TA stage it gives the FS stage of the TA pass without running
 * the front again. It holds the nodes that read `fromTensor` (transitively) and that
 * `toTensor` needs, plus the input-free subgraphs they read (exporters compute pads
 * and shapes with Constant nodes, e.g. CIFAR option-A shortcuts); any other earlier
 * tensor the tail reads becomes an extra input, listed in `extraInputs`.
 * Nodes and weights are shared with `model`, not copied.
 */
export function tailModel(model: OnnxModel, fromTensor: string, toTensor: string): TailModel {
  const graph = model.graph ?? {};
  const index = new GraphIndex(graph);
  if (!index.has(fromTensor)) throw unknownTensor(fromTensor, 'the cut starts there');
  if (!index.has(toTensor)) throw unknownTensor(toTensor, 'the cut ends there');
  const upstream = new Set(index.ancestors([toTensor]));
  const tail = new Set(index.descendants(fromTensor).filter((i) => upstream.has(i)));
  if (tail.size === 0) {
    throw new FstaError('BAD_STAGES', `"${toTensor}" does not depend on "${fromTensor}", so the network cannot be cut between them`, 'pick a TA stage earlier than the FS stage on one path through the network (e.g. --ta-stage C4 with --fs-stage C5)');
  }
  const fed = new Set(index.graphInputs.flatMap((t) => index.descendants(t)));
  const constant = (i: number) => !fed.has(i) && !index.nodes[i]!.output?.includes(fromTensor);
  const pull = (i: number): void => {
    for (const t of index.reads[i]!) {
      const p = index.producer.get(t);
      if (p === undefined || tail.has(p) || !constant(p)) continue;
      tail.add(p);
      pull(p);
    }
  };
  [...tail].forEach(pull);
  const kept = index.order.filter((i) => tail.has(i));
  const nodes = kept.map((i) => index.nodes[i]!);
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const read = new Set(kept.flatMap((i) => index.reads[i]!).filter((t) => t !== '' && !produced.has(t)));
  const initializer = (graph.initializer ?? []).filter((t) => read.has(t.name ?? ''));
  const extraInputs = [...read].filter((t) => t !== fromTensor && !index.initializers.has(t));
  const input = [fromTensor, ...extraInputs].map((t) => info(t, elemTypeOf(graph, index, t) ?? FLOAT));
  const output = [info(toTensor, elemTypeOf(graph, index, toTensor))];
  return { model: { ...model, graph: { name: `${graph.name ?? 'graph'}_tail`, node: nodes, initializer, input, output } }, extraInputs };
}
