import { FstaError, type PixelInput, type PreprocessSpec } from '@fsta/core';

/**
 * A dropped file → RGBA pixels, decoded by the browser. Anything it cannot decode is
 * refused with an error naming the file, before the model sees it.
 */
export async function decodeImageFile(file: Blob & { name?: string }): Promise<PixelInput> {
  const name = file.name ?? 'the file';
  if (file.size === 0) throw new FstaError('NOT_AN_IMAGE', `"${name}" is empty (0 bytes)`, 'drop a PNG, JPEG, WebP, GIF or BMP image');
  let bitmap: ImageBitmap;
  try {
    // No colour-space or alpha conversion: the file's stored values, as PIL/torchvision and
    // Node's decoder see them; EXIF orientation applied, as there.
    bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'from-image' });
  } catch {
    throw new FstaError('NOT_AN_IMAGE', `"${name}" is not an image this browser can decode (type ${file.type || 'unknown'})`, 'drop a PNG, JPEG, WebP, GIF or BMP image');
  }
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' })!;
    ctx.drawImage(bitmap, 0, 0);
    const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' });
    return { data, width, height, channels: 4 };
  } finally {
    bitmap.close();
  }
}

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
