import type { TensorOps } from './ops.js';
import { tidy } from './ops.js';
import { type LinearHead, checkHead, rank2 } from './host.js';


/** logits = h·Wᵀ + b for a host-side head, checked against the feature width. */
export function applyHead<T>(ops: TensorOps<T>, penultimate: T, head: LinearHead): T {
  const [, d] = rank2(ops, penultimate, 'penultimate features');
  const { o: out, d: width } = checkHead(head, d);
  return tidy(ops, (o) => {
    const w = o.constant(Float32Array.from(head.weight.data), [out, width]);
    const b = head.bias != null ? o.constant(Float32Array.from(head.bias), [out]) : undefined;
    return o.linear(penultimate, w, b);
  });
}
