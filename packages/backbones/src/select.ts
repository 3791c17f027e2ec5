import type { GraphNode, GraphView } from './graph.js';
import { indexGraph, isUnder, modulePath, shapeOf } from './graph.js';
import type { StageSelector } from './manifest.js';

export const describeSelector = (s: StageSelector): string =>
  `last node under module "/${s.module}/"${s.opTypes ? ` with op ${s.opTypes.join('|')}` : ''}${s.then ? `, then its ${s.then.join('→')} consumer` : ''}`;

export type Selection = { node: GraphNode; tensor: string } | { error: string };

/** Applies a selector; on failure says which part found nothing. */
export function select(graph: GraphView, s: StageSelector): Selection {
  let node: GraphNode | undefined;
  let anyUnder = false;
  for (const n of graph.nodes) {
    if (!isUnder(n.name, s.module)) continue;
    anyUnder = true;
    if (!s.opTypes || s.opTypes.includes(n.opType)) node = n;
  }
  if (!node) {
    return { error: anyUnder ? `no ${s.opTypes!.join('|')} node under module "/${s.module}/"` : `no node under module "/${s.module}/"` };
  }
  const { consumers } = indexGraph(graph);
  let found: GraphNode = node;
  for (const op of s.then ?? []) {
    const next: GraphNode[] = (consumers.get(found.outputs[0]!) ?? []).filter((c) => c.opType === op);
    if (next.length !== 1) return { error: `"${found.name}" has ${next.length} ${op} consumers, expected exactly 1` };
    found = next[0]!;
  }
  return { node: found, tensor: found.outputs[0]! };
}

/** Distinct direct child modules under `prefix` (e.g. 'layer3' → layer3.0 … layer3.5), in first-seen order. */
export function childModules(graph: GraphView, prefix: string): string[] {
  const depth = prefix.split('/').filter((p) => p !== '').length;
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    if (!isUnder(n.name, prefix)) continue;
    const child = modulePath(n.name)[depth];
    if (child !== undefined) seen.add(child);
  }
  return [...seen];
}

export const hasModule = (graph: GraphView, prefix: string): boolean => graph.nodes.some((n) => isUnder(n.name, prefix));

/** Weight shape of the first Conv under `prefix` (looking through DequantizeLinear), or null. */
export function firstConvWeightShape(graph: GraphView, prefix: string): readonly number[] | null {
  const conv = graph.nodes.find((n) => n.opType === 'Conv' && isUnder(n.name, prefix));
  const w = conv?.inputs[1];
  return w ? (shapeOf(graph, w) ?? null) : null;
}

export const sameDims = (a: readonly number[] | null, b: readonly number[]): boolean =>
  a !== null && a.length === b.length && a.every((d, i) => d === b[i]);
