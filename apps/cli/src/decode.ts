import type { PixelInput } from '@fsta/core';
import { decodeImage as decodeAsPil } from '@fsta/onnxruntime-node';

/**
 * Decodes an image file as `createDetector` does (one decoder for the CLI and the
 * library): embedded ICC profiles ignored and CMYK by PIL's formula, as PIL and
 * torchvision decode; EXIF orientation applied; first frame; regular files only;
 * the pixel cap checked from the header. Errors name the file by its path.
 */
export function decodeImage(path: string): Promise<PixelInput> {
  return decodeAsPil(path, 0, undefined, { name: path });
}
