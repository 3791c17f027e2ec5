import { FstaError } from '@fsta/core';
import type { GraphNode, GraphView } from '@fsta/backbones';

/*
 * A tfjs GraphModel's topology (the GraphDef JSON in model.json) as @fsta/backbones'
 * runtime-neutral GraphView, so that the one stage discovery that serves ONNX models
 * serves tfjs graphs too. Runtime-free: the measured tensor shapes and the values of
 * small constants come in from the caller.
 */

export type Layout = 'NHWC' | 'NCHW';

/** One node of model.json's `modelTopology.node`. */
export interface TfNodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { s?: string; i?: string | number; f?: number; b?: boolean; list?: { i?: (string | number)[]; s?: string[] } } | undefined>;
}

export interface TfGraphViewOptions {
  /** The image input (a Placeholder's name). */
  input: string;
  /** The model's output tensors. */
  outputs: readonly string[];
  /** Physical shape of every tensor computed (node name, or `name:i` for output i > 0), as run. */
  shapes: ReadonlyMap<string, readonly number[]>;
  /** Values of small constants (transpose perms, reduction axes), by Const node name. */
  constants: ReadonlyMap<string, readonly number[]>;
  /** Layout of the image input when its shape does not say (a channel count of 1, 3 or 4 on exactly one side). */
  inputLayout?: Layout;
}

export interface TfGraphView {
  /** Every 4-D shape in it is NCHW, whatever the tensor's layout in the tfjs graph. */
  graph: GraphView;
  /** Physical layout of each 4-D tensor of the graph whose layout is known. */
  layouts: ReadonlyMap<string, Layout>;
  /** Tensors of the view that the tfjs graph does not have (a fused conv before its fused activation). */
  synthetic: ReadonlySet<string>;
}

/** Ops that read and write in their `data_format` (NHWC unless it says otherwise). */
const FORMATTED = new Set(['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative', 'MaxPool', 'AvgPool', 'Conv2DBackpropInput', 'FusedBatchNorm', 'FusedBatchNormV3']);
/** Resize ops have no data_format: always NHWC. */
const RESIZE = new Set(['ResizeBilinear', 'ResizeNearestNeighbor']);
/** Ops whose output has the layout of their 4-D inputs. */
const SAME_LAYOUT = new Set(['Add', 'AddV2', 'AddN', 'BiasAdd', 'Sub', 'Mul', 'RealDiv', 'Div', 'Maximum', 'Minimum', 'Relu', 'Relu6', 'LeakyRelu', 'Elu', 'Selu', 'Sigmoid', 'Tanh', 'Prelu', 'Identity', 'Pad', 'PadV2', 'MirrorPad', 'ConcatV2', 'Concat', 'Mean', 'Max', 'Split', 'SplitV', 'Square', 'Sqrt', 'Rsqrt', 'Neg', 'Abs', 'Exp', 'Softplus', 'Cast']);
const PADS = new Set(['Pad', 'PadV2', 'MirrorPad']);

/** TF op → the ONNX op type @fsta/backbones reasons about. */
const OP_TYPES: Record<string, string> = {
  Conv2D: 'Conv', _FusedConv2D: 'Conv', DepthwiseConv2dNative: 'Conv', FusedDepthwiseConv2dNative: 'Conv', Conv2DBackpropInput: 'ConvTranspose',
  MaxPool: 'MaxPool', AvgPool: 'AveragePool', ResizeBilinear: 'Resize', ResizeNearestNeighbor: 'Resize',
  Add: 'Add', AddV2: 'Add', BiasAdd: 'Add', AddN: 'Sum', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Div: 'Div', Maximum: 'Max', Minimum: 'Min',
  Relu: 'Relu', Relu6: 'Clip', LeakyRelu: 'LeakyRelu', Elu: 'Elu', Selu: 'Selu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Prelu: 'PRelu', Softmax: 'Softmax', Abs: 'Abs', Exp: 'Exp', Softplus: 'Softplus',
  Identity: 'Identity', ConcatV2: 'Concat', Concat: 'Concat', Mean: 'ReduceMean', Max: 'ReduceMax', Sum: 'ReduceSum', Reshape: 'Reshape', Squeeze: 'Squeeze', Transpose: 'Transpose',
  MatMul: 'MatMul', _FusedMatMul: 'MatMul', Pad: 'Pad', PadV2: 'Pad', MirrorPad: 'Pad', Split: 'Split', SplitV: 'Split', Cast: 'Cast', FusedBatchNorm: 'BatchNormalization', FusedBatchNormV3: 'BatchNormalization',
};
/** Activations tfjs fuses into a conv (`fused_ops`), as ONNX ops. */
const FUSED_ACTIVATIONS: Record<string, string> = { Relu: 'Relu', Relu6: 'Clip', LeakyRelu: 'LeakyRelu', Elu: 'Elu', Prelu: 'PRelu', Sigmoid: 'Sigmoid', Tanh: 'Tanh' };

