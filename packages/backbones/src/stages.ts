import type { GraphView } from './graph.js';
import { isNonNegative } from './graph.js';
import { structuralStrides } from './strides.js';
import type { StageName } from './manifest.js';

/** A stage resolved to a tensor of one graph. */
export interface ResolvedStage {
  readonly tensor: string;
  /** Node that produces it. */
  readonly node: string;
  /** Static NCHW shape; -1 where unknown until run time (the batch axis, usually). */
  readonly shape: readonly number[];
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
export function strideOfTensor(graph: GraphView, tensor: string): number | null {
  const input = imageInput(graph);
  const s = input ? structuralStrides(graph, input).get(tensor) : undefined;
  const structural = s !== undefined && Number.isInteger(s) && s >= 1 ? s : null;
  const shape = graph.shapes.get(tensor);
  const inH = inputHeight(graph);
  const h = shape?.length === 4 ? shape[2]! : -1;
  if (!(inH > 0 && h > 0)) return structural;
  // Both known: the layers' own strides are exact unless the sizes say otherwise (a graph without stride attributes).
  return structural !== null && Math.abs(Math.log2(inH / h) - Math.log2(structural)) < 1 ? structural : strideOf(inH, h);
}

export function describeStage(graph: GraphView, tensor: string, node: string): ResolvedStage {
  const shape = graph.shapes.get(tensor) ?? [-1, -1, -1, -1];
  return { tensor, node, shape, stride: strideOfTensor(graph, tensor), nonNegative: isNonNegative(graph, tensor) };
}
