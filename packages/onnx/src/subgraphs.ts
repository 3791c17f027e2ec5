import type { OnnxAttribute, OnnxGraph, OnnxNode } from './types.js';

const subgraphsOf = (a: OnnxAttribute): OnnxGraph[] => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];

function definedIn(g: OnnxGraph): Set<string> {
  const d = new Set<string>();
  for (const v of g.input ?? []) if (v.name) d.add(v.name);
  for (const t of g.initializer ?? []) if (t.name) d.add(t.name);
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) d.add(o);
  return d;
}

/**
 * Tensors that a node's subgraphs (If branches, Loop and Scan bodies) read from the
 * enclosing graph without naming them as node inputs. They are real dependencies:
 * a node must come after their producers, and renaming them must reach inside.
 */
export function outerReferences(node: OnnxNode): string[] {
  const refs = new Set<string>();
  for (const a of node.attribute ?? []) {
    for (const g of subgraphsOf(a)) {
      const local = definedIn(g);
      for (const n of g.node ?? []) {
        for (const x of [...(n.input ?? []), ...outerReferences(n)]) if (x && !local.has(x)) refs.add(x);
      }
    }
  }
  return [...refs];
}

/**
 * A copy of `node` whose subgraphs read `rename(x)` instead of each outer tensor x
 * (names a subgraph defines itself shadow the outer ones and are left alone).
 * Attributes without subgraphs are shared, not copied.
 */
export function renameOuterReferences(node: OnnxNode, rename: ReadonlyMap<string, string>): OnnxNode {
  if (!(node.attribute ?? []).some((a) => subgraphsOf(a).length > 0)) return node;
  const inGraph = (g: OnnxGraph, outer: ReadonlyMap<string, string>): OnnxGraph => {
    const local = definedIn(g);
    const visible = new Map([...outer].filter(([k]) => !local.has(k)));
    return { ...g, node: (g.node ?? []).map((n) => renameOuterReferences({ ...n, input: (n.input ?? []).map((x) => visible.get(x) ?? x) }, visible)) };
  };
  return {
    ...node,
    attribute: (node.attribute ?? []).map((a) => (subgraphsOf(a).length === 0 ? a : { ...a, ...(a.g ? { g: inGraph(a.g, rename) } : {}), ...(a.graphs ? { graphs: a.graphs.map((g) => inGraph(g, rename)) } : {}) })),
  };
}
