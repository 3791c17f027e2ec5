import type { FeatureLayout } from '@fsta/core';
import type { GraphView } from './graph.js';
import { isNonNegative } from './graph.js';
import { knownTokenLayout } from './tokens.js';
import { structuralStrides } from './strides.js';
import type { StageName } from './manifest.js';

/** A stage resolved to a tensor of one graph. */
export interface ResolvedStage {
  readonly tensor: string;
  /** Node that produces it. */
  readonly node: string;
  /** Static shape in `layout`; -1 where unknown until run time (the batch axis, usually). */
  readonly shape: readonly number[];
  /**
   * How the tensor holds its channels: 'nchw' / 'ncl' (FS takes it as it is), or, where a
   * token trunk is known (`tokenTrunk`), 'nhwc' (Swin) or 'nlc' (ViT tokens (N, L, C)).
   */
  readonly layout: FeatureLayout;
  /** Leading tokens of an 'nlc' sequence that FS leaves out (ViT's class token); 0 otherwise. */
  readonly prefixTokens: number;
  /** Input height / stage height as a whole number (see `strideOf`), when both are static. */
  readonly stride: number | null;
  /** Provably ≥ 0 (an activation output): where TA is meaningful. */
  readonly nonNegative: boolean;
}

export type StageMap = Readonly<Partial<Record<StageName, ResolvedStage>>>;

/** The rank-≥3 graph input that images enter by (rank 3 for a detector taking one CHW image). */
export function imageInput(graph: GraphView): string | null {
  const ranked = graph.inputs.filter((i) => (graph.shapes.get(i)?.length ?? 0) >= 3);
  return ranked.find((i) => graph.shapes.get(i)!.length === 4) ?? ranked[0] ?? null;
}

/**
 * The stride of a map of height `h` on an input of height `inH`, as a whole number.
 * Unpadded convolutions and pools make the ratio fractional (SqueezeNet: 224 → 13, 17.2):
 * the nearest power of two within 25 % is the stride the layers really apply (16),
 * otherwise the rounded ratio.
 */
export function strideOf(inH: number, h: number): number {
  const r = inH / h;
  const p = 2 ** Math.round(Math.log2(r));
  return Math.abs(r - p) <= 0.25 * p ? p : Math.max(1, Math.round(r));
}

/** The layout of a stage tensor: known from a token trunk, else channels first by rank. */
export function layoutOf(graph: GraphView, tensor: string): { layout: FeatureLayout; prefixTokens: number } {
  return knownTokenLayout(graph, tensor) ?? { layout: graph.shapes.get(tensor)?.length === 3 ? 'ncl' : 'nchw', prefixTokens: 0 };
}

/** Height of a map in its layout, or -1. */
function mapHeight(graph: GraphView, tensor: string, layout: FeatureLayout): number {
  const shape = graph.shapes.get(tensor);
  if (shape?.length !== 4) return -1;
  return layout === 'nhwc' ? shape[1]! : shape[2]!;
}

/** Input height of the image input, or -1 when unknown. */
export function inputHeight(graph: GraphView): number {
  const input = imageInput(graph);
  return input ? (graph.shapes.get(input)!.at(-2) ?? -1) : -1;
}

/**
 * The stride of `tensor`: the product of the strides of the convolutions and pools before it
 * when that agrees with input size / map size within a factor 2 (it is exact where unpadded
 * layers make the ratio fractional), else that ratio as a whole number; null when neither is known.
 */
export function strideOfTensor(graph: GraphView, tensor: string, layout: FeatureLayout = layoutOf(graph, tensor).layout): number | null {
  const input = imageInput(graph);
  const s = input ? structuralStrides(graph, input).get(tensor) : undefined;
  const structural = s !== undefined && Number.isInteger(s) && s >= 1 ? s : null;
  const shape = graph.shapes.get(tensor);
  const inH = inputHeight(graph);
  const h = shape?.length === 4 ? mapHeight(graph, tensor, layout) : -1;
  if (!(inH > 0 && h > 0)) return structural;
  // Both known: the layers' own strides are exact unless the sizes say otherwise (a graph without stride attributes).
  return structural !== null && Math.abs(Math.log2(inH / h) - Math.log2(structural)) < 1 ? structural : strideOf(inH, h);
}

/** A stage tensor resolved: in the layout a token trunk knows (`layoutOf`), or in `layout` where a manifest declares one. */
export function describeStage(graph: GraphView, tensor: string, node: string, layout: { layout: FeatureLayout; prefixTokens: number } = layoutOf(graph, tensor)): ResolvedStage {
  const shape = graph.shapes.get(tensor) ?? [-1, -1, -1, -1];
  return { tensor, node, shape, ...layout, stride: strideOfTensor(graph, tensor, layout.layout), nonNegative: isNonNegative(graph, tensor) };
}
