import { FstaError } from '@fsta/core';
import type { GraphView } from './graph.js';
import { indexGraph, isNonNegative } from './graph.js';
import type { StageName } from './manifest.js';
import { STAGE_NAMES } from './manifest.js';
import type { StageMap } from './stages.js';
import { describeStage, imageInput } from './stages.js';

/** Ops whose outputs describe a tensor's shape, not its values: data does not flow through them. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

/**
 * The main trunk: tensors every data path from the image input to the deepest feature
 * map passes through (its dominators). Side branches (a ResNet block's residual convs,
 * DenseNet's per-layer features, an FPN) are not on it; stage outputs are.
 */
function trunk(graph: GraphView, input: string): string[] {
  const reach = new Set<string>([input]);
  const idom = new Map<string, string>();
  const depth = new Map<string, number>([[input, 0]]);
  const lca = (a: string, b: string): string => {
    while (a !== b) {
      if (depth.get(a)! >= depth.get(b)!) a = idom.get(a)!;
      else b = idom.get(b)!;
    }
    return a;
  };
  for (const node of graph.nodes) {
    if (SHAPE_OPS.has(node.opType)) continue;
    const preds = node.inputs.filter((i) => reach.has(i));
    if (preds.length === 0) continue;
    const dom = preds.reduce(lca);
    for (const o of node.outputs) {
      if (o === '') continue;
      reach.add(o);
      idom.set(o, dom);
      depth.set(o, depth.get(dom)! + 1);
    }
  }
  // The deepest feature map: most channels, then smallest, then latest. Maps of 1x1
  // (global pooling) are not stages: FS is identically 0 on them.
  let end: string | null = null;
  let best = [-1, 0];
  for (const node of graph.nodes) {
    for (const o of node.outputs) {
      const s = graph.shapes.get(o);
      if (!reach.has(o) || !s || s.length !== 4 || !(s[1]! > 0 && s[2]! > 0 && s[3]! > 0) || s[2]! * s[3]! === 1) continue;
      const key = [s[1]!, -(s[2]! * s[3]!)];
      if (key[0]! > best[0]! || (key[0] === best[0] && key[1]! >= best[1]!)) {
        best = key;
        end = o;
      }
    }
  }
  if (end === null) return [];
  const chain: string[] = [];
  for (let t: string | undefined = end; t !== undefined && t !== input; t = idom.get(t)) chain.push(t);
  return chain.reverse();
}

/**
 * Automatic stage detection for a CNN without a manifest: along the main trunk, the
 * last tensor at each spatial resolution before the next downsampling is a stage
 * output, preferring the last non-negative (activation) tensor at that resolution so
 * that TA lands on activations. Stages are named back from the last: C5, C4, C3, C2.
 * When the last resolution is reached before stride 32 (a dilated network such as
 * FCN), the trunk at that resolution is split where the channel count changes, so
 * dilated stages keep their own names (FCN-ResNet50: C3, C4, C5 all at stride 8).
 */
export function detectStages(graph: GraphView): StageMap {
  const input = imageInput(graph);
  if (input === null) throw noStages('it has no image input of rank 3 or 4');
  const inShape = graph.shapes.get(input)!;
  if (!(inShape.at(-2)! > 0 && inShape.at(-1)! > 0)) {
    throw new FstaError('SHAPE_UNKNOWN', `the image input "${input}" has no static height and width ([${inShape.join(', ')}])`, 'fix the input size when inferring shapes (e.g. 224x224), or pass --backbone NAME for a known family');
  }
  const hasConv = graph.nodes.some((n) => n.opType === 'Conv' || n.opType === 'ConvInteger' || n.opType === 'QLinearConv');
  if (!hasConv) throw noStages('it has no Conv node');
  const { producer } = indexGraph(graph);
  const path = trunk(graph, input).filter((t) => {
    const s = graph.shapes.get(t);
    return s?.length === 4 && s[2]! > 0 && s[3]! > 0;
  });
  if (path.length === 0) throw noStages('no 4-D feature map with a static size lies on a path from the input');

  // Runs of equal resolution along the trunk.
  const groups: string[][] = [];
  for (const t of path) {
    const [, , h, w] = graph.shapes.get(t)!;
    const last = groups.at(-1);
    const [, , lh, lw] = last ? graph.shapes.get(last[0]!)! : [];
    if (last && lh === h && lw === w) last.push(t);
    else groups.push([t]);
  }
  const pick = (run: string[]): string => [...run].reverse().find((t) => isNonNegative(graph, t)) ?? run.at(-1)!;
  const picks = groups.slice(0, -1).map(pick);
  const deepest = groups.at(-1)!;
  const inH = inShape.at(-2)!;
  const deepStride = inH / graph.shapes.get(deepest[0]!)![2]!;
  if (deepStride < 32) {
    const runs: string[][] = [];
    for (const t of deepest) {
      const c = graph.shapes.get(t)![1];
      const last = runs.at(-1);
      if (last && graph.shapes.get(last[0]!)![1] === c) last.push(t);
      else runs.push([t]);
    }
    picks.push(...runs.map(pick));
  } else picks.push(pick(deepest));

  const stages: Partial<Record<StageName, ReturnType<typeof describeStage>>> = {};
  const named = picks.slice(-STAGE_NAMES.length);
  const names = STAGE_NAMES.slice(STAGE_NAMES.length - named.length);
  named.forEach((t, i) => (stages[names[i]!] = describeStage(graph, t, producer.get(t)!.name)));
  return stages;
}

const noStages = (why: string) =>
  new FstaError('NO_CONV_STAGES', `the model has no convolutional stages: ${why}`, 'fsta scores CNN feature maps: pass a convolutional model (NCHW image input, Conv layers), or a known backbone with --backbone NAME');
