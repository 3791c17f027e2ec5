import type { GraphView } from './graph.js';
import { isNonNegative } from './graph.js';
import type { StageName } from './manifest.js';

/** A stage resolved to a tensor of one graph. */
export interface ResolvedStage {
  readonly tensor: string;
  /** Node that produces it. */
  readonly node: string;
  /** Static NCHW shape; -1 where unknown until run time (the batch axis, usually). */
  readonly shape: readonly number[];
  /** Input height / stage height, when both are static. */
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

export function describeStage(graph: GraphView, tensor: string, node: string): ResolvedStage {
  const shape = graph.shapes.get(tensor) ?? [-1, -1, -1, -1];
  const input = imageInput(graph);
  const inH = input ? graph.shapes.get(input)!.at(-2)! : -1;
  const h = shape.length === 4 ? shape[2]! : -1;
  return { tensor, node, shape, stride: inH > 0 && h > 0 ? inH / h : null, nonNegative: isNonNegative(graph, tensor) };
}
