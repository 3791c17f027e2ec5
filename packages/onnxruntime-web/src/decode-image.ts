import { FstaError, type ImageInput, type PixelInput } from '@fsta/core';

/** True in Node (where onnxruntime-web runs on WASM and there is no DOM to decode images). */
export const inNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

const isBitmap = (x: unknown): x is ImageBitmap => typeof ImageBitmap !== 'undefined' && x instanceof ImageBitmap;

function bitmapPixels(bitmap: ImageBitmap, index: number): PixelInput {
  if (typeof OffscreenCanvas === 'undefined') throw new FstaError('BAD_INPUT', `image ${index} is an ImageBitmap but this environment has no OffscreenCanvas`, 'pass ImageData or { data, width, height } pixels instead');
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new FstaError('BAD_INPUT', `image ${index}: no 2D context to read the ImageBitmap`, 'pass ImageData instead');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

/**
 * Browser-side decoding: ImageBitmap → pixels via OffscreenCanvas; encoded bytes via
 * createImageBitmap as PIL and torchvision decode (and @fsta/onnxruntime-node by
 * default): EXIF orientation applied, embedded ICC profiles ignored (the stored
 * values, not a Display P3 photo converted to sRGB), alpha not premultiplied. ImageData
 * and raw tensors never reach here (core preprocesses them directly). In Node there
 * is no image decoder, so bytes and paths are refused with the alternatives.
 */
export async function decodeImage(input: ImageInput, index: number): Promise<PixelInput> {
  if (isBitmap(input)) return bitmapPixels(input, index);
  const isBytes = input instanceof Uint8Array || input instanceof ArrayBuffer;
  if (inNode() && (isBytes || typeof input === 'string')) {
    throw new FstaError('BAD_INPUT', `image ${index} is ${typeof input === 'string' ? `a path or URL (${input})` : 'encoded bytes'}, which @fsta/onnxruntime-web cannot decode in Node`, 'pass decoded pixels ({ data, width, height }) or a raw Float32Array tensor, or use @fsta/onnxruntime-node, which decodes files with sharp');
  }
  if (typeof createImageBitmap === 'undefined') throw new FstaError('BAD_INPUT', `image ${index} needs decoding but createImageBitmap is not available here`, 'pass ImageData or a raw tensor');
  let blob: Blob;
  if (typeof input === 'string') {
    const res = await fetch(input).catch((e: Error) => { throw new FstaError('BAD_IMAGE', `image ${index} (${input}) could not be fetched (${e.message})`, 'pass a reachable URL, or the image bytes'); });
    if (!res.ok) throw new FstaError('BAD_IMAGE', `image ${index} (${input}) could not be fetched (HTTP ${res.status})`, 'pass a reachable URL, or the image bytes');
    blob = await res.blob();
  } else if (isBytes) {
    if (input.byteLength === 0) throw new FstaError('EMPTY_IMAGE', `image ${index} is empty (0 bytes)`, 'pass a complete JPEG, PNG, WebP or GIF file');
    blob = new Blob([input as BlobPart]);
  } else {
    throw new FstaError('BAD_INPUT', `image ${index} is a ${(input as object)?.constructor?.name ?? typeof input}, which @fsta/onnxruntime-web cannot take`, 'pass ImageData, an ImageBitmap, encoded bytes, a URL or a raw Float32Array tensor');
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    throw new FstaError('BAD_IMAGE', `image ${index}${typeof input === 'string' ? ` (${input})` : ''} could not be decoded (${(e as Error).message})`, 'the file is truncated, corrupt or not an image');
  }
  try { return bitmapPixels(bitmap, index); } finally { bitmap.close(); }
}
