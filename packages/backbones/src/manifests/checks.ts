import type { GraphView } from '../graph.js';
import type { MatchResult } from '../manifest.js';

/** Runs named structural checks in order; the first that fails is the reason a manifest does not match. */
export type Check = readonly [what: string, ok: (g: GraphView) => boolean];

export function runChecks(graph: GraphView, checks: readonly Check[]): MatchResult {
  for (const [what, ok] of checks) if (!ok(graph)) return { ok: false, reason: `expected ${what}` };
  return { ok: true };
}

/** 'backbone/body' + 'layer3' → 'backbone/body/layer3'. */
export const under = (root: string, path: string): string => (root === '' ? path : `${root}/${path}`);
