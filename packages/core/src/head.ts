import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { FstaError } from './errors.js';
import { type LinearHead, checkHead, rank2 } from './host.js';

/**
 * A linear head whose weight (O, D) and bias (O) are already tensors of the backend: in
 * an ONNX graph, the tensors the model's own final Gemm reads (its float initializers, or
 * the DequantizeLinear outputs of an int8-weight model), so no weight is copied.
 */
export interface TensorHead<T> {
  kind: 'tensors';
  weight: T;
  bias?: T | null;
}

/** A head as host arrays (LinearHead) or as backend tensors (TensorHead). */
export type Head<T> = LinearHead | TensorHead<T>;

const isTensorHead = <T>(h: Head<T>): h is TensorHead<T> => (h as TensorHead<T>).kind === 'tensors';

/** logits = h·Wᵀ + b, checked against the feature width. */
export function applyHead<T>(ops: TensorOps<T>, penultimate: T, head: Head<T>): T {
  const [, d] = rank2(ops, penultimate, 'penultimate features');
  if (isTensorHead(head)) {
    const ws = ops.shape(head.weight);
    if (ws.length !== 2) throw new FstaError('BAD_HEAD', `head weight has shape [${ws.join(', ')}], expected (classes, features)`, 'use the final nn.Linear layer (Gemm, transB = 1) as the head');
    if (d >= 0 && ws[1]! >= 0 && ws[1] !== d) throw new FstaError('SHAPE_MISMATCH', `head weight expects ${ws[1]} features but the penultimate features have ${d}`, 'pass the head (W, b) of the layer that consumes these features');
    const bs = head.bias != null ? ops.shape(head.bias) : null;
    if (bs && (bs.length !== 1 || (bs[0]! >= 0 && ws[0]! >= 0 && bs[0] !== ws[0]))) throw new FstaError('SHAPE_MISMATCH', `head bias has shape [${bs.join(', ')}] but the weight has ${ws[0]} outputs`, 'pass one bias per output class');
    return ops.linear(penultimate, head.weight, head.bias ?? undefined);
  }
  const { o: out, d: width } = checkHead(head, d);
  return tidy(ops, (o) => {
    const w = o.constant(Float32Array.from(head.weight.data), [out, width]);
    const b = head.bias != null ? o.constant(Float32Array.from(head.bias), [out]) : undefined;
    return o.linear(penultimate, w, b);
  });
}
