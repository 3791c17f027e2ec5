import { DEFAULT_MAX_IMAGE_PIXELS, FstaError, checkImagePixels, imageHeader, type ImageInput, type PixelInput } from '@fsta/core';

export { DEFAULT_MAX_IMAGE_PIXELS };

/** True in Node (where onnxruntime-web runs on WASM and there is no DOM to decode images). */
export const inNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

export interface WebDecodeOptions {
  /** How messages name the image; default `image INDEX` (with the URL). The inspector page names dropped files. */
  name?: string;
}

const isBitmap = (x: unknown): x is ImageBitmap => typeof ImageBitmap !== 'undefined' && x instanceof ImageBitmap;
const isBlob = (x: unknown): x is Blob => typeof Blob !== 'undefined' && x instanceof Blob;

// A file's first MiB holds its header, JPEG's frame header included (after EXIF and ICC
// segments); where it does not, the size is checked on the decoded bitmap instead.
const HEADER_BYTES = 1 << 20;

/**
 * The bitmap's pixels through an OffscreenCanvas, in sRGB as stored (the bitmap was made
 * without colour conversion). The size is checked first: the canvas and the ImageData are
 * the two big allocations, 4 bytes a pixel each.
 */
function bitmapPixels(bitmap: ImageBitmap, what: string, index: number, maxPixels: number): PixelInput {
  checkImagePixels(what, bitmap.width, bitmap.height, maxPixels, index);
  if (typeof OffscreenCanvas === 'undefined') throw new FstaError('BAD_INPUT', `${what} is an ImageBitmap but this environment has no OffscreenCanvas`, 'pass ImageData or { data, width, height } pixels instead');
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  // willReadFrequently: a CPU-backed canvas, so getImageData does not read back from the GPU.
  const ctx = canvas.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' });
  if (!ctx) throw new FstaError('BAD_INPUT', `${what}: no 2D context to read the ImageBitmap`, 'pass ImageData instead');
  ctx.drawImage(bitmap, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' });
  return { data, width, height, channels: 4 };
}

/**
 * Browser-side decoding, the one the inspector page uses too: an ImageBitmap → pixels via
 * OffscreenCanvas; encoded bytes, a Blob/File or a URL via createImageBitmap, as PIL and
 * torchvision decode (and @fsta/onnxruntime-node by default): EXIF orientation applied,
 * embedded ICC profiles ignored (the stored values, not a Display P3 photo converted to
 * sRGB), alpha not premultiplied. An image over `maxPixels` is refused from its header
 * (PNG, JPEG, GIF, WebP, BMP) before anything is decoded; other formats (AVIF…) once the
 * browser has decoded them, before they are copied out. ImageData and raw tensors never
 * reach here (core preprocesses them directly). In Node there is no image decoder, so
 * bytes, Blobs and paths are refused with the alternatives.
 */
export async function decodeImage(input: ImageInput | Blob, index: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS, options: WebDecodeOptions = {}): Promise<PixelInput> {
  const what = options.name ?? `image ${index}${typeof input === 'string' ? ` (${input})` : ''}`;
  if (isBitmap(input)) return bitmapPixels(input, what, index, maxPixels);
  const isBytes = input instanceof Uint8Array || input instanceof ArrayBuffer;
  if (inNode() && (isBytes || isBlob(input) || typeof input === 'string')) {
    throw new FstaError('BAD_INPUT', `${what} is ${typeof input === 'string' ? 'a path or URL' : 'encoded bytes'}, which @fsta/onnxruntime-web cannot decode in Node`, 'pass decoded pixels ({ data, width, height }) or a raw Float32Array tensor, or use @fsta/onnxruntime-node, which decodes files with sharp');
  }
  if (typeof createImageBitmap === 'undefined') throw new FstaError('BAD_INPUT', `${what} needs decoding but createImageBitmap is not available here`, 'pass ImageData or a raw tensor');
  let blob: Blob;
  let head: Uint8Array;
  if (isBytes) {
    head = input instanceof Uint8Array ? input : new Uint8Array(input);
    blob = new Blob([head as BlobPart]);
  } else {
    if (typeof input === 'string') {
      const res = await fetch(input).catch((e: Error) => { throw new FstaError('BAD_IMAGE', `${what} could not be fetched (${e.message})`, 'pass a reachable URL, or the image bytes'); });
      if (!res.ok) throw new FstaError('BAD_IMAGE', `${what} could not be fetched (HTTP ${res.status})`, 'pass a reachable URL, or the image bytes');
      blob = await res.blob();
    } else if (isBlob(input)) {
      blob = input;
    } else {
      throw new FstaError('BAD_INPUT', `${what} is a ${(input as object)?.constructor?.name ?? typeof input}, which @fsta/onnxruntime-web cannot take`, 'pass ImageData, an ImageBitmap, encoded bytes, a Blob, a URL or a raw Float32Array tensor');
    }
    head = new Uint8Array(await blob.slice(0, HEADER_BYTES).arrayBuffer());
  }
  if (blob.size === 0) throw new FstaError('EMPTY_IMAGE', `${what} is empty (0 bytes)`, 'pass a complete PNG, JPEG, WebP, GIF or BMP file');
  const header = imageHeader(head);
  if (header) checkImagePixels(what, header.width, header.height, maxPixels, index);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image', premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch (e) {
    const why = String((e as Error)?.message ?? e).replace(/\.$/, '');
    if (header) throw new FstaError('BAD_IMAGE', `${what} (a ${header.format.toUpperCase()} file) could not be decoded (${why})`, 'the file is truncated or corrupt: re-export or re-download it', { sample: index });
    throw new FstaError('BAD_IMAGE', `${what} is not an image this browser can decode (type ${blob.type || 'unknown'}: ${why})`, 'pass a PNG, JPEG, WebP, GIF or BMP file', { sample: index });
  }
  try { return bitmapPixels(bitmap, what, index, maxPixels); } finally { bitmap.close(); }
}
