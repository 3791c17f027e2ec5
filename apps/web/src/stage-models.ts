import { FstaError } from '@fsta/core';
import { GraphIndex, cloneModel, type OnnxModel, type OnnxValueInfo } from '@fsta/onnx';

const floatInfo = (name: string): OnnxValueInfo => ({ name, type: { tensorType: { elemType: 1 } } });

/** The model with `tensors` also returned as outputs; its own outputs come first and are unchanged. */
export function withOutputs(model: OnnxModel, tensors: readonly string[]): OnnxModel {
  const m = cloneModel(model);
  const g = m.graph!;
  const index = new GraphIndex(g);
  const have = new Set((g.output ?? []).map((o) => o.name));
  for (const t of tensors) {
    if (!index.producer.has(t)) throw new FstaError('UNKNOWN_TENSOR', `the model has no tensor "${t}"`, 'pick stages that exist in this model (check the backbone choice)');
    if (!have.has(t)) (g.output ??= []).push(floatInfo(t));
    have.add(t);
  }
  return m;
}

/**
 * The part of the network from tensor `from` to tensor `to`, as a model that takes
 * `from` as its input: what re-runs the later stages on the thresholded map for FS+TA.
 * Weights are the model's own initializers, not copies of values.
 */
export function tailModel(model: OnnxModel, from: string, to: string): OnnxModel {
  const g = model.graph!;
  const index = new GraphIndex(g);
  if (!index.producer.has(from) || !index.producer.has(to)) throw new FstaError('UNKNOWN_TENSOR', `the model has no tensor "${index.producer.has(from) ? to : from}"`, 'pick stages that exist in this model');
  const upstream = new Set(index.ancestors([from]));
  const tail = index.ancestors([to]).filter((i) => !upstream.has(i));
  if (!tail.some((i) => (index.nodes[i]!.input ?? []).includes(from))) throw new FstaError('BAD_STAGES', `stage "${to}" does not depend on "${from}"`, 'TA must be applied at a stage before the FS stage');
  const produced = new Set(tail.flatMap((i) => index.nodes[i]!.output ?? []));
  const used = new Set<string>();
  for (const i of tail) {
    for (const x of index.nodes[i]!.input ?? []) {
      if (!x || x === from || produced.has(x)) continue;
      if (!index.initializers.has(x)) throw new FstaError('BAD_STAGES', `the layers between "${from}" and "${to}" also read "${x}", which is computed before "${from}"`, 'pick a TA stage that everything after it depends on alone (a stage boundary)');
      used.add(x);
    }
  }
  return {
    ...model,
    graph: {
      name: `${g.name ?? 'graph'}-tail`,
      node: tail.map((i) => index.nodes[i]!),
      initializer: (g.initializer ?? []).filter((t) => used.has(t.name ?? '')),
      input: [floatInfo(from)],
      output: [floatInfo(to)],
    },
  };
}
