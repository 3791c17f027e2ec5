import { FstaError } from '@fsta/core';
import type { GraphView } from './graph.js';
import { hasConvAncestor, indexGraph, isChannelsLast, isPermutedTokens, isUnder, modulePath } from './graph.js';
import { knownTokenLayout } from './tokens.js';
import { imageInput, strideOfTensor } from './stages.js';

/** Top-level modules that hold heads in torchvision exports: detection heads, segmentation heads (ASPP included), RPN. */
const HEAD_MODULES = ['roi_heads', 'rpn', 'head', 'classifier', 'aux_classifier', 'anchor_generator', 'transform'];

const hasModule = (graph: GraphView, prefix: string) => graph.nodes.some((n) => isUnder(n.name, prefix));

/**
 * Where a torchvision detector's or segmenter's backbone lives, or null for other models:
 * detectors carry it under `/backbone/body/` (the FPN beside it under `/backbone/fpn/`),
 * segmenters and SSDs under `/backbone/` with their head under `/classifier/` or `/head/`.
 */
export function backboneRoot(graph: GraphView): string | null {
  if (hasModule(graph, 'backbone/body')) return 'backbone/body';
  if (hasModule(graph, 'backbone') && (hasModule(graph, 'classifier') || hasModule(graph, 'aux_classifier') || hasModule(graph, 'head'))) return 'backbone';
  return null;
}

/** True when attention (a Softmax feeding a MatMul) lies downstream of `tensor` outside the model's head modules. */
function attentionFollows(graph: GraphView, tensor: string): boolean {
  const { consumers } = indexGraph(graph);
  const seen = new Set<string>([tensor]);
  const todo = [tensor];
  while (todo.length) {
    for (const n of consumers.get(todo.pop()!) ?? []) {
      const top = modulePath(n.name)[0];
      if (top !== undefined && HEAD_MODULES.includes(top)) continue;
      // Attention: softmax weights multiplied into values (a classifier's output softmax feeds nothing).
      if (n.opType === 'Softmax' && n.outputs.some((o) => (consumers.get(o) ?? []).some((c) => c.opType === 'MatMul' || c.opType === 'Einsum'))) return true;
      for (const o of n.outputs) if (!seen.has(o)) { seen.add(o); todo.push(o); }
    }
  }
  return false;
}

/** Why `tensor` cannot be a stage, or null when it can. `c5` adds: not at the input's resolution. */
export function implausibility(graph: GraphView, tensor: string, c5 = false): string | null {
  const node = indexGraph(graph).producer.get(tensor);
  if (graph.inputs.includes(tensor)) return 'is a model input';
  if (!node) return graph.initializerNames.has(tensor) ? 'is a weight (initializer), not an activation' : 'is produced by no node of the model';
  const shape = graph.shapes.get(tensor);
  if (shape && shape.length !== 4 && shape.length !== 3) return `has shape [${shape.join(', ')}]: a stage is a feature map (N, C, H, W) or tokens (N, C, L)`;
  if (!hasConvAncestor(graph, tensor)) return 'is the input or only a preprocessing of it (no convolution between the input and it)';
  // Channels-last maps and (N, L, C) tokens are stages only where a token trunk knows their layout (its block outputs).
  const known = knownTokenLayout(graph, tensor) !== null;
  if (!known && shape?.length === 4 && isChannelsLast(graph, tensor)) return 'is channels-last (N, H, W, C), between a Transpose [0, 2, 3, 1] and its inverse, and not a block output of a known token trunk (ViT, Swin), so its layout is unknown';
  if (!known && shape?.length === 3 && isPermutedTokens(graph, tensor)) return 'is a token tensor behind a Transpose (e.g. (N, L, C) tokens), not (N, C, L), and not a block output of a known token trunk (ViT, Swin), so its layout is unknown';
  const top = modulePath(node.name)[0];
  if (top !== undefined && HEAD_MODULES.includes(top)) return `lies inside the model's head (module /${top}/)`;
  const root = backboneRoot(graph);
  if (root !== null && !isUnder(node.name, root)) return `lies after the backbone (this model's backbone is under /${root}/)`;
  if (c5 && strideOfTensor(graph, tensor) === 1) return `is at the input's resolution (stride 1): a last stage is downsampled`;
  if (c5 && !known && attentionFollows(graph, tensor)) return 'is followed by attention (Softmax) blocks, so it is not the last stage: this looks like a token model (ViT/DeiT/Swin style) whose blocks fsta does not recognise (it knows torchvision\'s), and FS there would be taken on an early tensor such as the patch embedding';
  return null;
}

export const STAGE_FIX = 'name the stage tensor yourself (--fs-stage / --ta-stage TENSOR, fsStage / taStage in the config, or a manifest); `fsta inspect` lists the candidates';

/** Throws IMPLAUSIBLE_STAGE naming the tensor, the reason and the fix. */
export function assertPlausible(graph: GraphView, tensor: string, what: string, c5 = false): void {
  const why = implausibility(graph, tensor, c5);
  if (why === null) return;
  const node = indexGraph(graph).producer.get(tensor);
  throw new FstaError('IMPLAUSIBLE_STAGE', `the ${what} "${tensor}"${node ? ` (node ${node.name})` : ''} ${why}`, STAGE_FIX, { tensor, input: imageInput(graph) });
}
