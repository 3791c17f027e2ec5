import type { FstaConfig } from './config.js';

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
  /** Classifier scores computed from the model's logits, where it has a classifier head. */
  classifier: Partial<Record<'msp' | 'maxlogit' | 'energy', number>>;
  /** S = S_feat + λ·S_cls, with the config's feature score, classifier and λ. */
  score: number;
  /** 'ID' when score ≥ threshold, 'OOD' below it, null when no threshold is calibrated. */
  verdict: 'ID' | 'OOD' | null;
  /** The model's own outputs for this image, unchanged. */
  outputs: Record<string, { data: Float32Array; shape: number[] }>;
}

export interface Detector {
  readonly config: FstaConfig;
  /** The runtime and device actually in use, e.g. 'onnxruntime-node/cpu'. */
  readonly runtime: string;
  score(inputs: ImageInput | readonly ImageInput[]): Promise<ImageScore[]>;
  dispose(): Promise<void>;
}

/** The verdict rule, written once. */
export function verdictOf(score: number, threshold: number | null): 'ID' | 'OOD' | null {
  if (threshold === null) return null;
  return score >= threshold ? 'ID' : 'OOD';
}
