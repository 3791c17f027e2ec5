import type { GraphView } from './graph.js';
import { ancestors, indexGraph, isNonNegative } from './graph.js';
import { implausibility } from './plausibility.js';
import type { FeatureLayout } from '@fsta/core';
import { imageInput, layoutOf } from './stages.js';
import { resolutionKey } from './strides.js';
import type { ResolvedStage } from './stages.js';

/** Where TA goes for a stage, and what to tell the user about it. */
export interface TaTarget {
  /** The stage TA was asked for (C4, or a tensor name). */
  readonly stage: string;
  /** The tensor TA applies to: the stage's own when non-negative, else the nearest non-negative tensor of the stage. */
  readonly tensor: string;
  readonly node: string;
  /** Layout of `tensor` (see `ResolvedStage.layout`): what the TA pass's stage map is exposed in. */
  readonly layout: FeatureLayout;
  readonly prefixTokens: number;
  /** Set when `tensor` is not the stage's own tensor: which one was taken and why. */
  readonly note: string | null;
  /** Set when TA lands on a signed tensor (no non-negative one in the stage): what TA then means. */
  readonly warning: string | null;
}

export const SIGNED_TA_MEANING =
  'TA there is ReLU(f − k) on a signed tensor: it zeroes every response below k, the negative ones included, which is not the paper\'s TA (a threshold on ReLU activations); FS+TA still works as a score, but calibrate k on ID data (`fsta calibrate`) or use FS alone (taStage null)';

/** Non-negative outputs that gate another tensor (SiLU = x·Sigmoid(x), hardswish, attention) rather than carry features. */
const GATES = new Set(['Sigmoid', 'HardSigmoid', 'Softmax']);

/**
 * A tensor that only multiplies another one, directly or after scaling by a constant: a
 * gate written out of plain ops (TF's hard_swish is x · Relu6(x + 3) / 6), not a feature map.
 */
function gatesByUse(graph: GraphView, tensor: string, depth = 0): boolean {
  const users = indexGraph(graph).consumers.get(tensor) ?? [];
  const isConst = (t: string) => graph.initializerNames.has(t) || graph.constants?.has(t) === true;
  return depth < 3 && users.length > 0 && users.every((u) => {
    if (u.opType !== 'Mul' && u.opType !== 'Div') return false;
    const others = u.inputs.filter((i) => i !== tensor && i !== '');
    if (u.opType === 'Mul' && others.some((i) => !isConst(i))) return true;
    return others.every(isConst) && gatesByUse(graph, u.outputs[0]!, depth + 1);
  });
}

/**
 * The latest non-negative tensor at `tensor`'s resolution that `tensor` depends on and
 * that the previous stage (`previous`) does not already contain: the stage's last activation.
 */
export function latestNonNegativeInStage(graph: GraphView, tensor: string, previous: string | null): { tensor: string; node: string } | null {
  const input = imageInput(graph);
  const want = resolutionKey(graph, input, tensor);
  const inStage = ancestors(graph, tensor);
  const before = previous ? ancestors(graph, previous) : new Set<string>();
  let found: { tensor: string; node: string } | null = null;
  for (const n of graph.nodes) {
    for (const o of n.outputs) {
      if (!inStage.has(o) || before.has(o) || want === null || resolutionKey(graph, input, o) !== want) continue;
      if (!GATES.has(n.opType) && isNonNegative(graph, o) && !gatesByUse(graph, o) && implausibility(graph, o) === null) found = { tensor: o, node: n.name };
    }
  }
  return found;
}

/**
 * TA belongs on a non-negative tensor (a ReLU, ReLU6 or Clip(min ≥ 0) output). For a
 * signed stage (SiLU, hardswish, GELU, LayerNorm, a linear block output), take the
 * latest non-negative tensor of the same resolution inside that stage (an ancestor of the
 * stage tensor that the previous stage does not already contain), and say so; where there
 * is none, keep the stage tensor and warn.
 */
export function taTarget(graph: GraphView, stage: string, resolved: ResolvedStage, previous: ResolvedStage | null): TaTarget {
  const base = { stage, tensor: resolved.tensor, node: resolved.node, layout: resolved.layout, prefixTokens: resolved.prefixTokens };
  if (resolved.nonNegative) return { ...base, note: null, warning: null };
  const found = latestNonNegativeInStage(graph, resolved.tensor, previous?.tensor ?? null);
  if (found) {
    return { stage, ...found, ...layoutOf(graph, found.tensor), note: `${stage} ("${resolved.tensor}") is signed; TA goes on the nearest non-negative tensor of that stage, "${found.tensor}" (node ${found.node})`, warning: null };
  }
  return { ...base, note: null, warning: signedTaWarning(stage, resolved.tensor) };
}

export const signedTaWarning = (stage: string, tensor: string, searched = true): string =>
  `the TA stage ${stage === tensor ? `tensor "${tensor}"` : `${stage} ("${tensor}")`} is signed${searched ? ' and has no non-negative tensor at its resolution' : ''}: ${SIGNED_TA_MEANING}`;
