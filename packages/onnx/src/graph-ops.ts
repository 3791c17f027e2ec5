import { FstaError, type TensorOps } from '@fsta/core';
import { attr } from './attributes.js';
import { float32Initializer, int64Initializer } from './tensor.js';
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './types.js';

/** A tensor in a graph being built: its name and static shape (-1 where known only at run time). */
export interface GraphTensor {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * Collects the nodes and initializers that formulas append, with unique names under
 * a prefix (default 'fsta/'), for a given default-domain opset.
 */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private count = 0;

  constructor(
    readonly opset: number,
    readonly prefix = 'fsta/',
    private readonly taken: ReadonlySet<string> = new Set(),
  ) {
    if (!(opset >= 13)) throw new FstaError('UNSUPPORTED_OPSET', `the model uses opset ${opset}; fsta's graph ops need opset 13 or newer`, 're-export the model with opset_version=13 or newer');
  }

  /** A fresh tensor name that collides with nothing in the model. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}${hint}_${this.count++}`;
    while (this.taken.has(name));
    return name;
  }

  /** Wraps an existing tensor of the model (a stage output, the logits). */
  tensor(name: string, shape: readonly number[]): GraphTensor {
    return { name, shape: [...shape] };
  }

  node(opType: string, inputs: readonly string[], attributes: OnnxAttribute[] = [], outputs = 1): string[] {
    for (const x of inputs) this.materialize(x);
    const out = Array.from({ length: outputs }, () => this.fresh(opType));
    this.nodes.push({ opType, input: [...inputs], output: out, name: out[0], ...(attributes.length ? { attribute: attributes } : {}) });
    return out;
  }

  private readonly pending = new Map<string, OnnxTensor>();

  /**
   * A float constant whose initializer is added only when a node made by `node()` reads
   * it (or `materialize` is called): a constant an op folds into another form (the TA
   * threshold in BatchNormalization) leaves no unused initializer, which onnxruntime warns about.
   */
  lazyFloatConst(data: Float32Array | readonly number[], shape: readonly number[]): string {
    const name = this.fresh('const');
    this.pending.set(name, float32Initializer(name, data, shape));
    return name;
  }

  /** Adds a lazy constant's initializer, if `name` is one not added yet. */
  materialize(name: string): void {
    const t = this.pending.get(name);
    if (t === undefined) return;
    this.initializers.push(t);
    this.pending.delete(name);
  }

  floatConst(data: Float32Array | readonly number[], shape: readonly number[]): string {
    const name = this.fresh('const');
    this.initializers.push(float32Initializer(name, data, shape));
    return name;
  }

  intConst(data: readonly number[], shape: readonly number[] = [data.length]): string {
    const name = this.fresh('ints');
    this.initializers.push(int64Initializer(name, data, shape));
    return name;
  }
}

const normAxes = (axes: readonly number[], rank: number) => {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  for (const a of out) if (a < 0 || a >= rank) throw new FstaError('BAD_AXIS', `axis ${a} is out of range for a rank-${rank} tensor`, 'use axes in [-rank, rank)');
  return [...new Set(out)].sort((a, b) => a - b);
};

function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x === 1) return y;
    if (y === 1 || x === y) return x;
    if (x === -1 || y === -1) return Math.max(x, y);
    throw new FstaError('SHAPE_MISMATCH', `cannot broadcast shapes [${a.join(', ')}] and [${b.join(', ')}]`, 'make trailing dimensions equal or 1');
  });
}

const reduced = (shape: readonly number[], axes: readonly number[], keep: boolean) => (keep ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i)));

/**
 * The tensor-ops contract as an ONNX emitter: every call appends nodes to `b` and
 * returns the output's name and static shape. Formulas written against `TensorOps`
 * (core's featureSim, thresholdActivation, classifier scores, fusion) thereby become
 * graph nodes with no second copy of the formula.
 */
