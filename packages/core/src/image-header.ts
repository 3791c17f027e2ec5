import { FstaError } from './errors.js';

/** Default cap on decoded image size: 100 megapixels (a 10000x10000 image, ~400 MB of RGBA). */
export const DEFAULT_MAX_IMAGE_PIXELS = 100_000_000;

export type HeaderFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp';

/**
 * An encoded image's size as its header states it, before any pixel is decoded.
 * JPEG sizes are as stored: an EXIF rotation swaps width and height, never their product.
 */
export interface ImageHeader {
  format: HeaderFormat;
  width: number;
  height: number;
  /** JPEG only: the frame's component count (1 gray, 3 YCbCr/RGB, 4 CMYK/YCCK). */
  components?: number;
}

const u16be = (b: Uint8Array, i: number) => (b[i]! << 8) | b[i + 1]!;
const u16le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8);
const u24le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16);
const u32be = (b: Uint8Array, i: number) => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
const i32le = (b: Uint8Array, i: number) => b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
const ascii = (b: Uint8Array, i: number, s: string) => [...s].every((c, j) => b[i + j] === c.charCodeAt(0));

const sized = (format: HeaderFormat, width: number, height: number): ImageHeader | null => (width > 0 && height > 0 ? { format, width, height } : null);

function jpeg(b: Uint8Array): ImageHeader | null {
  for (let i = 2; i + 3 < b.length;) {
    // As libjpeg (and so browsers, PIL and sharp) does: bytes before a marker are skipped, as are fill bytes.
    if (b[i] !== 0xff || b[i + 1] === 0xff) { i++; continue; }
    const marker = b[i + 1]!;
    // Markers that stand alone (no length), and a stray 0x00.
    if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
    const len = u16be(b, i + 2);
    // SOF0…SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (i + 9 >= b.length) return null;
      // Height 0 means a later DNL marker gives it: not known from the header.
      const h = sized('jpeg', u16be(b, i + 7), u16be(b, i + 5));
      return h && { ...h, components: b[i + 9]! };
    }
    if (marker === 0xda || marker === 0xd9) return null;
    // A length under 2 counts as 2 (libjpeg skips nothing and looks for the next marker).
    i += 2 + Math.max(len, 2);
  }
  return null;
}

/**
 * The logical screen, grown to the first frame's bounds where that frame reaches past it,
 * as PIL, sharp and browsers grow it.
 */
function gif(b: Uint8Array): ImageHeader | null {
  let width = u16le(b, 6), height = u16le(b, 8);
  // The global colour table, then extension blocks (each a run of length-prefixed sub-blocks) up to the first image descriptor.
  let i = 13 + (b[10]! & 0x80 ? 3 << ((b[10]! & 7) + 1) : 0);
  while (i < b.length && b[i] === 0x21) {
    i += 2;
    while (i < b.length && b[i] !== 0) i += b[i]! + 1;
    i++;
  }
  if (b[i] === 0x2c && i + 9 <= b.length) {
    width = Math.max(width, u16le(b, i + 1) + u16le(b, i + 5));
    height = Math.max(height, u16le(b, i + 3) + u16le(b, i + 7));
  }
  return sized('gif', width, height);
}

function webp(b: Uint8Array): ImageHeader | null {
  if (ascii(b, 12, 'VP8X') && b.length >= 30) return sized('webp', 1 + u24le(b, 24), 1 + u24le(b, 27));
  // Lossy: a 3-byte frame tag, the start code 9D 01 2A, then 14-bit width and height (2 bits of scaling above).
  if (ascii(b, 12, 'VP8 ') && b.length >= 30 && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) return sized('webp', u16le(b, 26) & 0x3fff, u16le(b, 28) & 0x3fff);
  // Lossless: signature 2F, then width-1 and height-1 in 14 bits each.
  if (ascii(b, 12, 'VP8L') && b.length >= 25 && b[20] === 0x2f) {
    const bits = u24le(b, 21) + b[24]! * 0x1000000;
    return sized('webp', (bits & 0x3fff) + 1, (Math.floor(bits / 0x4000) & 0x3fff) + 1);
  }
  return null;
}

function bmp(b: Uint8Array): ImageHeader | null {
  if (b.length < 26) return null;
  const dib = i32le(b, 14);
  // OS/2 1.x header: unsigned 16-bit sizes. Later headers: signed 32-bit, a negative height meaning top-down rows.
  if (dib === 12) return sized('bmp', u16le(b, 18), u16le(b, 20));
  return dib >= 16 ? sized('bmp', i32le(b, 18), Math.abs(i32le(b, 22))) : null;
}

/**
 * The size an encoded PNG, JPEG, GIF, WebP or BMP file states in its header, read from
 * its first bytes without decoding (GIF: the logical screen and the first frame; WebP
 * VP8X and APNG: the canvas). null: another format (AVIF, ICO…), or a header that is truncated or gives
 * no size; the caller then learns the size from the decoder.
 */
export function imageHeader(b: Uint8Array): ImageHeader | null {
  if (b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\x1a\n')) return b.length >= 24 && ascii(b, 12, 'IHDR') ? sized('png', u32be(b, 16), u32be(b, 20)) : null;
  if (b[0] === 0xff && b[1] === 0xd8) return jpeg(b);
  if ((ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) && b.length >= 10) return gif(b);
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return webp(b);
  if (ascii(b, 0, 'BM')) return bmp(b);
  return null;
}

/** The `maxImagePixels` option: default 100 million; anything but a positive integer is refused. */
export function maxImagePixels(option: number | undefined): number {
  if (option === undefined) return DEFAULT_MAX_IMAGE_PIXELS;
  if (!(Number.isSafeInteger(option) && option > 0)) throw new FstaError('BAD_OPTION', `maxImagePixels is ${String(option)}, not a positive integer`, `pass a pixel count such as ${DEFAULT_MAX_IMAGE_PIXELS} (the default), or leave it out`);
  return option;
}

/**
 * Refuses an image of width x height above `maxPixels`, with the one message every
 * adapter gives: the size, the limit and the option that raises it. `what` names the image.
 */
export function checkImagePixels(what: string, width: number, height: number, maxPixels: number, sample: number): void {
  const pixels = width * height;
  if (pixels > maxPixels) throw new FstaError('IMAGE_TOO_LARGE', `${what} is ${width}x${height} = ${pixels} pixels, over the limit of ${maxPixels}`, `downscale it first, or raise the limit with createDetector({ maxImagePixels: ${pixels} })`, { sample, pixels, maxPixels });
}
