import sharp, { type Metadata } from 'sharp';
import { DEFAULT_MAX_IMAGE_PIXELS, FstaError, checkImagePixels, imageHeader, type PixelInput } from '@fsta/core';
import { MAX_IMAGE_BYTES, readImageFile } from './read-file.js';

export { DEFAULT_MAX_IMAGE_PIXELS };

const label = (input: string | Uint8Array | ArrayBuffer, index: number) => (typeof input === 'string' ? `image ${index} (${input})` : `image ${index} (${input.byteLength} bytes)`);

/**
 * What to do with an embedded ICC profile (Display P3, Adobe RGB, a monitor profile):
 * - 'ignore' (default): use the stored values, as PIL's `Image.open(f).convert('RGB')`
 *   and so torchvision do: the pixels the model was trained and evaluated on;
 * - 'srgb': convert to sRGB through the profile (what a colour-managed viewer shows).
 */
export type ColorManagement = 'ignore' | 'srgb';

export interface DecodeOptions {
  /** Default 'ignore', as PIL/torchvision decode. */
  colorManagement?: ColorManagement;
  /** How messages name the image; default `image INDEX (PATH)`. The CLI names files by path alone. */
  name?: string;
}

/** PIL's CMYK → RGB (libImaging cmyk2rgb): no profile, r = (255 - k) - c·(255 - k)/255 with its rounding. */
function cmykToRgb(cmyk: Uint8Array, channels: number): Uint8Array {
  const n = cmyk.length / channels, out = new Uint8Array(n * (channels - 1));
  for (let i = 0, j = 0; i < cmyk.length; i += channels) {
    const nk = 255 - cmyk[i + 3]!;
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i + c]! * nk + 128;
      out[j++] = nk - (((t >> 8) + t) >> 8);
    }
    if (channels === 5) out[j++] = cmyk[i + 4]!;
  }
  return out;
}

/**
 * Decodes a file path or encoded bytes to 8-bit RGB pixels with sharp as PIL and
 * torchvision do: embedded ICC profiles ignored (unless `colorManagement: 'srgb'`),
 * CMYK converted by PIL's formula, grayscale/16-bit/palette converted to 8-bit RGB;
 * plus the EXIF orientation, and the first frame of animations. Alpha is kept and
 * flattened later by core's preprocess, so every adapter composites transparency the
 * same way (onto white by default). Paths are read only when they are regular files
 * of at most 256 MiB; the pixel count is checked from the header before any pixel
 * is decoded.
 */
export async function decodeImage(input: string | Uint8Array | ArrayBuffer, index: number, maxPixels = DEFAULT_MAX_IMAGE_PIXELS, options: DecodeOptions = {}): Promise<PixelInput> {
  const colorManagement = options.colorManagement ?? 'ignore';
  if (colorManagement !== 'ignore' && colorManagement !== 'srgb') throw new FstaError('BAD_INPUT', `colorManagement is ${JSON.stringify(colorManagement)}`, "pass 'ignore' (stored pixel values, as PIL and torchvision) or 'srgb' (converted through the embedded ICC profile)");
  const what = options.name ?? label(input, index);
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    try {
      bytes = await readImageFile(input, { maxBytes: MAX_IMAGE_BYTES, what: options.name === undefined ? `image ${index}` : 'image', details: { sample: index } });
    } catch (e) {
      if (e instanceof FstaError) throw e;
      throw new FstaError('UNREADABLE_IMAGE', `${what} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path and its permissions', { sample: index });
    }
  } else {
    bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  }
  if (bytes.byteLength === 0) throw new FstaError('EMPTY_IMAGE', `${what} is empty (0 bytes)`, 'pass a complete JPEG, PNG, WebP, GIF, AVIF or TIFF file', { sample: index });
  const ignoreIcc = colorManagement === 'ignore';
  // Without a profile sharp would still convert CMYK through a built-in one (up to
  // 132 levels away from PIL on tools/fixtures' cmyk.jpg), so CMYK is read as it is stored.
  // Most files say from their first bytes that they are not CMYK; only the rest pay for a metadata read.
  const cmyk = ignoreIcc && (cmykFromHeader(bytes) ?? (await sharp(bytes, { limitInputPixels: false }).metadata().then((m) => m.space === 'cmyk', () => false)));
  try {
    // limitInputPixels refuses an oversized image from its header, before any pixel is decoded.
    const img = sharp(bytes, { limitInputPixels: maxPixels, pages: 1, failOn: 'error', ignoreIcc }).rotate();
    const { data, info } = await (cmyk ? img.pipelineColourspace('cmyk').toColourspace('cmyk') : img.toColourspace('srgb'))
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const pixels = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const channels: number = info.channels;
    if (cmyk && (channels === 4 || channels === 5)) return { data: cmykToRgb(pixels, channels), width: info.width, height: info.height, channels: (channels - 1) as 3 | 4 };
    if (cmyk || (channels !== 3 && channels !== 4)) throw new Error(`decoded to ${channels} channels`);
    return { data: pixels, width: info.width, height: info.height, channels };
  } catch (e) {
    // Only a failed decode pays for the header read that says why.
    let meta: Metadata;
    try {
      meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    } catch (m) {
      throw new FstaError('BAD_IMAGE', `${what} is not an image sharp can read (${(m as Error).message})`, 'pass a JPEG, PNG, WebP, GIF, AVIF or TIFF file, or decoded pixels', { sample: index });
    }
    checkImagePixels(what, meta.width ?? 0, meta.pageHeight ?? meta.height ?? 0, maxPixels, index);
    throw new FstaError('BAD_IMAGE', `${what} could not be decoded (${(e as Error).message})`, 'the file is truncated or corrupt: re-export or re-download it', { sample: index });
  }
}

/**
 * Whether an encoded image is CMYK, from its header where the format says: a JPEG's
 * frame header (4 components: CMYK or YCCK), PNG, GIF and WebP never. null: ask sharp.
 */
export function cmykFromHeader(b: Uint8Array): boolean | null {
  const header = imageHeader(b);
  if (!header || header.format === 'bmp') return null;
  return header.format === 'jpeg' ? header.components === 4 : false;
}