const decode = (b64: string | undefined): string | undefined => (b64 === undefined ? undefined : atob(b64));
const ints = (v: (string | number)[] | undefined) => (v ?? []).map(Number);
/** `name:0` and `name` are the same tensor; `^name` is a control edge. */
const tensorName = (ref: string) => (ref.endsWith(':0') ? ref.slice(0, -2) : ref);
const toNchw = (s: readonly number[]) => [s[0]!, s[3]!, s[1]!, s[2]!];

function inputLayoutOf(shape: readonly number[] | undefined, given: Layout | undefined, input: string): Layout {
  if (given) return given;
  const s = shape ?? [];
  const small = (d: number | undefined) => d === 1 || d === 3 || d === 4;
  if (s.length === 4 && small(s[3]) && !small(s[1])) return 'NHWC';
  if (s.length === 4 && small(s[1]) && !small(s[3])) return 'NCHW';
  throw new FstaError('LAYOUT_UNKNOWN', `the image input "${input}" has shape [${s.join(', ')}], which does not say whether it is NHWC or NCHW`, "pass layout: 'NHWC' or 'NCHW'");
}

/** Nodes in an order where every input comes first (model.json does not promise one). */
function topological(nodes: readonly TfNodeDef[]): TfNodeDef[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 1 | 2>();
  const out: TfNodeDef[] = [];
  for (const root of nodes) {
    const stack: [TfNodeDef, number][] = [[root, 0]];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [n, i] = top;
      if (i === 0) {
        if (state.get(n.name) === 2) { stack.pop(); continue; }
        state.set(n.name, 1);
      }
      const ins = n.input ?? [];
      if (i < ins.length) {
        top[1]++;
        const dep = byName.get(ins[i]!.replace(/^\^/, '').split(':')[0]!);
        if (!dep || state.get(dep.name) === 2) continue;
        if (state.get(dep.name) === 1) throw new FstaError('CYCLIC_GRAPH', `the tfjs graph has a cycle through node "${dep.name}"`, 'convert the model again with tensorflowjs_converter; fsta reads acyclic GraphDefs only');
        stack.push([dep, 0]);
      } else {
        state.set(n.name, 2);
        out.push(n);
        stack.pop();
      }
    }
  }
  return out;
}

/**
 * model.json topology → GraphView. Every 4-D tensor whose layout follows from the input's
 * and the ops' data formats gets its NCHW shape; transposes that only switch layout
 * (onnx-tf wraps each conv in a pair) and explicit pads before a convolution or pooling
 * are looked through, so that the view has the structure of the network, not of its
 * conversion. A conv with a fused activation becomes a Conv and the activation node.
 */
