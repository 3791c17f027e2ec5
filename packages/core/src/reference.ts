import type { EagerOps } from './ops.js';
import { FstaError } from './errors.js';

/** A dense float32 tensor, row-major. The reference backend's tensor type. */
export class RefTensor {
  readonly size: number;
  constructor(
    readonly data: Float32Array,
    readonly shape: readonly number[],
  ) {
    this.size = shape.reduce((a, b) => a * b, 1);
    if (this.size !== data.length) {
      throw new FstaError('SHAPE_MISMATCH', `tensor data has ${data.length} values but shape [${shape.join(', ')}] needs ${this.size}`, 'pass data whose length is the product of the shape');
    }
  }
}

const strides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
};

const normAxes = (axes: readonly number[], rank: number): number[] => {
  const out = axes.map((a) => (a < 0 ? a + rank : a));
  for (const a of out) {
    if (a < 0 || a >= rank) throw new FstaError('BAD_AXIS', `axis ${a} is out of range for a rank-${rank} tensor`, 'use axes in [-rank, rank)');
  }
  return [...new Set(out)].sort((x, y) => x - y);
};

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new FstaError('SHAPE_MISMATCH', `cannot broadcast shapes [${a.join(', ')}] and [${b.join(', ')}]`, 'make trailing dimensions equal or 1');
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

function binary(a: RefTensor, b: RefTensor, f: (x: number, y: number) => number): RefTensor {
  const shape = broadcastShape(a.shape, b.shape);
  const n = shape.reduce((p, q) => p * q, 1);
  const out = new Float32Array(n);
  if (a.size === n && b.size === n) {
    for (let i = 0; i < n; i++) out[i] = f(a.data[i]!, b.data[i]!);
    return new RefTensor(out, shape);
  }
  const rank = shape.length;
  const sa = strides(a.shape), sb = strides(b.shape);
  // Stride 0 along broadcast dimensions.
  const ea = shape.map((_, i) => { const j = i - (rank - a.shape.length); return j < 0 || a.shape[j] === 1 ? 0 : sa[j]!; });
  const eb = shape.map((_, i) => { const j = i - (rank - b.shape.length); return j < 0 || b.shape[j] === 1 ? 0 : sb[j]!; });
  const idx = new Array<number>(rank).fill(0);
  let ia = 0, ib = 0;
  for (let i = 0; i < n; i++) {
    out[i] = f(a.data[ia]!, b.data[ib]!);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      ia += ea[d]!;
      ib += eb[d]!;
      if (idx[d]! < shape[d]!) break;
      ia -= ea[d]! * shape[d]!;
      ib -= eb[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return new RefTensor(out, shape);
}

function unary(x: RefTensor, f: (v: number) => number): RefTensor {
  const out = new Float32Array(x.size);
  for (let i = 0; i < x.size; i++) out[i] = f(x.data[i]!);
  return new RefTensor(out, x.shape);
}

/**
 * Moves the reduced axes last, then hands each contiguous group of reduced values
 * to `f` as a Float64Array. Long sums accumulate in float64.
 */
function reduce(x: RefTensor, axes: readonly number[], keepDims: boolean, f: (vals: Float64Array) => number): RefTensor {
  const rank = x.shape.length;
  const red = normAxes(axes, rank);
  const kept = [...Array(rank).keys()].filter((d) => !red.includes(d));
  const perm = [...kept, ...red];
  const t = transposeRef(x, perm);
  const groupSize = red.reduce((p, d) => p * x.shape[d]!, 1);
  const groups = groupSize === 0 ? 0 : x.size / groupSize;
  const out = new Float32Array(groups);
  const buf = new Float64Array(groupSize);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < groupSize; i++) buf[i] = t.data[g * groupSize + i]!;
    out[g] = f(buf);
  }
  const shape = keepDims ? x.shape.map((s, d) => (red.includes(d) ? 1 : s)) : kept.map((d) => x.shape[d]!);
  return new RefTensor(out, shape);
}

function transposeRef(x: RefTensor, perm: readonly number[]): RefTensor {
  const rank = x.shape.length;
  if (perm.length !== rank) throw new FstaError('BAD_AXIS', `transpose needs ${rank} axes, got ${perm.length}`, 'pass a permutation of all axes');
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.shape[p]!);
  const src = strides(x.shape);
  const step = perm.map((p) => src[p]!);
  const out = new Float32Array(x.size);
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let i = 0; i < x.size; i++) {
    out[i] = x.data[off]!;
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]!++;
      off += step[d]!;
      if (idx[d]! < shape[d]!) break;
      off -= step[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return new RefTensor(out, shape);
}

