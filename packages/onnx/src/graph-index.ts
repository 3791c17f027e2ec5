import { FstaError } from '@fsta/core';
import type { OnnxGraph, OnnxNode, OnnxTensor } from './types.js';
import { outerReferences } from './subgraphs.js';

/**
 * Who produces and who consumes each tensor of a graph, and a topological order.
 * Built once per graph; rebuild after editing.
 */
export class GraphIndex {
  /** Tensor name → index of the node that outputs it. */
  readonly producer = new Map<string, number>();
  /** Tensor name → indices of the nodes that read it (inside their subgraphs too). */
  readonly consumers = new Map<string, number[]>();
  /** Per node: its inputs plus the outer tensors its subgraphs read (If/Loop/Scan bodies). */
  readonly reads: string[][];
  readonly initializers = new Map<string, OnnxTensor>();
  readonly graphInputs: string[];
  readonly graphOutputs: string[];
  /** Node indices in an order where every node follows its producers. */
  readonly order: number[];

  constructor(readonly graph: OnnxGraph) {
    const nodes = graph.node ?? [];
    for (const t of graph.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    this.reads = nodes.map((n) => [...new Set([...(n.input ?? []), ...outerReferences(n)])]);
    nodes.forEach((n, i) => {
      for (const o of n.output ?? []) if (o) this.producer.set(o, i);
      for (const x of this.reads[i]!) {
        if (!x) continue;
        const c = this.consumers.get(x);
        if (c) { if (!c.includes(i)) c.push(i); } else this.consumers.set(x, [i]);
      }
    });
    this.graphInputs = (graph.input ?? []).map((v) => v.name ?? '').filter((n) => !this.initializers.has(n));
    this.graphOutputs = (graph.output ?? []).map((v) => v.name ?? '');
    this.order = this.topoSort(nodes);
  }

  get nodes(): OnnxNode[] {
    return this.graph.node ?? [];
  }

  /** The node that outputs `tensor`, or undefined for graph inputs and initializers. */
  producerOf(tensor: string): OnnxNode | undefined {
    const i = this.producer.get(tensor);
    return i === undefined ? undefined : this.nodes[i];
  }

  consumersOf(tensor: string): OnnxNode[] {
    return (this.consumers.get(tensor) ?? []).map((i) => this.nodes[i]!);
  }

  /** True when the tensor is a graph input, an initializer or a node output. */
  has(tensor: string): boolean {
    return this.producer.has(tensor) || this.initializers.has(tensor) || this.graphInputs.includes(tensor);
  }

  /** Indices of the nodes `tensors` depend on (transitively), in topological order. */
  ancestors(tensors: readonly string[]): number[] {
    const seen = new Set<number>();
    const stack = tensors.map((t) => this.producer.get(t)).filter((i): i is number => i !== undefined);
    while (stack.length) {
      const i = stack.pop()!;
      if (seen.has(i)) continue;
      seen.add(i);
      for (const x of this.reads[i]!) {
        const p = this.producer.get(x);
        if (p !== undefined && !seen.has(p)) stack.push(p);
      }
    }
    return this.order.filter((i) => seen.has(i));
  }

  /** Indices of the nodes that (transitively) read `tensor`, in topological order. */
  descendants(tensor: string): number[] {
    const seen = new Set<number>();
    const stack = [...(this.consumers.get(tensor) ?? [])];
    while (stack.length) {
      const i = stack.pop()!;
      if (seen.has(i)) continue;
      seen.add(i);
      for (const o of this.nodes[i]!.output ?? []) for (const c of this.consumers.get(o) ?? []) if (!seen.has(c)) stack.push(c);
    }
    return this.order.filter((i) => seen.has(i));
  }

  private topoSort(nodes: OnnxNode[]): number[] {
    const pending = nodes.map((_, i) => new Set(this.reads[i]!.filter((x) => x && this.producer.has(x))));
    const ready: number[] = [];
    pending.forEach((p, i) => { if (p.size === 0) ready.push(i); });
    const order: number[] = [];
    while (ready.length) {
      const i = ready.shift()!;
      order.push(i);
      for (const o of nodes[i]!.output ?? []) {
        for (const c of this.consumers.get(o) ?? []) {
          const p = pending[c]!;
          if (p.delete(o) && p.size === 0) ready.push(c);
        }
      }
    }
    if (order.length !== nodes.length) throw new FstaError('CYCLIC_GRAPH', `the graph has a cycle or a node reads a tensor produced later and never (${nodes.length - order.length} nodes unreachable)`, 're-export the model; ONNX graphs must be acyclic');
    return order;
  }
}
