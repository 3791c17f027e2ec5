import type { GraphView } from './graph.js';

/**
 * Stage names count back from the last feature stage: C5 is always the last (FS)
 * stage and C4 the one before it, whatever the input size or family. For ImageNet
 * models C2…C5 sit at strides 4/8/16/32; a CIFAR ResNet's three stages are C3, C4, C5
 * (strides 1/2/4 on a 32x32 input); a dilated FCN keeps C3…C5 at stride 8.
 */
export const STAGE_NAMES = ['C2', 'C3', 'C4', 'C5'] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/**
 * Where a stage tensor is, structurally: the output of the last node, in topological
 * order, whose name lies under module path `module` (and whose op type is in `opTypes`,
 * when given). Then, if `then` is given, follow the chain of consumers with those op
 * types (e.g. DenseNet's functional ReLU after `features/norm5`, which torch names `/Relu`).
 */
export interface StageSelector {
  /** Module path prefix, segments separated by '/': 'layer3', 'backbone/body/layer3'. */
  readonly module: string;
  readonly opTypes?: readonly string[];
  readonly then?: readonly string[];
}

export interface Preprocess {
  /** Network input [height, width]. */
  readonly size: readonly [number, number];
  /** Resize the shorter side to this before cropping (ImageNet: 256); absent = resize straight to `size`. */
  readonly resizeShorter?: number;
  readonly crop: 'center' | 'none';
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly layout: 'NCHW';
  /** Pixel range before normalization. */
  readonly range: readonly [0, 1];
}

export interface StageDefaults {
  readonly fsStage: StageName;
  readonly taStage: StageName | null;
  readonly k: number;
  readonly kPercentile?: number;
}

/**
 * A classifier head: logits = penultimate · Wᵀ + b, computed by one Gemm node (transB = 1,
 * as torch.onnx.export writes nn.Linear) whose output is a graph output.
 */
export interface HeadSelector {
  /** Selects the Gemm node of the final linear layer. */
  readonly node: StageSelector;
}

export interface MatchResult {
  readonly ok: boolean;
  /** Which structural check failed, when not ok. */
  readonly reason?: string;
}

export interface BackboneManifest {
  readonly name: string;
  readonly family: string;
  readonly description: string;
  readonly preprocess: Preprocess;
  readonly stages: Readonly<Partial<Record<StageName, StageSelector>>>;
  readonly defaults: StageDefaults;
  readonly head?: HeadSelector;
  readonly notes: string;
  /** Recognizes the family from the graph's structure (module paths, stem, block counts). */
  match(graph: GraphView): MatchResult;
}

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export const imagenetPreprocess = (size = 224, resizeShorter: number | undefined = 256): Preprocess => ({
  size: [size, size],
  ...(resizeShorter === undefined ? {} : { resizeShorter }),
  crop: resizeShorter === undefined ? 'none' : 'center',
  mean: IMAGENET_MEAN,
  std: IMAGENET_STD,
  layout: 'NCHW',
  range: [0, 1],
});
