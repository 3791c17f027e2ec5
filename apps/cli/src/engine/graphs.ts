import { FstaError } from '@fsta/core';
import { GraphIndex, cloneModel, tensorToFloat32, tensorDims } from '@fsta/onnx';
import type { OnnxModel, OnnxValueInfo } from '@fsta/onnx';

const floatOutput = (name: string): OnnxValueInfo => ({ name, type: { tensorType: { elemType: 1 } } });

const missing = (what: string, tensor: string) =>
  new FstaError('UNKNOWN_TENSOR', `the model has no tensor "${tensor}" (${what})`, 'check the stage and head tensor names in the manifest, or run `fsta inspect MODEL` to see the detected stages');

/**
 * The model with extra graph outputs, so one run returns the stage maps, the
 * penultimate features and the logits. The original outputs stay first and unchanged.
 */
export function probeModel(model: OnnxModel, tensors: readonly string[]): OnnxModel {
  const m = cloneModel(model);
  const g = m.graph!;
  const index = new GraphIndex(g);
  const have = new Set((g.output ?? []).map((o) => o.name));
  for (const t of tensors) {
    if (!index.has(t)) throw missing('asked to expose it', t);
    if (!have.has(t)) {
      g.output!.push(floatOutput(t));
      have.add(t);
    }
  }
  return m;
}

/**
 * The part of the network between the TA stage and the FS stage as its own model:
 * input = the TA stage map (plus any other earlier tensor the tail reads, e.g. a
 * long skip connection), output = the FS stage map. Running it on ReLU(f − k) gives
 * FS+TA for any k without re-running the front of the network.
 */
export function tailModel(model: OnnxModel, taTensor: string, fsTensor: string): { model: OnnxModel; extraInputs: string[] } {
  const src = model.graph!;
  const index = new GraphIndex(src);
  if (!index.has(taTensor)) throw missing('TA stage', taTensor);
  if (!index.has(fsTensor)) throw missing('FS stage', fsTensor);
  const before = new Set(index.ancestors([taTensor]));
  const tail = index.ancestors([fsTensor]).filter((i) => !before.has(i));
  if (tail.length === 0) throw new FstaError('BAD_STAGES', `the FS stage "${fsTensor}" does not come after the TA stage "${taTensor}"`, 'pick a TA stage earlier than the FS stage (e.g. --ta-stage C4 with --fs-stage C5)');
  const nodes = tail.map((i) => index.nodes[i]!);
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const needed = new Set(nodes.flatMap((n) => n.input ?? []).filter((x) => x && !produced.has(x)));
  if (!needed.has(taTensor)) throw new FstaError('BAD_STAGES', `the FS stage "${fsTensor}" does not depend on the TA stage "${taTensor}"`, 'pick stages on one path through the network');
  const inits = (src.initializer ?? []).filter((t) => t.name && needed.has(t.name));
  const initNames = new Set(inits.map((t) => t.name));
  const extraInputs = [...needed].filter((x) => x !== taTensor && !initNames.has(x));
  const m = cloneModel({ ...model, graph: { name: 'fsta_tail', node: nodes, initializer: inits, input: [floatOutput(taTensor), ...extraInputs.map(floatOutput)], output: [floatOutput(fsTensor)] } });
  return { model: m, extraInputs };
}

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
