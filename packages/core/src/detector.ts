import type { FstaConfig } from './config.js';
import type { PreprocessSpec } from './preprocess.js';

/** An image already decoded and preprocessed: float32 NCHW (or CHW for one image). */
export interface RawTensorInput {
  data: Float32Array;
  shape: readonly number[];
  layout?: 'NCHW' | 'NHWC';
}

/** Decoded RGBA pixels, as ImageData in the browser. */
export interface PixelInput {
  data: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
  channels?: 3 | 4;
}

/**
 * What `score()` accepts. Which of these an adapter supports depends on its runtime:
 * file paths and Buffers in Node, ImageData and ImageBitmap in the browser; raw
 * tensors everywhere.
 */
export type ImageInput = string | Uint8Array | ArrayBuffer | PixelInput | RawTensorInput | { readonly close: () => void; readonly width: number; readonly height: number };

/** Per-image result, the same in every adapter. Higher scores mean more in-distribution. */
export interface ImageScore {
  fs: number;
  fsTa: number | null;
  /**
   * Classifier scores computed from the model's logits, where it has a classifier head;
   * ASH or SCALE (from the penultimate features and the head) when the config fuses it.
   */
  classifier: Partial<Record<'msp' | 'maxlogit' | 'energy' | 'ash' | 'scale', number>>;
  /** S = S_feat + λ·S_cls, with the config's feature score, classifier and λ. */
  score: number;
  /** 'ID' when score ≥ threshold, 'OOD' below it, null when no threshold is calibrated. */
  verdict: 'ID' | 'OOD' | null;
  /** The model's own outputs for this image, unchanged. */
  outputs: Record<string, { data: Float32Array; shape: number[] }>;
  /** FS+TA at every k the detector scores (`Detector.ks`), the config's k first; absent without TA. */
  fsTaByK?: number[];
  /** What a detector opened with `expose` returns when a call asks for it (`score(x, { include })`). */
  features?: ImageFeatures;
}

/** One image's [1, …] slice of a stage map. */
export interface FeatureMap {
  data: Float32Array;
  shape: number[];
}

export interface ImageFeatures {
  /** The classifier head's input (D values). */
  penultimate?: Float32Array;
  /** The FS-stage map, the TA-stage map, and the FS-stage map of each TA pass (one per k). */
  stages?: { fs: FeatureMap; ta: FeatureMap | null; fsTa: FeatureMap[]; tensors?: Record<string, FeatureMap> };
}

/** What one score() call may also return, from a detector opened with those outputs exposed. */
export interface ScoreOptions {
  include?: readonly ('penultimate' | 'stages')[];
}

export interface Detector {
  readonly config: FstaConfig;
  /** The runtime and device actually in use, e.g. 'onnxruntime-node/cpu'. */
  readonly runtime: string;
  /** Every k FS+TA is scored at (`ImageScore.fsTaByK`), the config's first; empty without a TA stage. */
  readonly ks: readonly number[];
  /** The network input [C, H, W] and how images are brought to it. */
  readonly chw: readonly [number, number, number];
  readonly preprocess: PreprocessSpec;
  /**
   * Decodes and preprocesses one image exactly as score() does: its normalized [C, H, W]
   * values. Lets a caller decode ahead, skip unreadable files, or build synthetic images,
   * then score stacked samples as a raw tensor: score({ data, shape: [n, C, H, W] }).
   */
  prepare(input: ImageInput, index?: number): Promise<Float32Array>;
  score(inputs: ImageInput | readonly ImageInput[], options?: ScoreOptions): Promise<ImageScore[]>;
  dispose(): Promise<void>;
}

/** The verdict rule, written once. */
export function verdictOf(score: number, threshold: number | null): 'ID' | 'OOD' | null {
  if (threshold === null) return null;
  return score >= threshold ? 'ID' : 'OOD';
}
