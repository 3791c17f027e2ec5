import { defaultOpset, toNumber } from './proto.js';
import { tensorDims, tensorToNumbers } from './tensor.js';
import { attrInt, attrInts, attrString, attrTensor, attrFloat } from './attributes.js';
import { GraphIndex } from './graph-index.js';
import type { OnnxModel, OnnxNode, OnnxValueInfo } from './types.js';

/** A dimension: a number, or a symbol (the dim_param, e.g. 'batch') when only known at run time. */
export type Dim = number | string;
export type Shape = Dim[];

/** Symbol for a dimension this inference could not work out. */
export const UNKNOWN_DIM = '?';

const isNum = (d: Dim | undefined): d is number => typeof d === 'number';
const allNum = (s: readonly Dim[]): s is number[] => s.every(isNum);
const prod = (s: readonly Dim[]): Dim => {
  if (allNum(s)) return s.reduce((a, b) => a * b, 1);
  const syms = s.filter((d) => !isNum(d) || d !== 1);
  return syms.length === 1 ? syms[0]! : UNKNOWN_DIM;
};

function broadcast(a: Shape, b: Shape): Shape | undefined {
  const r = Math.max(a.length, b.length);
  const out: Shape = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || x === y) out.push(x);
    else if (isNum(x) && isNum(y)) return undefined;
    else out.push(isNum(x) ? x : isNum(y) ? y : x);
  }
  return out;
}

const valueInfoShape = (v: OnnxValueInfo): Shape | undefined => {
  const dims = v.type?.tensorType?.shape?.dim;
  if (!dims) return undefined;
  return dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null ? toNumber(d.dimValue) : d.dimParam || UNKNOWN_DIM));
};

/** Output size of one spatial axis of a convolution or pooling window. */
function window(inp: Dim, k: number, stride: number, dil: number, pb: number, pe: number, autoPad: string, ceil: boolean): Dim {
  if (!isNum(inp)) return UNKNOWN_DIM;
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(inp / stride);
  const ek = dil * (k - 1) + 1;
  if (autoPad === 'VALID') return Math.floor((inp - ek) / stride) + 1;
  const span = (inp + pb + pe - ek) / stride;
  let out = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
  // With ceil_mode the last window must start inside the (left-padded) input.
  if (ceil && (out - 1) * stride >= inp + pb) out--;
  return out;
}

/**
 * Static shape inference for the ops CNN exports use. Returns tensor name → shape;
 * undefined where the shape cannot be worked out (unknown ops, data-dependent
 * shapes). Never throws for unknown ops. Dimensions known only at run time keep
 * their symbol (the input's dim_param, e.g. 'batch').
 *
 * `inputShape` overrides the declared shape of the first graph input (an array) or
 * of named inputs (a record).
 */
export function inferShapes(model: OnnxModel, inputShape?: readonly Dim[] | Readonly<Record<string, readonly Dim[]>>): Map<string, Shape | undefined> {
  const g = model.graph!;
  const index = new GraphIndex(g);
  const opset = defaultOpset(model);
  const shapes = new Map<string, Shape | undefined>();
  /** Small integer tensors whose values are known (shape arithmetic: Shape → Gather → Concat → Reshape). */
  const values = new Map<string, Dim[]>();

  for (const t of g.initializer ?? []) {
    if (!t.name) continue;
    shapes.set(t.name, tensorDims(t));
    const n = tensorDims(t).reduce((a, b) => a * b, 1);
    if (n <= 64 && (t.dataType === 7 || t.dataType === 6 || t.dataType === 1)) {
      try { values.set(t.name, tensorToNumbers(t)); } catch { /* unreadable constant: shape still known */ }
    }
  }
  for (const v of g.input ?? []) if (v.name && !shapes.has(v.name)) shapes.set(v.name, valueInfoShape(v));
  if (inputShape) {
    if (Array.isArray(inputShape)) shapes.set(index.graphInputs[0]!, [...(inputShape as Dim[])]);
    else for (const [k, s] of Object.entries(inputShape as Record<string, Dim[]>)) shapes.set(k, [...s]);
  }

  for (const i of index.order) {
    const node = index.nodes[i]!;
    let outs: (Shape | undefined)[] = [];
    try {
      outs = inferNode(node, opset, (n) => (n ? shapes.get(n) : undefined), (n) => (n ? values.get(n) : undefined), (n, v) => values.set(n, v));
    } catch {
      outs = [];
    }
    (node.output ?? []).forEach((o, j) => { if (o) shapes.set(o, outs[j]); });
  }
  return shapes;
}

