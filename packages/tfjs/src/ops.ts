import * as tfCore from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { FstaError } from '@fsta/core';
import type { EagerOps } from '@fsta/core';

/** The `@tensorflow/tfjs-core` namespace (or the `@tensorflow/tfjs` union bundle, which re-exports it). */
export type TfNamespace = typeof tfCore;

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new FstaError('BAD_AXIS', `axis ${axis} is out of range for a rank-${rank} tensor`, 'use axes in [-rank, rank)');
  }
  return a;
}

const normAxes = (axes: readonly number[], rank: number): number[] => [...new Set(axes.map((a) => normAxis(a, rank)))].sort((x, y) => x - y);

// tf's own broadcast error names no shapes; check first so the message says which.
function checkBroadcast(a: Tensor, b: Tensor): void {
  const rank = Math.max(a.rank, b.rank);
  for (let i = 1; i <= rank; i++) {
    const da = a.shape[a.rank - i] ?? 1;
    const db = b.shape[b.rank - i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new FstaError('SHAPE_MISMATCH', `cannot broadcast shapes ${shapeText(a.shape)} and ${shapeText(b.shape)}`, 'make trailing dimensions equal or 1');
    }
  }
}

/**
 * core's tensor-ops contract on TensorFlow.js. Every op is a tf kernel, so the same
 * formulas run on whichever backend is active (cpu, wasm, webgl, webgpu).
 * Pass the namespace you use (`@tensorflow/tfjs` or `@tensorflow/tfjs-core`) so the
 * ops share its engine and backend registry.
 */