const sum64 = (v: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]!;
  return s;
};

/** Linear-interpolated percentile of values (sorted in place), as NumPy's default. */
export function percentileOf(sorted: Float64Array | number[], q: number): number {
  const n = sorted.length;
  if (n === 0) throw new FstaError('EMPTY', 'percentile of an empty set', 'pass at least one value');
  const pos = (q / 100) * (n - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

const checkQ = (q: number) => {
  if (!(q >= 0 && q <= 100)) throw new FstaError('BAD_PERCENTILE', `percentile ${q} is outside [0, 100]`, 'pass q between 0 and 100');
};

/** The pure-TS reference backend: Float32Array storage, float64 accumulation. */
export const referenceOps: EagerOps<RefTensor> = {
  name: 'reference',
  shape: (x) => x.shape,
  constant: (data, shape) => new RefTensor(Float32Array.from(data), [...shape]),
  fromArray: (data, shape) => new RefTensor(Float32Array.from(data), [...shape]),
  read: async (x) => Float32Array.from(x.data),

  add: (a, b) => binary(a, b, (x, y) => x + y),
  sub: (a, b) => binary(a, b, (x, y) => x - y),
  mul: (a, b) => binary(a, b, (x, y) => x * y),
  div: (a, b) => binary(a, b, (x, y) => x / y),
  maximum: (a, b) => binary(a, b, (x, y) => (x > y || Number.isNaN(x) ? x : y)),
  greater: (a, b) => binary(a, b, (x, y) => (x > y ? 1 : 0)),

  abs: (x) => unary(x, Math.abs),
  neg: (x) => unary(x, (v) => -v),
  relu: (x) => unary(x, (v) => (v > 0 ? v : 0)),
  clamp: (x, min = -Infinity, max = Infinity) => unary(x, (v) => Math.min(Math.max(v, min), max)),
  exp: (x) => unary(x, Math.exp),
  log: (x) => unary(x, Math.log),
  sqrt: (x) => unary(x, Math.sqrt),
  square: (x) => unary(x, (v) => v * v),

  sum: (x, axes, keepDims = false) => reduce(x, axes, keepDims, sum64),
  mean: (x, axes, keepDims = false) => reduce(x, axes, keepDims, (v) => sum64(v) / v.length),
  max: (x, axes, keepDims = false) => reduce(x, axes, keepDims, (v) => v.reduce((m, y) => (y > m ? y : m), -Infinity)),
  min: (x, axes, keepDims = false) => reduce(x, axes, keepDims, (v) => v.reduce((m, y) => (y < m ? y : m), Infinity)),
  logsumexp: (x, axes, keepDims = false) =>
    reduce(x, axes, keepDims, (v) => {
      let m = -Infinity;
      for (const y of v) if (y > m) m = y;
      if (!Number.isFinite(m)) return m;
      let s = 0;
      for (const y of v) s += Math.exp(y - m);
      return m + Math.log(s);
    }),
  softmax(x, axis) {
    const lse = referenceOps.logsumexp(x, [axis], true);
    return unary(binary(x, lse, (a, b) => a - b), Math.exp);
  },
  percentile(x, q, axis, keepDims = false) {
    checkQ(q);
    return reduce(x, [axis], keepDims, (v) => percentileOf(v.sort(), q));
  },
  topk(x, k) {
    const d = x.shape[x.shape.length - 1]!;
    if (!(k >= 1 && k <= d)) throw new FstaError('BAD_K', `topk k=${k} is outside [1, ${d}]`, 'pass k between 1 and the last dimension');
    const rows = x.size / d;
    const out = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) {
      const row = Array.from(x.data.subarray(r * d, (r + 1) * d)).sort((a, b) => b - a);
      for (let i = 0; i < k; i++) out[r * k + i] = row[i]!;
    }
    return new RefTensor(out, [...x.shape.slice(0, -1), k]);
  },

  matmul(a, b) {
    if (b.shape.length !== 2) throw new FstaError('SHAPE_MISMATCH', `matmul needs a 2-D right operand, got [${b.shape.join(', ')}]`, 'reshape the weight to (K, P)');
    const [K, P] = b.shape as [number, number];
    const kA = a.shape[a.shape.length - 1]!;
    if (kA !== K) throw new FstaError('SHAPE_MISMATCH', `matmul inner dimensions differ: [${a.shape.join(', ')}] @ [${K}, ${P}]`, 'make the last dimension of a equal the first of b');
    const M = a.size / K;
    const out = new Float32Array(M * P);
    for (let m = 0; m < M; m++) {
      for (let p = 0; p < P; p++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[m * K + k]! * b.data[k * P + p]!;
        out[m * P + p] = s;
      }
    }
    return new RefTensor(out, [...a.shape.slice(0, -1), P]);
  },
  linear(x, weight, bias) {
    if (weight.shape.length !== 2) throw new FstaError('SHAPE_MISMATCH', `linear weight must be (out, in), got [${weight.shape.join(', ')}]`, 'pass the head weight as a 2-D tensor');
    const [O, D] = weight.shape as [number, number];
    const d = x.shape[x.shape.length - 1]!;
    if (d !== D) throw new FstaError('SHAPE_MISMATCH', `linear input has ${d} features but the weight expects ${D}`, 'pass penultimate features that match the head');
    if (bias && bias.size !== O) throw new FstaError('SHAPE_MISMATCH', `linear bias has ${bias.size} values, expected ${O}`, 'pass one bias per output');
    const N = x.size / D;
    const out = new Float32Array(N * O);
    const xd = x.data, w = weight.data;
    const b = (o: number) => (bias ? bias.data[o]! : 0);
    for (let n = 0; n < N; n++) {
      const xo = n * D;
      let o = 0;
      // Four outputs per sweep over the input (each x value read once for four rows): twice as
      // fast as one, and each output's sum is the same sum in the same order, so bit for bit equal.
      for (; o + 4 <= O; o += 4) {
        let s0 = b(o), s1 = b(o + 1), s2 = b(o + 2), s3 = b(o + 3);
        const w0 = o * D, w1 = w0 + D, w2 = w1 + D, w3 = w2 + D;
        for (let k = 0; k < D; k++) {
          const v = xd[xo + k]!;
          s0 += v * w[w0 + k]!; s1 += v * w[w1 + k]!; s2 += v * w[w2 + k]!; s3 += v * w[w3 + k]!;
        }
        out[n * O + o] = s0; out[n * O + o + 1] = s1; out[n * O + o + 2] = s2; out[n * O + o + 3] = s3;
      }
      for (; o < O; o++) {
        let s = b(o);
        for (let k = 0; k < D; k++) s += xd[xo + k]! * w[o * D + k]!;
        out[n * O + o] = s;
      }
    }
    return new RefTensor(out, [...x.shape.slice(0, -1), O]);
  },

  reshape(x, shape) {
    const dims = shape.map((s, i) => (s === 0 ? x.shape[i]! : s));
    const known = dims.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
    const filled = dims.map((s) => (s === -1 ? x.size / known : s));
    const n = filled.reduce((a, b) => a * b, 1);
    if (n !== x.size || !filled.every(Number.isInteger)) {
      throw new FstaError('SHAPE_MISMATCH', `cannot reshape [${x.shape.join(', ')}] to [${shape.join(', ')}]`, 'keep the number of elements the same');
    }
    return new RefTensor(x.data, filled);
  },
  transpose: (x, perm) => transposeRef(x, perm),
  slice(x, axis, start, end) {
    const a = normAxes([axis], x.shape.length)[0]!;
    const n = x.shape[a]!;
    const e = end ?? n;
    if (!(Number.isInteger(start) && Number.isInteger(e) && start >= 0 && start <= e && e <= n)) throw new FstaError('BAD_AXIS', `slice ${start}…${e} is outside axis ${a} of length ${n}`, 'pass 0 ≤ start ≤ end ≤ the axis length');
    const outer = x.shape.slice(0, a).reduce((p, d) => p * d, 1);
    const inner = x.shape.slice(a + 1).reduce((p, d) => p * d, 1);
    const out = new Float32Array(outer * (e - start) * inner);
    for (let o = 0; o < outer; o++) out.set(x.data.subarray((o * n + start) * inner, (o * n + e) * inner), o * (e - start) * inner);
    return new RefTensor(out, x.shape.map((d, i) => (i === a ? e - start : d)));
  },
  dispose: () => {},
};

/** Shorthand: a reference tensor from nested data or a flat array plus shape. */
export function tensor(data: Float32Array | readonly number[], shape: readonly number[]): RefTensor {
  return referenceOps.fromArray(data, shape);
}
