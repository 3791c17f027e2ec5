import sharp from 'sharp';
import { FstaError } from '@fsta/core';
import type { PixelInput } from '@fsta/core';

/** Decodes an image file to 8-bit RGBA (gray and palette images become RGB; alpha is flattened later by core). */
export async function decodeImage(path: string): Promise<PixelInput> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error' }).toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: 4 };
  } catch (e) {
    throw new FstaError('BAD_IMAGE', `cannot decode ${path}: ${(e as Error).message}`, 'pass a PNG, JPEG, WebP, GIF, TIFF or AVIF image (or remove the file)', { path });
  }
}
