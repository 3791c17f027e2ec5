import { referenceOps, tensor, type FstaConfig, type ImageScore, type PreprocessSpec } from '@fsta/core';

export type RuntimeChoice = 'ort-webgpu' | 'ort-wasm' | 'tfjs-webgl';

/** C5 FS-integrand maps of one image, H×W each: the original pass and the TA pass. */
export interface Heatmaps {
  h: number;
  w: number;
  fs: Float32Array;
  fsTa: Float32Array | null;
}

export interface Inspection {
  score: ImageScore;
  heat: Heatmaps | null;
  /** Softmax over the model's logits, where it has a classifier output. */
  probs: Float32Array | null;
  /** Wall time of the model run that produced this image's numbers. */
  ms: number;
}

/** A loaded model on one runtime: what the page needs beyond core's Detector (heatmaps, probabilities, timing). */
export interface Engine {
  /** The runtime and device actually in use, e.g. 'onnxruntime-web/wasm'. */
  readonly runtime: string;
  /** Why the runtime differs from the one asked for, or null. */
  readonly note: string | null;
  readonly config: FstaConfig;
  readonly preprocess: PreprocessSpec;
  /** Network input [C, H, W]. */
  readonly chw: readonly [number, number, number];
  readonly classes: readonly string[] | null;
  /** One model run over these preprocessed CHW samples. */
  inspect(samples: readonly Float32Array[]): Promise<Inspection[]>;
  dispose(): Promise<void>;
}

/** Top-k (index, probability) pairs, highest first. */
export function topClasses(probs: ArrayLike<number>, k: number): { index: number; p: number }[] {
  return Array.from(probs, (p, index) => ({ index, p }))
    .sort((a, b) => b.p - a.p || a.index - b.index)
    .slice(0, k);
}

/** Class probabilities for display, by core's softmax (the one the MSP score uses). */
export function softmax(logits: ArrayLike<number>): Float32Array {
  return referenceOps.softmax(tensor(Float32Array.from(logits), [1, logits.length]), -1).data;
}