export function tfjsOps(tf: TfNamespace = tfCore): EagerOps<Tensor> {
  const binary = (f: (a: Tensor, b: Tensor) => Tensor) => (a: Tensor, b: Tensor) => {
    checkBroadcast(a, b);
    return f(a, b);
  };
  type Reducer = (x: Tensor, axes: number[], keepDims: boolean) => Tensor;
  const reduction = (f: Reducer) => (x: Tensor, axes: readonly number[], keepDims = false) => {
    const ax = normAxes(axes, x.rank);
    // tf reads an empty axis list as "all axes"; the contract reads it as "none".
    if (ax.length === 0) return tf.clone(x);
    return f(x, ax, keepDims);
  };
  const lastDim = (x: Tensor) => x.shape[x.rank - 1]!;

  const ops: EagerOps<Tensor> = {
    get name() {
      return `tfjs/${tf.getBackend()}`;
    },
    shape: (x) => x.shape,
    constant: (data, shape) => tf.tensor(Float32Array.from(data), [...shape], 'float32'),
    fromArray: (data, shape) => {
      const n = shape.reduce((a, b) => a * b, 1);
      if (n !== data.length) {
        throw new FstaError('SHAPE_MISMATCH', `tensor data has ${data.length} values but shape ${shapeText(shape)} needs ${n}`, 'pass data whose length is the product of the shape');
      }
      return tf.tensor(Float32Array.from(data), [...shape], 'float32');
    },
    read: async (x) => {
      if (x.dtype === 'float32') return (await x.data()) as Float32Array;
      const f = tf.cast(x, 'float32');
      try {
        return (await f.data()) as Float32Array;
      } finally {
        f.dispose();
      }
    },

    add: binary((a, b) => tf.add(a, b)),
    sub: binary((a, b) => tf.sub(a, b)),
    mul: binary((a, b) => tf.mul(a, b)),
    div: binary((a, b) => tf.div(a, b)),
    maximum: binary((a, b) => tf.maximum(a, b)),
    greater: binary((a, b) => tf.tidy(() => tf.cast(tf.greater(a, b), 'float32'))),

    abs: (x) => tf.abs(x),
    neg: (x) => tf.neg(x),
    relu: (x) => tf.relu(x),
    clamp: (x, min, max) =>
      tf.tidy(() => {
        let y = x;
        if (min !== undefined) y = tf.maximum(y, tf.scalar(min));
        if (max !== undefined) y = tf.minimum(y, tf.scalar(max));
        return y === x ? tf.clone(x) : y;
      }),
    exp: (x) => tf.exp(x),
    log: (x) => tf.log(x),
    sqrt: (x) => tf.sqrt(x),
    square: (x) => tf.square(x),

    sum: reduction((x, a, k) => tf.sum(x, a, k)),
    mean: reduction((x, a, k) => tf.mean(x, a, k)),
    max: reduction((x, a, k) => tf.max(x, a, k)),
    min: reduction((x, a, k) => tf.min(x, a, k)),
    logsumexp: reduction((x, a, k) =>
      tf.tidy(() => {
        // Shift by the max, but by 0 where the max is ±Inf so that all −Inf gives −Inf, not NaN.
        const m = tf.max(x, a, true);
        const shift = tf.where(tf.isFinite(m), m, tf.zerosLike(m));
        const lse = tf.add(tf.log(tf.sum(tf.exp(tf.sub(x, shift)), a, true)), shift);
        return k ? lse : tf.squeeze(lse, a);
      }),
    ),
    softmax: (x, axis) =>
      tf.tidy(() => {
        const a = normAxis(axis, x.rank);
        return tf.exp(tf.sub(x, ops.logsumexp(x, [a], true)));
      }),
    percentile(x, q, axis, keepDims = false) {
      if (!(q >= 0 && q <= 100)) throw new FstaError('BAD_PERCENTILE', `percentile ${q} is outside [0, 100]`, 'pass q between 0 and 100');
      const a = normAxis(axis, x.rank);
      const n = x.shape[a]!;
      if (n === 0) throw new FstaError('EMPTY', 'percentile of an empty set', 'pass at least one value');
      return tf.tidy(() => {
        const perm = [...x.shape.keys()].filter((d) => d !== a).concat(a);
        const moved = tf.transpose(x, perm);
        // topk sorts descending, so the i-th smallest is at n-1-i.
        const sorted = tf.topk(moved, n, true).values;
        const pos = (q / 100) * (n - 1);
        const lo = Math.floor(pos), hi = Math.ceil(pos);
        const pick = (i: number) => tf.slice(sorted, [...moved.shape.slice(0, -1).map(() => 0), n - 1 - i], [...moved.shape.slice(0, -1), 1]);
        const vLo = pick(lo);
        const v = hi === lo ? vLo : tf.add(vLo, tf.mul(tf.sub(pick(hi), vLo), tf.scalar(pos - lo)));
        const reduced = tf.squeeze(v, [v.rank - 1]);
        return keepDims ? tf.expandDims(reduced, a) : reduced;
      });
    },
    topk(x, k) {
      const d = lastDim(x);
      if (!(Number.isInteger(k) && k >= 1 && k <= d)) throw new FstaError('BAD_K', `topk k=${k} is outside [1, ${d}]`, 'pass k between 1 and the last dimension');
      const { values, indices } = tf.topk(x, k, true);
      indices.dispose();
      return values;
    },

    matmul(a, b) {
      if (b.rank !== 2) throw new FstaError('SHAPE_MISMATCH', `matmul needs a 2-D right operand, got ${shapeText(b.shape)}`, 'reshape the weight to (K, P)');
      const [K, P] = b.shape as [number, number];
      if (lastDim(a) !== K) throw new FstaError('SHAPE_MISMATCH', `matmul inner dimensions differ: ${shapeText(a.shape)} @ ${shapeText(b.shape)}`, 'make the last dimension of a equal the first of b');
      return tf.tidy(() => tf.reshape(tf.matMul(tf.reshape(a, [-1, K]), b), [...a.shape.slice(0, -1), P]));
    },
    linear(x, weight, bias) {
      if (weight.rank !== 2) throw new FstaError('SHAPE_MISMATCH', `linear weight must be (out, in), got ${shapeText(weight.shape)}`, 'pass the head weight as a 2-D tensor');
      const [O, D] = weight.shape as [number, number];
      if (lastDim(x) !== D) throw new FstaError('SHAPE_MISMATCH', `linear input has ${lastDim(x)} features but the weight expects ${D}`, 'pass penultimate features that match the head');
      if (bias && bias.size !== O) throw new FstaError('SHAPE_MISMATCH', `linear bias has ${bias.size} values, expected ${O}`, 'pass one bias per output');
      return tf.tidy(() => {
        let y = tf.matMul(tf.reshape(x, [-1, D]), weight, false, true);
        if (bias) y = tf.add(y, tf.reshape(bias, [O]));
        return tf.reshape(y, [...x.shape.slice(0, -1), O]);
      });
    },

    reshape(x, shape) {
      const dims = shape.map((s, i) => (s === 0 ? x.shape[i]! : s));
      const known = dims.filter((s) => s !== -1).reduce((a, b) => a * b, 1);
      const filled = dims.map((s) => (s === -1 ? x.size / known : s));
      const n = filled.reduce((a, b) => a * b, 1);
      if (n !== x.size || !filled.every((s) => Number.isInteger(s) && s >= 0) || dims.filter((s) => s === -1).length > 1) {
        throw new FstaError('SHAPE_MISMATCH', `cannot reshape ${shapeText(x.shape)} to ${shapeText(shape)}`, 'keep the number of elements the same');
      }
      return tf.reshape(x, filled);
    },
    transpose(x, perm) {
      if (perm.length !== x.rank || new Set(perm.map((p) => normAxis(p, x.rank))).size !== x.rank) {
        throw new FstaError('BAD_AXIS', `transpose of a rank-${x.rank} tensor needs a permutation of all ${x.rank} axes, got [${perm.join(', ')}]`, 'pass a permutation of all axes');
      }
      return tf.transpose(x, perm.map((p) => normAxis(p, x.rank)));
    },

    slice(x, axis, start, end) {
      const a = normAxis(axis, x.rank);
      const n = x.shape[a]!;
      const e = end ?? n;
      if (!(Number.isInteger(start) && Number.isInteger(e) && start >= 0 && start <= e && e <= n)) throw new FstaError('BAD_AXIS', `slice ${start}…${e} is outside axis ${a} of length ${n}`, 'pass 0 ≤ start ≤ end ≤ the axis length');
      return tf.slice(x, x.shape.map((_, i) => (i === a ? start : 0)), x.shape.map((d, i) => (i === a ? e - start : d)));
    },

    dispose: (x) => tf.dispose(x as Tensor | Tensor[]),
  };
  return ops;
}
