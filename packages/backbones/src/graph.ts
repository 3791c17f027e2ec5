/**
 * The structural view of a model graph that manifests match and select against.
 * Runtime-free on purpose: `@fsta/onnx` adapts a decoded ModelProto to it
 * (`toGraphView`), and tests can build one by hand.
 */
export interface GraphNode {
  /** Node name as the exporter wrote it, e.g. `/layer3/layer3.5/relu_2/Relu`. */
  readonly name: string;
  readonly opType: string;
  /** Input tensor names; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Numeric attributes where the adapter provides them (e.g. Gemm's transB, Clip's min before opset 11). */
  readonly attributes?: Readonly<Record<string, number | readonly number[]>>;
}

export interface GraphView {
  /** Nodes in topological order (ONNX requires it). */
  readonly nodes: readonly GraphNode[];
  /** Graph inputs that are not initializers. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly initializerNames: ReadonlySet<string>;
  /** Static shape of every tensor known, initializers included; -1 for a dimension unknown until run time. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Values of small constant tensors (scalars such as Clip bounds), where the adapter provides them. */
  readonly constants?: ReadonlyMap<string, readonly number[]>;
}

/** Module path of a node: `/backbone/body/layer3/layer3.5/relu_2/Relu` → ['backbone','body','layer3','layer3.5','relu_2']. */
export function modulePath(nodeName: string): string[] {
  const segs = nodeName.split('/').filter((s) => s !== '');
  return segs.slice(0, -1);
}

/** True when `nodeName` lies under module path `prefix` ('layer3' or 'backbone/body/layer3'). */
export function isUnder(nodeName: string, prefix: string): boolean {
  const want = prefix.split('/').filter((s) => s !== '');
  const have = modulePath(nodeName);
  return want.length > 0 && want.length <= have.length && want.every((s, i) => have[i] === s);
}

/** Producer node of each tensor and consumer nodes of each tensor. */
export interface GraphIndex {
  readonly producer: ReadonlyMap<string, GraphNode>;
  readonly consumers: ReadonlyMap<string, readonly GraphNode[]>;
}

const indexCache = new WeakMap<GraphView, GraphIndex>();

export function indexGraph(graph: GraphView): GraphIndex {
  const cached = indexCache.get(graph);
  if (cached) return cached;
  const producer = new Map<string, GraphNode>();
  const consumers = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o !== '') producer.set(o, n);
    for (const i of n.inputs) {
      if (i === '') continue;
      const list = consumers.get(i);
      if (list) list.push(n);
      else consumers.set(i, [n]);
    }
  }
  const index = { producer, consumers };
  indexCache.set(graph, index);
  return index;
}

/** Every tensor `tensor` is computed from (itself included), through node inputs; initializers are left out. */
export function ancestors(graph: GraphView, tensor: string): Set<string> {
  const { producer } = indexGraph(graph);
  const seen = new Set<string>();
  const stack = [tensor];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    for (const i of producer.get(t)?.inputs ?? []) if (i !== '' && !graph.initializerNames.has(i)) stack.push(i);
  }
  return seen;
}

/** Ops that only change a tensor's storage type or pass it through: weights behind them are still initializers. */
const PASS_THROUGH = new Set(['DequantizeLinear', 'Identity', 'Cast', 'QuantizeLinear']);

/** The initializer behind a tensor, looking through DequantizeLinear/Identity/Cast (int8 weight graphs). */
export function initializerBehind(graph: GraphView, tensor: string): string | null {
  const { producer } = indexGraph(graph);
  let t = tensor;
  for (let hops = 0; hops < 4; hops++) {
    if (graph.initializerNames.has(t)) return t;
    const p = producer.get(t);
    if (!p || !PASS_THROUGH.has(p.opType) || p.inputs[0] === undefined) return null;
    t = p.inputs[0];
  }
  return null;
}

/** Static shape of a tensor, or of the initializer behind it. */
export function shapeOf(graph: GraphView, tensor: string): readonly number[] | undefined {
  const s = graph.shapes.get(tensor);
  if (s) return s;
  const init = initializerBehind(graph, tensor);
  return init === null ? undefined : graph.shapes.get(init);
}

const ALWAYS_NON_NEGATIVE = new Set(['Relu', 'Sigmoid', 'Softplus', 'Softmax', 'Abs', 'Exp']);
/** Ops whose output is non-negative when every data input is. */
const KEEPS_SIGN = new Set(['Split', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'Concat', 'Identity', 'Dropout', 'Resize', 'Upsample', 'Reshape', 'Flatten', 'Transpose', 'Slice', 'Pad', 'QuantizeLinear', 'DequantizeLinear', 'Add', 'Max']);
/** Ops where a constant operand could be negative (a bias), so every input must be a non-negative tensor. */
const ALL_INPUTS_MATTER = new Set(['Add', 'Max', 'Concat']);
/** Data inputs that carry the sign (the rest are shapes, scales, pads). */
const DATA_INPUTS: Record<string, number> = { Resize: 1, Upsample: 1, Reshape: 1, Slice: 1, Pad: 1, QuantizeLinear: 1, DequantizeLinear: 1 };

