/**
 * The tensor-ops contract. Every formula in fsta (FS and its variants, TA, the
 * classifier scores, fusion) is written once against this interface; each runtime
 * supplies an implementation: the pure-TS reference (`referenceOps`), tf.js ops
 * (`@fsta/tfjs`) and an ONNX graph emitter (`@fsta/onnx`), where each call appends
 * nodes to a graph instead of computing.
 *
 * Conventions:
 * - Tensors are opaque handles `T`. Feature maps are NCHW, token features (B, C, L),
 *   logits and penultimate features (N, D).
 * - Binary ops broadcast as NumPy does.
 * - `axes` may be negative (counted from the end).
 * - `shape()` reports -1 for a dimension not known until run time (graph emitters).
 * - Every op returns a new tensor; inputs are never mutated. Call `dispose` on
 *   intermediates you created (a no-op where the runtime collects them itself).
 */
export interface TensorOps<T> {
  /** Short backend name, used in error messages and conformance reports. */
  readonly name: string;

  shape(x: T): readonly number[];
  /** A constant tensor (weights, thresholds, per-channel statistics). */
  constant(data: Float32Array | readonly number[], shape: readonly number[]): T;

  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  /** max(a, b) elementwise. */
  maximum(a: T, b: T): T;
  /** 1 where a > b, else 0 (float). */
  greater(a: T, b: T): T;

  abs(x: T): T;
  neg(x: T): T;
  relu(x: T): T;
  /** Clip to [min, max]; either bound may be omitted. */
  clamp(x: T, min?: number, max?: number): T;
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  square(x: T): T;

  sum(x: T, axes: readonly number[], keepDims?: boolean): T;
  mean(x: T, axes: readonly number[], keepDims?: boolean): T;
  max(x: T, axes: readonly number[], keepDims?: boolean): T;
  min(x: T, axes: readonly number[], keepDims?: boolean): T;
  /** log(sum(exp(x))) along axes, computed stably (max-shifted). */
  logsumexp(x: T, axes: readonly number[], keepDims?: boolean): T;
  softmax(x: T, axis: number): T;
  /**
   * The q-th percentile (0..100) along one axis, with linear interpolation between
   * order statistics (NumPy's default `method='linear'`).
   */
  percentile(x: T, q: number, axis: number, keepDims?: boolean): T;
  /** The k largest values along the last axis, sorted descending. */
  topk(x: T, k: number): T;

  /** a (.., M, K) @ b (K, P) → (.., M, P). */
  matmul(a: T, b: T): T;
  /** x (N, D) → x·Wᵀ + b with W (O, D), b (O): a classifier head. */
  linear(x: T, weight: T, bias?: T): T;

  /** -1 in `shape` is inferred; 0 copies that dimension from the input (ONNX Reshape semantics). */
  reshape(x: T, shape: readonly number[]): T;
  transpose(x: T, perm: readonly number[]): T;
  /** Elements start … end − 1 along one axis (end absent: to the end); e.g. the patch tokens after a class token. */
  slice(x: T, axis: number, start: number, end?: number): T;

  dispose(x: T | readonly T[]): void;
}

/**
 * A backend that also moves data in and out: what the conformance suite and
 * host-side scoring need. Graph emitters implement only `TensorOps`.
 */
export interface EagerOps<T> extends TensorOps<T> {
  fromArray(data: Float32Array | readonly number[], shape: readonly number[]): T;
  read(x: T): Promise<Float32Array>;
}

/**
 * Run `fn` with an op set that records every tensor it creates, then dispose all
 * of them except those returned (a tensor, or an array or plain object of them).
 * Formulas use this so that they free their intermediates on every backend.
 */
export function tidy<T, R>(ops: TensorOps<T>, fn: (o: TensorOps<T>) => R): R {
  const made: T[] = [];
  const passthrough = new Set<PropertyKey>(['name', 'shape', 'dispose', 'read']);
  const tracked = new Proxy(ops, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (passthrough.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        const out = value.apply(target, args);
        made.push(out);
        return out;
      };
    },
  });
  const result = fn(tracked);
  const kept = new Set<unknown>();
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && !made.includes(v as T)) Object.values(v).forEach(visit);
    else kept.add(v);
  };
  visit(result);
  const temps = made.filter((t) => !kept.has(t));
  if (temps.length > 0) ops.dispose(temps);
  return result;
}