export function graphOps(b: GraphBuilder): TensorOps<GraphTensor> {
  const t = (name: string, shape: readonly number[]): GraphTensor => ({ name, shape: [...shape] });
  const one = (op: string, inputs: string[], attrs: OnnxAttribute[] = []) => b.node(op, inputs, attrs)[0]!;
  const bin = (op: string) => (x: GraphTensor, y: GraphTensor) => t(one(op, [x.name, y.name]), broadcastShapes(x.shape, y.shape));
  const un = (op: string) => (x: GraphTensor) => t(one(op, [x.name]), x.shape);

  /** Reductions: `axes` is an attribute before opset 18 (ReduceSum: 13) and an input from then on. */
  const reduce = (op: string, x: GraphTensor, axes0: readonly number[], keep = false) => {
    const axes = normAxes(axes0, x.shape.length);
    const asInput = b.opset >= 18 || (op === 'ReduceSum' && b.opset >= 13);
    const keepAttr = attr.int('keepdims', keep ? 1 : 0);
    const name = asInput ? one(op, [x.name, b.intConst(axes)], [keepAttr]) : one(op, [x.name], [attr.ints('axes', axes), keepAttr]);
    return t(name, reduced(x.shape, axes, keep));
  };
  /**
   * Sums and means over several axes reduce one axis at a time, last axis first:
   * onnxruntime accumulates in float32, and one pass over a whole C5 map (FCN: 2048x28x28
   * = 1.6M values) drifts ~4e-5 from the exact mean; short per-axis passes stay ~1e-7.
   * Dropping the highest axis first keeps the lower axes' indices valid.
   */
  const reduceByAxis = (op: 'ReduceSum' | 'ReduceMean', x: GraphTensor, axes0: readonly number[], keep = false) => {
    const axes = normAxes(axes0, x.shape.length);
    if (axes.length < 2) return reduce(op, x, axes, keep);
    let y = x;
    for (const a of [...axes].sort((p, q) => q - p)) y = reduce(op, y, [a], keep);
    return y;
  };
  /**
   * Means over all spatial axes of an (N, C, …) map become GlobalAveragePool: onnxruntime
   * runs it in its blocked NCHWc layout next to the convolutions, where ReduceMean would
   * force a reorder of the whole stage map back to NCHW (MobileNetV2 batch 16: the FS
   * reductions and reorders were ~10% of kernel time). It also sums each channel's H·W
   * values in one short pass, so float32 precision is that of the per-axis reductions.
   * A mean that also covers C pools first and then averages the C channel means.
   */
  const mean = (x: GraphTensor, axes0: readonly number[], keep = false): GraphTensor => {
    const rank = x.shape.length;
    const axes = normAxes(axes0, rank);
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    const from = axes[0] === 1 ? 1 : 2;
    const poolable = rank >= 3 && axes.length === rank - from && axes.every((a, i) => a === i + from);
    if (!poolable) return reduceByAxis('ReduceMean', x, axes, keep);
    const pooled = t(one('GlobalAveragePool', [x.name]), reduced(x.shape, spatial, true));
    if (from === 1) return keep ? reduce('ReduceMean', pooled, [1], true) : reduce('ReduceMean', flatten(pooled), [1], false);
    return keep ? pooled : flatten(pooled);
  };
  /** (N, C, 1, …, 1) → (N, C). */
  const flatten = (x: GraphTensor) => t(one('Flatten', [x.name], [attr.int('axis', 1)]), x.shape.slice(0, 2));

  /** Values of the one-element constants made here, by name (what subConstant can fold). */
  const scalars = new Map<string, number>();
  /**
   * x − c for a map (N, C, H, W) with C known and a one-element constant c, as
   * BatchNormalization(scale 1, bias −c, mean 0, var 1, epsilon 0): y = x·1 + (−c), the
   * same float32 rounding as Sub. onnxruntime's NCHWc transformer turns it into a 1x1
   * depthwise convolution in the blocked layout the convolutions around it use and fuses
   * a following Relu into it, where Sub would reorder the whole map out to NCHW and back
   * (TA = ReLU(f − k) on MobileNetV2's C4, batch 16: four passes over 7 MB instead of one).
   */
  const subConstant = (x: GraphTensor, c: number): GraphTensor | null => {
    const C = x.shape[1] ?? -1;
    if (x.shape.length !== 4 || !(C > 0)) return null;
    const fill = (v: number) => b.floatConst(new Float32Array(C).fill(v), [C]);
    const ones = fill(1);
    return t(one('BatchNormalization', [x.name, ones, fill(-c), fill(0), ones], [attr.float('epsilon', 0)]), x.shape);
  };

  const ops: TensorOps<GraphTensor> = {
    name: 'onnx-graph',
    shape: (x) => x.shape,
    constant: (data, shape) => {
      const c = t(b.lazyFloatConst(data, shape), shape);
      if (data.length === 1) scalars.set(c.name, Math.fround(data[0]!));
      return c;
    },

    add: bin('Add'),
    sub: (x, y) => (scalars.has(y.name) && y.shape.length === 0 ? subConstant(x, scalars.get(y.name)!) : null) ?? bin('Sub')(x, y),
    mul: bin('Mul'),
    div: bin('Div'),
    maximum: bin('Max'),
    greater: (x, y) => t(one('Cast', [one('Greater', [x.name, y.name])], [attr.int('to', 1)]), broadcastShapes(x.shape, y.shape)),

    abs: un('Abs'),
    neg: un('Neg'),
    relu: un('Relu'),
    clamp: (x, min, max) => t(one('Clip', [x.name, min === undefined ? '' : b.floatConst([min], []), max === undefined ? '' : b.floatConst([max], [])]), x.shape),
    exp: un('Exp'),
    log: un('Log'),
    sqrt: un('Sqrt'),
    square: (x) => t(one('Mul', [x.name, x.name]), x.shape),

    sum: (x, axes, keep) => reduceByAxis('ReduceSum', x, axes, keep),
    mean,
    max: (x, axes, keep) => reduce('ReduceMax', x, axes, keep),
    min: (x, axes, keep) => reduce('ReduceMin', x, axes, keep),
    logsumexp: (x, axes, keep) => reduce('ReduceLogSumExp', x, axes, keep),
    softmax: (x, axis) => t(one('Softmax', [x.name], [attr.int('axis', normAxes([axis], x.shape.length)[0]!)]), x.shape),

    percentile(x, q, axis0, keep = false) {
      if (!(q >= 0 && q <= 100)) throw new FstaError('BAD_PERCENTILE', `percentile ${q} is outside [0, 100]`, 'pass q between 0 and 100');
      const axis = normAxes([axis0], x.shape.length)[0]!;
      const n = x.shape[axis]!;
      if (n <= 0) throw new FstaError('NOT_SUPPORTED_IN_GRAPH', `percentile along axis ${axis} needs its length when the graph is built, but it is only known at run time`, 'take percentiles along an axis of fixed size (channels or spatial), not the batch axis');
      // Ascending sort with TopK(largest=0), then NumPy's linear interpolation.
      const [sorted] = b.node('TopK', [x.name, b.intConst([n])], [attr.int('axis', axis), attr.int('largest', 0), attr.int('sorted', 1)], 2);
      const pos = (q / 100) * (n - 1);
      const lo = Math.floor(pos), hi = Math.ceil(pos), frac = pos - lo;
      const shape = reduced(x.shape, [axis], keep);
      const pick = (i: number) => one('Gather', [sorted!, keep ? b.intConst([i]) : b.intConst([i], [])], [attr.int('axis', axis)]);
      const vlo = pick(lo);
      if (hi === lo || frac === 0) return t(vlo, shape);
      const vhi = pick(hi);
      return t(one('Add', [vlo, one('Mul', [one('Sub', [vhi, vlo]), b.floatConst([frac], [])])]), shape);
    },
    topk(x, k) {
      const d = x.shape[x.shape.length - 1]!;
      if (!(k >= 1 && (d < 0 || k <= d))) throw new FstaError('BAD_K', `topk k=${k} is outside [1, ${d}]`, 'pass k between 1 and the last dimension');
      const [values] = b.node('TopK', [x.name, b.intConst([k])], [attr.int('axis', -1), attr.int('largest', 1), attr.int('sorted', 1)], 2);
      return t(values!, [...x.shape.slice(0, -1), k]);
    },

    matmul(x, w) {
      if (w.shape.length !== 2) throw new FstaError('SHAPE_MISMATCH', `matmul needs a 2-D right operand, got [${w.shape.join(', ')}]`, 'reshape the weight to (K, P)');
      return t(one('MatMul', [x.name, w.name]), [...x.shape.slice(0, -1), w.shape[1]!]);
    },
    linear(x, w, bias) {
      if (w.shape.length !== 2) throw new FstaError('SHAPE_MISMATCH', `linear weight must be (out, in), got [${w.shape.join(', ')}]`, 'pass the head weight as a 2-D tensor');
      const [O, D] = w.shape as [number, number];
      const d = x.shape[x.shape.length - 1]!;
      if (d !== D && d !== -1) throw new FstaError('SHAPE_MISMATCH', `linear input has ${d} features but the weight expects ${D}`, 'pass penultimate features that match the head');
      const shape = [...x.shape.slice(0, -1), O];
      if (x.shape.length === 2) return t(one('Gemm', bias ? [x.name, w.name, bias.name] : [x.name, w.name], [attr.int('transB', 1)]), shape);
      const mm = one('MatMul', [x.name, one('Transpose', [w.name], [attr.ints('perm', [1, 0])])]);
      return t(bias ? one('Add', [mm, bias.name]) : mm, shape);
    },

    reshape(x, shape) {
      const dims = shape.map((s, i) => (s === 0 ? x.shape[i]! : s));
      const known = x.shape.every((d) => d >= 0);
      const size = x.shape.reduce((a, c) => a * c, 1);
      const rest = dims.filter((d) => d !== -1).reduce((a, c) => a * c, 1);
      const out = dims.map((d) => (d === -1 ? (known && rest > 0 ? size / rest : -1) : d));
      return t(one('Reshape', [x.name, b.intConst(shape)]), out);
    },
    transpose: (x, perm) => t(one('Transpose', [x.name], [attr.ints('perm', perm)]), perm.map((p) => x.shape[p]!)),
    slice(x, axis0, start, end) {
      const axis = normAxes([axis0], x.shape.length)[0]!;
      const n = x.shape[axis]!;
      if (!(Number.isInteger(start) && start >= 0 && (end === undefined || (Number.isInteger(end) && end >= start && (n < 0 || end <= n))) && (n < 0 || start <= n))) throw new FstaError('BAD_AXIS', `slice ${start}…${end ?? 'end'} is outside axis ${axis} of length ${n}`, 'pass 0 ≤ start ≤ end ≤ the axis length');
      // INT64_MAX as ONNX's "to the end" when no end is given (the length may be known only at run time).
      const e = end ?? Number.MAX_SAFE_INTEGER;
      const len = end !== undefined ? end - start : n < 0 ? -1 : n - start;
      return t(one('Slice', [x.name, b.intConst([start]), b.intConst([e]), b.intConst([axis])]), x.shape.map((d, i) => (i === axis ? len : d)));
    },
    // Graph tensors are names; nothing to free.
    dispose: () => {},
  };
  return ops;
}