type Get<T> = (name: string | undefined) => T | undefined;

function inferNode(node: OnnxNode, opset: number, shapeOf: Get<Shape>, valueOf: Get<Dim[]>, setValue: (n: string, v: Dim[]) => void): (Shape | undefined)[] {
  const ins = node.input ?? [];
  const x = shapeOf(ins[0]);
  const out0 = node.output?.[0] ?? '';
  const op = node.opType ?? '';
  const intsAt = (name: string, inputIdx: number): number[] | undefined => {
    const fromAttr = attrInts(node, name);
    if (fromAttr) return fromAttr;
    const v = valueOf(ins[inputIdx]);
    return v && allNum(v) ? v : undefined;
  };
  const norm = (a: number, r: number) => (a < 0 ? a + r : a);

  switch (op) {
    case 'Constant': {
      const t = attrTensor(node, 'value');
      if (t) {
        const d = tensorDims(t);
        if (d.reduce((a, b) => a * b, 1) <= 64) try { setValue(out0, tensorToNumbers(t)); } catch { /* keep shape */ }
        return [d];
      }
      const f = attrFloat(node, 'value_float'); if (f !== undefined) { setValue(out0, [f]); return [[]]; }
      const vi = attrInt(node, 'value_int'); if (vi !== undefined) { setValue(out0, [vi]); return [[]]; }
      const vis = attrInts(node, 'value_ints'); if (vis) { setValue(out0, vis); return [[vis.length]]; }
      return [undefined];
    }
    case 'Identity': case 'Dropout': case 'Cast': case 'CastLike': {
      const v = valueOf(ins[0]);
      if (v) setValue(out0, v);
      return [x, x];
    }
    case 'Relu': case 'LeakyRelu': case 'PRelu': case 'Elu': case 'Selu': case 'Celu': case 'Sigmoid': case 'HardSigmoid': case 'HardSwish': case 'Tanh': case 'Clip':
    case 'Softmax': case 'LogSoftmax': case 'Softplus': case 'Softsign': case 'Exp': case 'Log': case 'Sqrt': case 'Abs': case 'Neg': case 'Reciprocal': case 'Erf':
    case 'Floor': case 'Ceil': case 'Round': case 'Sign': case 'Not': case 'Gelu': case 'Mish': case 'LRN': case 'BatchNormalization': case 'InstanceNormalization':
    case 'LayerNormalization': case 'DequantizeLinear': case 'QuantizeLinear': case 'IsNaN': case 'IsInf': case 'Sin': case 'Cos': case 'ThresholdedRelu': case 'Shrink':
    case 'ScatterND': case 'ScatterElements': case 'Scatter':
      return [x];
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': case 'Sum': case 'Mean': case 'Equal': case 'Greater': case 'Less':
    case 'GreaterOrEqual': case 'LessOrEqual': case 'And': case 'Or': case 'Xor': case 'Mod': case 'Where': case 'BitShift': {
      const all = ins.map(shapeOf);
      if (all.some((s) => !s)) return [undefined];
      const va = valueOf(ins[0]), vb = valueOf(ins[1]);
      const pairs = va && vb && ins.length === 2 && (va.length === vb.length || va.length === 1 || vb.length === 1);
      if (pairs && allNum(va) && allNum(vb) && !((op === 'Mod' || op === 'Div') && vb.includes(0))) {
        const f = { Add: (p: number, q: number) => p + q, Sub: (p: number, q: number) => p - q, Mul: (p: number, q: number) => p * q, Div: (p: number, q: number) => Math.trunc(p / q),
          // Integer Mod (fmod 0): the sign of the divisor, as Python's %, which torch's padding arithmetic (Swin's windows) relies on.
          Mod: (p: number, q: number) => (attrInt(node, 'fmod', 0) === 1 ? p % q : ((p % q) + q) % q), Equal: (p: number, q: number) => (p === q ? 1 : 0) }[op as 'Add'];
        if (f) { const n = Math.max(va.length, vb.length); setValue(out0, Array.from({ length: n }, (_, i) => f(va[va.length === 1 ? 0 : i]!, vb[vb.length === 1 ? 0 : i]!))); }
      } else if (pairs && (op === 'Mul' || op === 'Div')) {
        // A symbolic dimension times or over a number (attention's bsz * num_heads and back): a symbol of its own.
        const n = Math.max(va.length, vb.length);
        const v = Array.from({ length: n }, (_, i) => symbolic(op, va[va.length === 1 ? 0 : i]!, vb[vb.length === 1 ? 0 : i]!));
        if (v.every((d) => d !== undefined)) setValue(out0, v as Dim[]);
      } else if (pairs && op === 'Equal') {
        // A symbolic dimension is ≥ 0: never equal to torch's -1 ("keep this dimension") sentinel, as in expand(n, -1, -1).
        const n = Math.max(va.length, vb.length);
        const eq = (p: Dim, q: Dim): number | undefined => (isNum(p) && isNum(q) ? (p === q ? 1 : 0) : (isNum(p) && p < 0) || (isNum(q) && q < 0) ? 0 : undefined);
        const v = Array.from({ length: n }, (_, i) => eq(va[va.length === 1 ? 0 : i]!, vb[vb.length === 1 ? 0 : i]!));
        if (v.every((d) => d !== undefined)) setValue(out0, v as number[]);
      }
      if (op === 'Where') {
        const [c, a, b] = [valueOf(ins[0]), valueOf(ins[1]), valueOf(ins[2])];
        const n = Math.max(c?.length ?? 0, a?.length ?? 0, b?.length ?? 0);
        const at = (v: Dim[], i: number) => v[v.length === 1 ? 0 : i]!;
        if (c && a && b && allNum(c) && [c, a, b].every((v) => v.length === n || v.length === 1)) setValue(out0, Array.from({ length: n }, (_, i) => (at(c, i) ? at(a, i) : at(b, i))));
      }
      return [all.reduce<Shape | undefined>((a, b) => (a ? broadcast(a, b!) : undefined), all[0]!)];
    }
    case 'Conv': case 'ConvInteger': case 'QLinearConv': {
      const wIdx = op === 'QLinearConv' ? 3 : 1;
      const w = shapeOf(ins[wIdx]);
      if (!x || !w) return [undefined];
      const sp = x.length - 2;
      const k = attrInts(node, 'kernel_shape') ?? (w.slice(2) as number[]);
      return [[x[0]!, w[0]!, ...spatial(node, x.slice(2), k, sp, false)]];
    }
    case 'ConvTranspose': {
      const w = shapeOf(ins[1]);
      if (!x || !w) return [undefined];
      const sp = x.length - 2;
      const k = attrInts(node, 'kernel_shape') ?? (w.slice(2) as number[]);
      const group = attrInt(node, 'group', 1);
      const M = isNum(w[1]) ? w[1] * group : UNKNOWN_DIM;
      const os = attrInts(node, 'output_shape');
      if (os) return [[x[0]!, M, ...os.slice(-sp)]];
      const s = attrInts(node, 'strides') ?? Array(sp).fill(1);
      const d = attrInts(node, 'dilations') ?? Array(sp).fill(1);
      const p = attrInts(node, 'pads') ?? Array(2 * sp).fill(0);
      const op2 = attrInts(node, 'output_padding') ?? Array(sp).fill(0);
      const autoPad = attrString(node, 'auto_pad', 'NOTSET');
      return [[x[0]!, M, ...x.slice(2).map((v, i) => {
        if (!isNum(v)) return UNKNOWN_DIM;
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return v * s[i]!;
        return s[i]! * (v - 1) + op2[i]! + (k[i]! - 1) * d[i]! + 1 - p[i]! - p[i + sp]!;
      })]];
    }
    case 'MaxPool': case 'AveragePool': case 'LpPool': {
      if (!x) return [undefined];
      const k = attrInts(node, 'kernel_shape')!;
      const s = [x[0]!, x[1]!, ...spatial(node, x.slice(2), k, x.length - 2, attrInt(node, 'ceil_mode', 0) === 1)];
      return [s, s];
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': case 'GlobalLpPool':
      return [x ? [x[0]!, x[1]!, ...x.slice(2).map(() => 1)] : undefined];
    case 'Gemm': {
      const b = shapeOf(ins[1]);
      if (!x || !b) return [undefined];
      const M = attrInt(node, 'transA', 0) ? x[1]! : x[0]!;
      const N = attrInt(node, 'transB', 0) ? b[0]! : b[1]!;
      return [[M, N]];
    }
    case 'MatMul': case 'MatMulInteger': case 'QLinearMatMul': {
      const a = op === 'QLinearMatMul' ? x : x, b = shapeOf(ins[op === 'QLinearMatMul' ? 3 : 1]);
      if (!a || !b) return [undefined];
      if (b.length === 1) return [a.slice(0, -1)];
      if (a.length === 1) return [[...b.slice(0, -2), b[b.length - 1]!]];
      const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
      return [batch ? [...batch, a[a.length - 2]!, b[b.length - 1]!] : undefined];
    }
    case 'Flatten': {
      if (!x) return [undefined];
      const axis = norm(attrInt(node, 'axis', 1), x.length);
      return [[prod(x.slice(0, axis)), prod(x.slice(axis))]];
    }
    case 'Reshape': {
      const target = valueOf(ins[1]);
      if (!target) return [undefined];
      const allowZero = attrInt(node, 'allowzero', 0) === 1;
      const dims: Dim[] = target.map((d, i) => (d === 0 && !allowZero ? (x?.[i] ?? UNKNOWN_DIM) : d));
      const hole = dims.indexOf(-1);
      if (hole >= 0) {
        if (!x) return [undefined];
        dims[hole] = solveHole(x, dims.filter((_, i) => i !== hole));
      }
      const v = valueOf(ins[0]);
      if (v) setValue(out0, v);
      return [dims];
    }
    case 'Shape': {
      if (!x) return [undefined];
      const r = x.length;
      const start = opset >= 15 ? norm(attrInt(node, 'start', 0), r) : 0;
      const end = opset >= 15 ? Math.min(norm(attrInt(node, 'end', r), r), r) : r;
      const v = x.slice(start, end);
      setValue(out0, v);
      return [[v.length]];
    }
    case 'Size': {
      if (x) setValue(out0, [prod(x)]);
      return [[]];
    }
    case 'Gather': {
      const idx = shapeOf(ins[1]);
      if (!x || !idx) return [undefined];
      const axis = norm(attrInt(node, 'axis', 0), x.length);
      const v = valueOf(ins[0]), iv = valueOf(ins[1]);
      if (v && iv && allNum(iv) && x.length === 1) setValue(out0, iv.map((j) => v[j < 0 ? j + v.length : j]!));
      return [[...x.slice(0, axis), ...idx, ...x.slice(axis + 1)]];
    }
    case 'Unsqueeze': {
      const axes = opset >= 13 ? intsAt('axes', 1) : attrInts(node, 'axes');
      if (!x || !axes) return [undefined];
      const r = x.length + axes.length;
      const ax = axes.map((a) => norm(a, r));
      const out: Shape = [];
      let j = 0;
      for (let i = 0; i < r; i++) out.push(ax.includes(i) ? 1 : x[j++]!);
      const v = valueOf(ins[0]);
      if (v) setValue(out0, v);
      return [out];
    }
    case 'Squeeze': {
      if (!x) return [undefined];
      const axes = opset >= 13 ? intsAt('axes', 1) : attrInts(node, 'axes');
      const ax = axes ? axes.map((a) => norm(a, x.length)) : x.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
      const v = valueOf(ins[0]);
      if (v) setValue(out0, v);
      return [x.filter((_, i) => !ax.includes(i))];
    }
    case 'Concat': {
      const all = ins.map(shapeOf);
      if (all.some((s) => !s)) return [undefined];
      const axis = norm(attrInt(node, 'axis', 0), all[0]!.length);
      const out = [...all[0]!];
      const parts = all.map((s) => s![axis]!);
      out[axis] = allNum(parts) ? parts.reduce((a, b) => a + b, 0) : UNKNOWN_DIM;
      const vs = ins.map(valueOf);
      if (all[0]!.length === 1 && vs.every((v) => v)) setValue(out0, vs.flatMap((v) => v!));
      return [out];
    }
    case 'Slice': {
      if (!x) return [undefined];
      const starts = opset >= 10 ? intsAt('starts', 1) : attrInts(node, 'starts');
      const ends = opset >= 10 ? intsAt('ends', 2) : attrInts(node, 'ends');
      if (!starts || !ends) return [undefined];
      const axes = (opset >= 10 ? (ins[3] ? intsAt('axes', 3) : undefined) : attrInts(node, 'axes')) ?? starts.map((_, i) => i);
      const steps = (opset >= 10 && ins[4] ? intsAt('steps', 4) : undefined) ?? starts.map(() => 1);
      const out = [...x];
      const picks: number[][] = x.map((d) => (isNum(d) ? Array.from({ length: d }, (_, j) => j) : []));
      axes.forEach((a0, i) => {
        const a = norm(a0, x.length);
        const dim = x[a]!;
        if (!isNum(dim)) { out[a] = UNKNOWN_DIM; return; }
        const [s, e, step] = sliceRange(dim, starts[i]!, ends[i]!, steps[i]!);
        const n = step > 0 ? Math.max(0, Math.ceil((e - s) / step)) : Math.max(0, Math.ceil((s - e) / -step));
        out[a] = n;
        picks[a] = Array.from({ length: n }, (_, j) => s + j * step);
      });
      const v = valueOf(ins[0]);
      if (v && allNum(x) && allNum(out)) setValue(out0, gather(v, x, picks));
      return [out];
    }
    case 'Pad': {
      if (!x) return [undefined];
      const pads = opset >= 11 ? intsAt('pads', 1) : attrInts(node, 'pads') ?? attrInts(node, 'paddings');
      if (!pads) return [undefined];
      const r = x.length;
      let full = pads;
      if (opset >= 18 && ins[3]) {
        const axes = intsAt('axes', 3);
        if (!axes) return [undefined];
        full = Array(2 * r).fill(0);
        axes.forEach((a, i) => { full[norm(a, r)] = pads[i]!; full[norm(a, r) + r] = pads[i + axes.length]!; });
      }
      return [x.map((d, i) => (isNum(d) ? d + full[i]! + full[i + r]! : d))];
    }
    case 'Transpose': {
      if (!x) return [undefined];
      const perm = attrInts(node, 'perm') ?? x.map((_, i) => x.length - 1 - i);
      const v = valueOf(ins[0]);
      if (v && allNum(x)) setValue(out0, permute(v, x, perm));
      return [perm.map((p) => x[p]!)];
    }
    case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': case 'ReduceMin': case 'ReduceProd': case 'ReduceL1': case 'ReduceL2':
    case 'ReduceLogSum': case 'ReduceLogSumExp': case 'ReduceSumSquare': case 'ArgMax': case 'ArgMin': {
      if (!x) return [undefined];
      const keep = attrInt(node, 'keepdims', 1) === 1;
      let axes: number[] | undefined;
      if (op === 'ArgMax' || op === 'ArgMin') axes = [attrInt(node, 'axis', 0)];
      else if (opset >= 18 || (op === 'ReduceSum' && opset >= 13)) axes = ins[1] ? intsAt('axes', 1) : [];
      else axes = attrInts(node, 'axes') ?? [];
      if (!axes) return [undefined];
      if (axes.length === 0) axes = attrInt(node, 'noop_with_empty_axes', 0) === 1 ? [] : x.map((_, i) => i);
      const ax = axes.map((a) => norm(a, x.length));
      return [keep ? x.map((d, i) => (ax.includes(i) ? 1 : d)) : x.filter((_, i) => !ax.includes(i))];
    }
    case 'Resize': case 'Upsample': {
      if (!x) return [undefined];
      const sizes = op === 'Resize' && ins[3] ? valueOf(ins[3]) : undefined;
      if (sizes) return [sizes];
      const scalesIdx = op === 'Upsample' ? 1 : opset >= 11 ? 2 : 1;
      const scales = (ins[scalesIdx] ? valueOf(ins[scalesIdx]) : undefined) ?? attrFloatList(node, 'scales');
      if (!scales || scales.length !== x.length || !allNum(scales)) return [undefined];
      return [x.map((d, i) => (isNum(d) ? Math.floor(d * scales[i]!) : scales[i] === 1 ? d : UNKNOWN_DIM))];
    }
    case 'Split': {
      if (!x) return [];
      const axis = norm(attrInt(node, 'axis', 0), x.length);
      const n = node.output?.length ?? 1;
      const split = (opset >= 13 ? (ins[1] ? intsAt('split', 1) : undefined) : attrInts(node, 'split'));
      const dim = x[axis]!;
      let parts: Dim[];
      if (split) parts = split;
      else if (isNum(dim)) {
        const each = Math.ceil(dim / n);
        parts = Array.from({ length: n }, (_, i) => Math.min(each, dim - each * i));
      } else parts = Array(n).fill(UNKNOWN_DIM);
      return parts.map((p) => x.map((d, i) => (i === axis ? p : d)));
    }
    case 'Expand': {
      const s = valueOf(ins[1]);
      return [x && s ? broadcast(x, s) : undefined];
    }
    case 'ConstantOfShape': {
      const s = valueOf(ins[0]);
      if (s && allNum(s) && s.reduce((a, b) => a * b, 1) <= 64) {
        const t = attrTensor(node, 'value');
        // Only the first value is used: a (hostile) large value tensor is not read whole.
        if (!t || tensorDims(t).reduce((a, b) => a * b, 1) <= 64) setValue(out0, Array(s.reduce((a, b) => a * b, 1)).fill(t ? tensorToNumbers(t)[0] ?? 0 : 0));
      }
      return [s ? [...s] : undefined];
    }
    case 'TopK': {
      if (!x) return [undefined, undefined];
      const k = opset >= 10 ? valueOf(ins[1])?.[0] : attrInt(node, 'k');
      const axis = norm(attrInt(node, 'axis', -1), x.length);
      const s = x.map((d, i) => (i === axis ? (k ?? UNKNOWN_DIM) : d));
      return [s, s];
    }
    case 'Range': {
      const [a, b, d] = [valueOf(ins[0]), valueOf(ins[1]), valueOf(ins[2])];
      if (a && b && d && isNum(a[0]) && isNum(b[0]) && isNum(d[0])) return [[Math.max(0, Math.ceil((b[0] - a[0]) / d[0]))]];
      return [[UNKNOWN_DIM]];
    }
    case 'Tile': {
      const reps = valueOf(ins[1]);
      return [x && reps ? x.map((d, i) => (isNum(d) && isNum(reps[i]) ? d * reps[i]! : UNKNOWN_DIM)) : undefined];
    }
    default:
      return [];
  }
}

/**
 * `sym * n` and `sym / n` for a symbolic dimension: 'batch' * 3 is the symbol 'batch*3', and
 * 'batch*3' / 3 is 'batch' again. Undefined for anything else (two symbols, a division that
 * does not undo a product), so no dimension is guessed.
 */
function symbolic(op: 'Mul' | 'Div', a: Dim, b: Dim): Dim | undefined {
  if (isNum(a) && isNum(b)) return op === 'Mul' ? a * b : Math.trunc(a / b);
  if (op === 'Mul' && isNum(a) !== isNum(b)) {
    const [sym, n] = (isNum(a) ? [b, a] : [a, b]) as [string, number];
    if (sym === UNKNOWN_DIM) return undefined;
    return n === 1 ? sym : n === 0 ? 0 : `${sym}*${n}`;
  }
  if (op === 'Div' && !isNum(a) && isNum(b)) {
    if (b === 1) return a;
    const m = /^(.*)\*(\d+)$/.exec(a);
    return m && Number(m[2]) === b ? m[1]! : undefined;
  }
  return undefined;
}

const stridesOf = (shape: readonly number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/** Values of a small row-major tensor at the cartesian product of per-axis indices. */
function gather(v: Dim[], shape: readonly number[], picks: readonly number[][]): Dim[] {
  const st = stridesOf(shape);
  let offs = [0];
  for (let a = 0; a < shape.length; a++) offs = offs.flatMap((o) => picks[a]!.map((j) => o + j * st[a]!));
  return offs.map((o) => v[o]!);
}

function permute(v: Dim[], shape: readonly number[], perm: readonly number[]): Dim[] {
  const st = stridesOf(shape);
  let offs = [0];
  for (const p of perm) offs = offs.flatMap((o) => Array.from({ length: shape[p]! }, (_, j) => o + j * st[p]!));
  return offs.map((o) => v[o]!);
}

function attrFloatList(node: OnnxNode, name: string): number[] | undefined {
  return (node.attribute ?? []).find((a) => a.name === name)?.floats;
}

function spatial(node: OnnxNode, xs: Shape, k: readonly number[], sp: number, ceil: boolean): Dim[] {
  const s = attrInts(node, 'strides') ?? Array(sp).fill(1);
  const d = attrInts(node, 'dilations') ?? Array(sp).fill(1);
  const p = attrInts(node, 'pads') ?? Array(2 * sp).fill(0);
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  return xs.map((v, i) => window(v, k[i]!, s[i]!, d[i]!, p[i]!, p[i + sp]!, autoPad, ceil));
}

/** Clamped [start, end) and step of a Slice along an axis of length `dim`, as ONNX defines. */
function sliceRange(dim: number, start: number, end: number, step: number): [number, number, number] {
  const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) { s = clampTo(s, 0, dim); e = clampTo(e, 0, dim); }
  else { s = clampTo(s, 0, dim - 1); e = clampTo(e, -1, dim - 1); }
  return [s, e, step];
}

/** The -1 of a Reshape: the input's element count over the other target dims, symbols cancelling. */
function solveHole(x: Shape, rest: Dim[]): Dim {
  const xs = x.filter((d) => !isNum(d)) as string[];
  const rs = rest.filter((d) => !isNum(d)) as string[];
  const xn = (x.filter(isNum) as number[]).reduce((a, b) => a * b, 1);
  const rn = (rest.filter(isNum) as number[]).reduce((a, b) => a * b, 1);
  const leftover = [...xs];
  for (const r of rs) {
    const j = leftover.indexOf(r);
    if (j < 0 || r === UNKNOWN_DIM) return UNKNOWN_DIM;
    leftover.splice(j, 1);
  }
  if (rn === 0 || xn % rn !== 0) return UNKNOWN_DIM;
  if (leftover.length === 0) return xn / rn;
  return leftover.length === 1 && xn === rn ? leftover[0]! : UNKNOWN_DIM;
}
