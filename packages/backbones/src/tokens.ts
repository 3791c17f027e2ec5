import { FstaError, type FeatureLayout } from '@fsta/core';
import type { GraphNode, GraphView } from './graph.js';
import { hasConvAncestor, indexGraph, isChannelsLast, isConv, isUnder } from './graph.js';
import type { StageName } from './manifest.js';
import { STAGE_NAMES } from './manifest.js';
import { childModules, select } from './select.js';

/** A block's output in a transformer trunk: the residual stream after the block. */
export interface TokenBlock {
  readonly tensor: string;
  readonly node: string;
  /** Module path of the block, e.g. 'encoder/layers/encoder_layer_3' or 'features/features.5/features.5.1'. */
  readonly module: string;
}

/**
 * The trunk of a vision transformer export: every block output, the layout they share and
 * the stages. The block outputs are the only tensors whose layout is known; stage
 * discovery names stages among them.
 */
export interface TokenTrunk {
  readonly family: 'vit' | 'swin';
  readonly layout: Extract<FeatureLayout, 'nlc' | 'nhwc'>;
  /** Tokens in front of the patch tokens (ViT's class token): no position of the image, left out of FS. */
  readonly prefixTokens: number;
  readonly blocks: readonly TokenBlock[];
  /** C5 = the last block; ViT: C4 = the middle block; Swin: C2…C5 = the last block of each stage. */
  readonly stages: Readonly<Partial<Record<StageName, TokenBlock>>>;
  /** How the trunk was recognized, for `inspect` and errors. */
  readonly rule: string;
}

const cache = new WeakMap<GraphView, TokenTrunk | FstaError | null>();

/**
 * The token trunk of a torchvision VisionTransformer (`/conv_proj/` patch embedding, blocks
 * under `/encoder/layers/`) or SwinTransformer (`/features/features.0/` patch embedding and
 * permute to channels-last, stages of blocks `/features/features.K/features.K.J/`), or null
 * for other graphs. Throws SHAPE_UNKNOWN when a trunk is recognized but its token shapes are
 * not static (the layout and the class token count are read from them).
 */
export function tokenTrunk(graph: GraphView): TokenTrunk | null {
  const t = recognise(graph);
  if (t instanceof FstaError) throw t;
  return t;
}

function recognise(graph: GraphView): TokenTrunk | FstaError | null {
  if (cache.has(graph)) return cache.get(graph)!;
  let t: TokenTrunk | FstaError | null;
  try {
    t = vitTrunk(graph) ?? swinTrunk(graph);
  } catch (e) {
    if (!(e instanceof FstaError)) throw e;
    t = e;
  }
  cache.set(graph, t);
  return t;
}

/**
 * The layout of `tensor` where a token trunk knows it (its block outputs), else null; null
 * also where a trunk was recognized without static shapes (its layout is then not known).
 */
export function knownTokenLayout(graph: GraphView, tensor: string): { layout: FeatureLayout; prefixTokens: number } | null {
  const t = recognise(graph);
  if (!t || t instanceof FstaError || !t.blocks.some((b) => b.tensor === tensor)) return null;
  return { layout: t.layout, prefixTokens: t.prefixTokens };
}

const permOf = (n: GraphNode | undefined): readonly number[] | null => {
  const p = n?.attributes?.['perm'];
  return Array.isArray(p) ? p : null;
};
const samePerm = (p: readonly number[] | null, want: readonly number[]) => p !== null && p.length === want.length && p.every((d, i) => d === want[i]);

function blockOf(graph: GraphView, module: string): TokenBlock | null {
  const r = select(graph, { module });
  return 'error' in r ? null : { tensor: r.tensor, node: r.node.name, module };
}

const shapeUnknown = (what: string, tensor: string) =>
  new FstaError('SHAPE_UNKNOWN', `the ${what} "${tensor}" has no static shape, so its token layout cannot be checked`, 'export the model with a fixed input size (height and width), or name the stages yourself in a manifest');

