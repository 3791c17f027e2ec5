import type { PixelInput, PreprocessSpec } from '@fsta/core';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage } from '@fsta/onnxruntime-web';

/**
 * A dropped or bundled file → RGBA pixels, by @fsta/onnxruntime-web's decodeImage: the one
 * browser decoder, whichever runtime then scores the pixels, with its pixel cap. Its
 * messages name the file.
 */
export const decodeFile = (file: File): Promise<PixelInput> => decodeImage(file, 0, DEFAULT_MAX_IMAGE_PIXELS, { name: fileLabel(file) });

/** How decodeFile's messages name a file: in quotes, so that a message that names it is told from one that does not. */
export const fileLabel = (file: File): string => `"${file.name}"`;

/**
 * The normalized CHW tensor back to RGBA: exactly the crop the network saw, so the
 * heatmap overlays line up with it whatever the resize and crop were.
 */
export function modelView(chw: Float32Array, spec: PreprocessSpec): ImageData {
  const [h, w] = spec.size as [number, number];
  const out = new Uint8ClampedArray(h * w * 4);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < h * w; i++) out[i * 4 + c] = Math.round((chw[c * h * w + i]! * spec.std[c]! + spec.mean[c]!) * 255);
  }
  for (let i = 0; i < h * w; i++) out[i * 4 + 3] = 255;
  return new ImageData(out, w, h);
}