export function tfjsGraphView(nodes: readonly TfNodeDef[], o: TfGraphViewOptions): TfGraphView {
  const order = topological(nodes);
  const consts = new Set(order.filter((n) => n.op === 'Const').map((n) => n.name));
  const layouts = new Map<string, Layout>();
  const alias = new Map<string, string>();
  const real = (t: string) => alias.get(t) ?? t;
  const phys = (t: string) => o.shapes.get(t);
  const inShape = phys(o.input);
  layouts.set(o.input, inputLayoutOf(inShape, o.inputLayout, o.input));

  const viewNodes: GraphNode[] = [];
  const synthetic = new Set<string>();
  const known = new Map<string, readonly number[]>();
  for (const n of order) {
    if (n.op === 'Const' || n.op === 'Placeholder' || n.op === 'NoOp') continue;
    const ins = (n.input ?? []).filter((i) => !i.startsWith('^')).map(tensorName);
    const data = ins.filter((i) => !consts.has(i));
    const out = n.name;
    const shape = phys(out);
    const fmt = RESIZE.has(n.op) ? 'NHWC' : FORMATTED.has(n.op) ? ((decode(n.attr?.['data_format']?.s) ?? 'NHWC') as Layout) : null;
    // Layouts are of the tensors as tfjs computes them (a transpose's output included), not of their aliases.
    const inLayout = (t: string) => layouts.get(t);

    let layout: Layout | undefined;
    if (fmt !== null) {
      layout = inLayout(data[0] ?? '') === fmt ? fmt : undefined;
    } else if (n.op === 'Transpose' && shape?.length === 4) {
      const perm = o.constants.get(ins[1] ?? '')?.join(',');
      const from = inLayout(data[0] ?? '');
      if (perm === '0,1,2,3') layout = from;
      else if (from === 'NCHW' && perm === '0,2,3,1') layout = 'NHWC';
      else if (from === 'NHWC' && perm === '0,3,1,2') layout = 'NCHW';
      if (layout !== undefined) {
        // Same logical tensor in another layout: the view keeps one name for it.
        layouts.set(out, layout);
        alias.set(out, real(data[0]!));
        continue;
      }
    } else if (SAME_LAYOUT.has(n.op) && shape?.length === 4) {
      const seen = new Set(data.filter((t) => phys(t)?.length === 4).map(inLayout));
      layout = seen.size === 1 ? [...seen][0] : undefined;
    }
    if (layout !== undefined && shape?.length === 4) layouts.set(out, layout);

    const op = OP_TYPES[n.op] ?? n.op;
    const attributes: Record<string, number | readonly number[]> = {};
    const spatial = (v: number[]) => (v.length === 4 ? (fmt === 'NCHW' ? v.slice(2) : v.slice(1, 3)) : v);
    const strides = ints(n.attr?.['strides']?.list?.i);
    if (strides.length) attributes['strides'] = spatial(strides);
    const dil = ints(n.attr?.['dilations']?.list?.i);
    if (dil.length) attributes['dilations'] = spatial(dil);
    if (n.op === 'Relu6') Object.assign(attributes, { min: 0, max: 6 });
    if (n.op === 'LeakyRelu') attributes['alpha'] = n.attr?.['alpha']?.f ?? 0.2;
    if (n.op === 'Transpose') {
      const perm = o.constants.get(ins[1] ?? '');
      if (perm) attributes['perm'] = perm;
    }
    if ((n.op === 'Mean' || n.op === 'Max' || n.op === 'Sum') && layout !== undefined) {
      const axes = o.constants.get(ins[1] ?? '');
      const nhwcToNchw = [0, 2, 3, 1];
      if (axes) attributes['axes'] = layout === 'NHWC' ? axes.map((a) => nhwcToNchw[a < 0 ? a + 4 : a]!) : axes;
    }

    const outputs = [out];
    const fused = (n.attr?.['fused_ops']?.list?.s ?? []).map((s) => atob(s)).filter((f) => f !== 'BiasAdd' && f !== 'FusedBatchNorm');
    const act = fused.length === 1 ? FUSED_ACTIVATIONS[fused[0]!] : undefined;
    if (fused.length > 1 || (fused.length === 1 && act === undefined)) {
      throw new FstaError('NOT_SUPPORTED', `node "${n.name}" (${n.op}) fuses ${fused.join(' + ')}, which fsta's graph reading does not know`, 'name the stages yourself (stages: { fs, ta })');
    }
    // Multi-output nodes (Split, TopK): output i > 0 is `name:i`.
    for (let i = 1; o.shapes.has(`${out}:${i}`); i++) outputs.push(`${out}:${i}`);
    const inputs = ins.map(real);
    if (act !== undefined) {
      const pre = `${out}/fsta:pre-activation`;
      synthetic.add(pre);
      viewNodes.push({ name: `${n.name}/fsta:conv`, opType: op, inputs, outputs: [pre], attributes });
      viewNodes.push({ name: n.name, opType: act, inputs: [pre], outputs, attributes: fused[0] === 'Relu6' ? { min: 0, max: 6 } : {} });
      if (layout !== undefined && shape) layouts.set(pre, layout);
      if (shape) known.set(pre, shape);
    } else {
      viewNodes.push({ name: n.name, opType: op, inputs, outputs, attributes });
    }
    if (shape) known.set(out, shape);
  }

  // Explicit pads (onnx-tf's, before VALID convolutions and pools) change the map size but not
  // the network's structure: where every consumer is a conv or pool, read through them.
  const consumers = new Map<string, GraphNode[]>();
  for (const v of viewNodes) for (const i of v.inputs) consumers.set(i, [...(consumers.get(i) ?? []), v]);
  const padAlias = new Map<string, string>();
  for (const v of viewNodes) {
    const users = consumers.get(v.outputs[0]!) ?? [];
    if (v.opType === 'Pad' && users.length > 0 && users.every((u) => ['Conv', 'MaxPool', 'AveragePool'].includes(u.opType))) padAlias.set(v.outputs[0]!, v.inputs[0]!);
  }
  const graphNodes = viewNodes.filter((v) => !padAlias.has(v.outputs[0]!)).map((v) => (v.inputs.some((i) => padAlias.has(i)) ? { ...v, inputs: v.inputs.map((i) => padAlias.get(i) ?? i) } : v));

  const shapes = new Map<string, readonly number[]>();
  for (const [t, s] of known) {
    if (s.length !== 4) shapes.set(t, s);
    else if (layouts.has(t)) shapes.set(t, layouts.get(t) === 'NHWC' ? toNchw(s) : s);
    // A 4-D tensor of unknown layout gets no shape: it cannot be taken for a feature map.
  }
  if (inShape) shapes.set(o.input, layouts.get(o.input) === 'NHWC' ? toNchw(inShape) : inShape);
  for (const c of consts) {
    const v = o.constants.get(c);
    if (v) shapes.set(c, [v.length]);
  }
  const graph: GraphView = {
    nodes: graphNodes,
    inputs: [o.input],
    outputs: o.outputs.map((t) => real(tensorName(t))),
    initializerNames: consts,
    shapes,
    constants: o.constants,
  };
  return { graph, layouts, synthetic };
}
