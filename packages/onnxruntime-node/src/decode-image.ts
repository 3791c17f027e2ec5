import { readFile } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { FstaError, type PixelInput } from '@fsta/core';

/** Default cap on decoded image size: 100 megapixels (a 10000x10000 image, ~400 MB of RGBA). */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;

const label = (input: string | Uint8Array | ArrayBuffer, index: number) => (typeof input === 'string' ? `image ${index} (${input})` : `image ${index} (${input.byteLength} bytes)`);

/**
 * Decodes a file path or encoded bytes to 8-bit sRGB pixels with sharp: EXIF
 * orientation applied, first frame of animations, grayscale/CMYK/16-bit/palette
 * converted to 8-bit sRGB. Alpha is kept and flattened later by core's preprocess,
 * so every adapter composites transparency the same way (onto white by default).
 * The pixel count is checked from the header before any pixel is decoded.
 */
export async function decodeImage(input: string | Uint8Array | ArrayBuffer, index: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS): Promise<PixelInput> {
  const what = label(input, index);
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readFile(input);
    } catch (e) {
      throw new FstaError('UNREADABLE_IMAGE', `${what} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path and its permissions', { sample: index });
    }
  } else {
    bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  }
  if (bytes.byteLength === 0) throw new FstaError('EMPTY_IMAGE', `${what} is empty (0 bytes)`, 'pass a complete JPEG, PNG, WebP, GIF, AVIF or TIFF file', { sample: index });
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (e) {
    throw new FstaError('BAD_IMAGE', `${what} is not an image sharp can read (${(e as Error).message})`, 'pass a JPEG, PNG, WebP, GIF, AVIF or TIFF file, or decoded pixels', { sample: index });
  }
  const pixels = (meta.width ?? 0) * (meta.pageHeight ?? meta.height ?? 0);
  if (pixels > maxPixels) {
    throw new FstaError('IMAGE_TOO_LARGE', `${what} is ${meta.width}x${meta.pageHeight ?? meta.height} = ${pixels} pixels, over the limit of ${maxPixels}`, `downscale it first, or raise the limit with createDetector({ maxImagePixels: ${pixels} })`, { sample: index, pixels, maxPixels });
  }
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, pages: 1, failOn: 'error' })
      .rotate()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) throw new Error(`decoded to ${info.channels} channels`);
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
  } catch (e) {
    throw new FstaError('BAD_IMAGE', `${what} could not be decoded (${(e as Error).message})`, 'the file is truncated or corrupt: re-export or re-download it', { sample: index });
  }
}
