import type { Tensor } from '@tensorflow/tfjs-core';
import { FstaError } from '@fsta/core';
import { findBackbone, STAGE_NAMES } from '@fsta/backbones';
import type { BackboneResolution } from '@fsta/backbones';
import type { TfNamespace } from './ops.js';
import type { GraphModelLike } from './runners.js';
import { tfjsGraphView } from './graph-view.js';
import type { Layout, TfGraphView, TfNodeDef } from './graph-view.js';

/** A tfjs graph's stages, found by @fsta/backbones on its GraphView. */
export interface TfjsStages {
  /** C2…C5 (those found), default FS/TA stages, where TA goes, warnings; tensor names are tfjs node names. */
  readonly resolution: BackboneResolution;
  readonly view: TfGraphView;
  /** The image input and its layout. */
  readonly input: string;
  readonly inputLayout: Layout;
  /** Physical layout of a tensor of the graph (stage tensors always have one). */
  layoutOf(tensor: string): Layout;
}

const MAX_CONSTANT = 16;

/**
 * Finds the stages of a tfjs GraphModel with no manifest: its model.json topology becomes
 * a GraphView (`tfjsGraphView`) with the shapes of one blank run, and @fsta/backbones'
 * automatic detection runs on it, as for an ONNX model. Refuses (FstaError) where the
 * topology is missing, the input size is dynamic, or a stage lands on a tensor whose
 * layout or existence in the tfjs graph is unknown.
 */
export function discoverStages(tf: TfNamespace, model: GraphModelLike, options: { inputName?: string; layout?: Layout } = {}): TfjsStages {
  // tfjs-converter's GraphModel keeps model.json in `artifacts` (private in its typings, but there at run time).
  const artifacts = (model as unknown as { artifacts?: { modelTopology?: { node?: TfNodeDef[] } } }).artifacts;
  const nodes = artifacts?.modelTopology?.node;
  if (!Array.isArray(nodes)) {
    throw new FstaError('NO_TOPOLOGY', 'the graph model carries no model.json topology to find its stages in', 'load it with tf.loadGraphModel (which keeps the topology), or name the stages yourself (stages: { fs, ta })');
  }
  const input = model.inputs.find((i) => i.name === (options.inputName ?? model.inputs[0]?.name));
  const shape = input?.shape ?? [];
  if (!input || shape.length !== 4 || shape.some((d) => !(d > 0))) {
    throw new FstaError('DYNAMIC_SHAPE', `the image input ${input ? `"${input.name}" has shape [${shape.join(', ')}]` : 'is missing'}; stage discovery runs the graph once on a blank image of the input's static shape`, 'convert the model with a fixed input size, or name the stages yourself (stages: { fs, ta })');
  }

  const constants = new Map<string, readonly number[]>();
  for (const n of nodes) {
    if (n.op !== 'Const') continue;
    const t = model.weights?.[n.name]?.[0];
    if (t && t.size <= MAX_CONSTANT && t.dtype !== 'string') constants.set(n.name, Array.from(t.dataSync() as ArrayLike<number>));
  }
  // Every tensor's shape, from one run on a blank image: static inference cannot follow every TF op, tfjs can.
  const computed = nodes.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder' && n.op !== 'NoOp').map((n) => n.name);
  const extraOutputs = [...new Set(nodes.flatMap((n) => (n.input ?? []).filter((i) => /:[1-9]\d*$/.test(i) && !i.startsWith('^'))))];
  const wanted = [...computed, ...extraOutputs];
  const shapes = new Map<string, readonly number[]>([[input.name, shape]]);
  const x = tf.zeros(shape);
  try {
    const outs = model.execute({ [input.name]: x }, wanted);
    const list: Tensor[] = Array.isArray(outs) ? outs : [outs];
    list.forEach((t, i) => shapes.set(wanted[i]!, t.shape));
    tf.dispose(list);
  } catch (e) {
    throw new FstaError('MODEL_RUN', `the graph model failed to run on a blank ${shape.join('x')} input while measuring its tensor shapes (${(e as Error).message})`, 'check that the model runs on this tfjs backend, or name the stages yourself (stages: { fs, ta })');
  } finally {
    x.dispose();
  }

  const view = tfjsGraphView(nodes, { input: input.name, outputs: model.outputs.map((o) => o.name), shapes, constants, ...(options.layout ? { inputLayout: options.layout } : {}) });
  const resolution = findBackbone(view.graph, 'auto');
  const layoutOf = (tensor: string): Layout => {
    const l = view.layouts.get(tensor);
    if (view.synthetic.has(tensor) || l === undefined) {
      throw new FstaError('LAYOUT_UNKNOWN', `the stage tensor "${tensor}" ${view.synthetic.has(tensor) ? 'is not a node of the tfjs graph (a fused convolution before its activation)' : 'has no layout fsta could follow from the input (NHWC or NCHW)'}`, 'name the stages yourself (stages: { fs, ta }) and the layout (layout: "NHWC" | "NCHW")');
    }
    return l;
  };
  for (const s of STAGE_NAMES) {
    const st = resolution.stages[s];
    if (st) layoutOf(st.tensor);
  }
  return { resolution, view, input: input.name, inputLayout: view.layouts.get(input.name)!, layoutOf };
}
