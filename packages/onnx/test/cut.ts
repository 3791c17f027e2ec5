import { encodeModel, GraphIndex, type OnnxModel } from '../src/index.js';

/**
 * The original model from `from` to `to`, with `from` as its only graph input: the
 * host computes TA, feeds it here, and gets the FS stage of the TA pass without any
 * of the patch's nodes involved.
 */
export function cutBetween(m: OnnxModel, from: string, to: string): Uint8Array {
  const g = new GraphIndex(m.graph!);
  const keep = new Set<number>();
  const need = (t: string): void => {
    if (t === from || t === '' || g.initializers.has(t)) return;
    const p = g.producer.get(t);
    if (p === undefined) throw new Error(`the cut at ${from} still needs ${t}, which comes from before it`);
    if (keep.has(p)) return;
    keep.add(p);
    (g.nodes[p]!.input ?? []).forEach(need);
  };
  need(to);
  const node = g.order.filter((i) => keep.has(i)).map((i) => g.nodes[i]!);
  // Only the weights the cut reads: a detector's other 100+ MB need not be encoded again.
  const used = new Set(node.flatMap((n) => n.input ?? []));
  const initializer = (m.graph!.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  return encodeModel({ ...m, graph: { ...m.graph!, node, initializer, input: [{ name: from, type: { tensorType: { elemType: 1 } } }], output: [{ name: to }], valueInfo: [] } });
}