/**
 * Whether a tensor is provably ≥ 0 (an activation output), from the ops that make it.
 * TA (ReLU(f − k)) is only meaningful on such tensors: on a linear block output it would
 * also zero every negative response.
 */
export function isNonNegative(graph: GraphView, tensor: string): boolean {
  let memo = signCache.get(graph);
  if (!memo) signCache.set(graph, (memo = new Map()));
  return nonNegative(graph, tensor, memo, 0);
}

const signCache = new WeakMap<GraphView, Map<string, boolean>>();

function nonNegative(graph: GraphView, tensor: string, memo: Map<string, boolean>, depth: number): boolean {
  const known = memo.get(tensor);
  if (known !== undefined) return known;
  // Deep enough for a chain of channel shuffles (ShuffleNet: Split, Concat, Reshape, Transpose per block); memoized.
  if (depth > 256) return false;
  const node = indexGraph(graph).producer.get(tensor);
  let result = false;
  if (!node) result = false;
  else if (ALWAYS_NON_NEGATIVE.has(node.opType)) result = true;
  else if (node.opType === 'Clip') {
    const attrMin = node.attributes?.['min'];
    const minInput = node.inputs[1];
    const min = typeof attrMin === 'number' ? attrMin : minInput ? graph.constants?.get(minInput)?.[0] : undefined;
    result = min !== undefined && min >= 0;
  } else if (KEEPS_SIGN.has(node.opType)) {
    const nData = DATA_INPUTS[node.opType] ?? node.inputs.length;
    const data = node.inputs.slice(0, nData).filter((i) => i !== '');
    if (ALL_INPUTS_MATTER.has(node.opType) && data.some((i) => graph.initializerNames.has(i) || graph.constants?.has(i))) result = false;
    else {
      const tensors = data.filter((i) => !graph.initializerNames.has(i));
      result = tensors.length > 0 && tensors.every((i) => nonNegative(graph, i, memo, depth + 1));
    }
  }
  memo.set(tensor, result);
  return result;
}

const CONV_OPS = new Set(['Conv', 'ConvInteger', 'QLinearConv', 'ConvTranspose']);
export const isConv = (opType: string): boolean => CONV_OPS.has(opType);

const afterConvCache = new WeakMap<GraphView, Set<string>>();

/** Whether any convolution lies between the graph inputs and `tensor`: without one it is the input or a preprocessing of it. */
export function hasConvAncestor(graph: GraphView, tensor: string): boolean {
  let after = afterConvCache.get(graph);
  if (!after) {
    after = new Set<string>();
    // Nodes are in topological order: one pass marks every tensor computed from a convolution's output.
    for (const n of graph.nodes) {
      if (CONV_OPS.has(n.opType) || n.inputs.some((i) => after!.has(i))) for (const o of n.outputs) if (o !== '') after.add(o);
    }
    afterConvCache.set(graph, after);
  }
  return after.has(tensor);
}

const permOf = (n: GraphNode): readonly number[] | undefined => {
  const p = n.attributes?.['perm'];
  return Array.isArray(p) ? p : undefined;
};
const isPerm = (p: readonly number[] | undefined, want: readonly number[]) => p !== undefined && p.length === want.length && p.every((d, i) => d === want[i]);

/**
 * Whether a 3-D tensor went through a Transpose since it was (N, C, L): walking back along
 * its data inputs (those computed from a convolution first), a Transpose comes before any
 * convolution or 4-D map. A ViT's tokens (N, L, C) and its attention's (L, N, C) tensors are.
 */
export function isPermutedTokens(graph: GraphView, tensor: string): boolean {
  const { producer } = indexGraph(graph);
  let t = tensor;
  for (let hops = 0; hops < 256; hops++) {
    const p = producer.get(t);
    if (!p || CONV_OPS.has(p.opType)) return false;
    if (p.opType === 'Transpose') return true;
    const data = p.inputs.filter((i) => i !== '' && !graph.initializerNames.has(i) && !graph.constants?.has(i) && hasConvAncestor(graph, i));
    if (data.some((i) => graph.shapes.get(i)?.length === 4)) return false;
    const next = data.find((i) => graph.shapes.get(i)?.length === 3);
    if (next === undefined) return false;
    t = next;
  }
  return true;
}

/**
 * Whether a 4-D tensor is channels-last (N, H, W, C): walking back along its data inputs,
 * a Transpose with perm [0, 2, 3, 1] comes before any convolution or Transpose back
 * (ConvNeXt's blocks run LayerNorm and their MLP between such transposes).
 */
export function isChannelsLast(graph: GraphView, tensor: string): boolean {
  const { producer } = indexGraph(graph);
  let t = tensor;
  for (let hops = 0; hops < 64; hops++) {
    const p = producer.get(t);
    if (!p || CONV_OPS.has(p.opType)) return false;
    if (p.opType === 'Transpose') return isPerm(permOf(p), [0, 2, 3, 1]);
    const next = p.inputs.find((i) => i !== '' && !graph.initializerNames.has(i) && !graph.constants?.has(i) && graph.shapes.get(i)?.length === 4);
    if (next === undefined) return false;
    t = next;
  }
  return false;
}