/** torchvision VisionTransformer: Conv patch embedding → flatten → Transpose [0, 2, 1] → class token → blocks. */
function vitTrunk(graph: GraphView): TokenTrunk | null {
  const names = childModules(graph, 'encoder/layers');
  if (names.length < 2) return null;
  const conv = graph.nodes.find((n) => isConv(n.opType) && isUnder(n.name, 'conv_proj'));
  if (!conv) return null;
  // The patch grid becomes tokens: (N, C, h, w) → Reshape/Flatten (N, C, L) → Transpose [0, 2, 1] (N, L, C).
  const { consumers } = indexGraph(graph);
  const flat = (consumers.get(conv.outputs[0]!) ?? []).filter((n) => n.opType === 'Reshape' || n.opType === 'Flatten');
  const toTokens = flat.flatMap((f) => consumers.get(f.outputs[0]!) ?? []).find((n) => n.opType === 'Transpose' && samePerm(permOf(n), [0, 2, 1]));
  if (!toTokens) return null;
  const blocks = names.map((c) => blockOf(graph, `encoder/layers/${c}`));
  if (blocks.some((b) => b === null)) return null;
  const bs = blocks as TokenBlock[];
  const grid = graph.shapes.get(conv.outputs[0]!);
  if (!grid || grid.length !== 4 || !(grid[1]! > 0 && grid[2]! > 0 && grid[3]! > 0)) throw shapeUnknown('patch embedding', conv.outputs[0]!);
  const [, c, h, w] = grid as [number, number, number, number];
  for (const b of bs) {
    const s = graph.shapes.get(b.tensor);
    if (!s || s.length !== 3 || !(s[1]! > 0)) throw shapeUnknown('encoder block output', b.tensor);
    // Channels last and every patch token there: (N, prefix + h·w, C).
    if (s[2] !== c || s[1]! < h * w || !hasConvAncestor(graph, b.tensor)) return null;
  }
  const L = graph.shapes.get(bs.at(-1)!.tensor)![1]!;
  return {
    family: 'vit', layout: 'nlc', prefixTokens: L - h * w, blocks: bs,
    stages: { C4: bs[Math.ceil(bs.length / 2) - 1]!, C5: bs.at(-1)! },
    rule: `ViT: ${bs.length} encoder blocks under /encoder/layers/, tokens (N, ${L}, ${c}) = ${L - h * w} class token(s) + ${h}x${w} patches`,
  };
}

/** torchvision SwinTransformer: Conv patch embedding → Permute [0, 2, 3, 1] → stages of blocks, NHWC throughout. */
function swinTrunk(graph: GraphView): TokenTrunk | null {
  const children = childModules(graph, 'features');
  if (children.length < 2) return null;
  const stem = graph.nodes.find((n) => isConv(n.opType) && isUnder(n.name, `features/${children[0]}`));
  if (!stem) return null;
  const { consumers } = indexGraph(graph);
  if (!(consumers.get(stem.outputs[0]!) ?? []).some((n) => n.opType === 'Transpose' && samePerm(permOf(n), [0, 2, 3, 1]))) return null;
  const stages: TokenBlock[][] = [];
  for (const c of children.slice(1)) {
    const blockNames = childModules(graph, `features/${c}`).filter((b) => b.startsWith(`${c}.`) && /^\d+$/.test(b.slice(c.length + 1)));
    if (blockNames.length === 0) continue; // PatchMerging: no blocks of its own
    const blocks = blockNames.map((b) => blockOf(graph, `features/${c}/${b}`));
    if (blocks.some((b) => b === null)) return null;
    stages.push(blocks as TokenBlock[]);
  }
  if (stages.length === 0) return null;
  for (const b of stages.flat()) {
    const s = graph.shapes.get(b.tensor);
    if (!s || s.length !== 4 || !(s[1]! > 0 && s[2]! > 0 && s[3]! > 0)) throw shapeUnknown('Swin block output', b.tensor);
    if (!isChannelsLast(graph, b.tensor)) return null;
  }
  const ends = stages.map((s) => s.at(-1)!);
  const named = ends.slice(-STAGE_NAMES.length);
  const names = STAGE_NAMES.slice(STAGE_NAMES.length - named.length);
  return {
    family: 'swin', layout: 'nhwc', prefixTokens: 0, blocks: stages.flat(),
    stages: Object.fromEntries(named.map((b, i) => [names[i]!, b])),
    rule: `Swin: ${stages.length} stages of blocks under /features/, channels-last (N, H, W, C) maps`,
  };
}
