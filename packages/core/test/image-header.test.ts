/**
 * imageHeader against Pillow: every format it reads, written by Pillow
 * (tools/fixtures/header_images.py) in the variants that change the header (palette,
 * 16-bit, progressive and CMYK JPEG, EXIF, 200 kB of segments before the frame header,
 * junk bytes before a marker, animation, a GIF frame past its logical screen, WebP's VP8,
 * VP8L and VP8X), and the size Pillow reads back. Headers that
 * claim 20000x30000 over a small image's data are read as claimed; truncated and random
 * bytes give null, never a wrong size or an exception.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_IMAGE_PIXELS, FstaError, checkImagePixels, imageHeader, maxImagePixels } from '../src/index.js';

const script = fileURLToPath(new URL('../../../tools/fixtures/header_images.py', import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), 'fsta-header-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
interface Case { file: string; format: string | null; width: number; height: number; bands?: number; claimed?: boolean }
const cases = JSON.parse(execFileSync(process.env['FSTA_PYTHON'] ?? '/usr/bin/python3', [script, dir], { encoding: 'utf8' })) as Case[];
const bytes = (file: string) => new Uint8Array(readFileSync(path.join(dir, file)));

describe('imageHeader reads the size Pillow reads', () => {
  it('covers every format, and the files it does not read', () => {
    expect(new Set(cases.map((c) => c.format))).toEqual(new Set(['png', 'jpeg', 'gif', 'webp', 'bmp', null]));
    expect(cases.length).toBeGreaterThanOrEqual(27);
  });
  it.each(cases.map((c) => [c.file, c] as const))('%s', (file, c) => {
    const h = imageHeader(bytes(file));
    if (c.format === null) return expect(h).toBeNull();
    expect(h).toMatchObject({ format: c.format, width: c.width, height: c.height });
    // A JPEG's component count is what @fsta/onnxruntime-node tells CMYK by.
    if (c.format === 'jpeg' && !c.claimed) expect(h!.components).toBe(c.bands);
  });
  it('reads the VP8, VP8L and VP8X WebP headers (one of each among the files)', () => {
    const kinds = cases.filter((c) => c.format === 'webp').map((c) => new TextDecoder().decode(bytes(c.file).subarray(12, 16)));
    expect(new Set(kinds)).toEqual(new Set(['VP8 ', 'VP8L', 'VP8X']));
  });
});

describe('imageHeader on truncated, odd and random bytes', () => {
  it('every prefix of every file gives null or the full size (a GIF cut before its first frame: the logical screen)', () => {
    for (const c of cases) {
      const b = bytes(c.file);
      const full = imageHeader(b);
      const screen = c.format === 'gif' ? { format: 'gif', width: b[6]! | (b[7]! << 8), height: b[8]! | (b[9]! << 8) } : full;
      for (let n = 0; n < Math.min(b.length, 1000); n++) {
        const h = imageHeader(b.subarray(0, n));
        if (h !== null) expect([full, screen], `${c.file} cut at ${n}: ${JSON.stringify(h)}`).toContainEqual(h);
      }
    }
  });
  it('an OS/2 BMP header (16-bit sizes) and a top-down BMP (negative height)', () => {
    const os2 = new Uint8Array(26);
    os2.set([0x42, 0x4d], 0); os2[14] = 12; os2.set([0x10, 0x27, 0x30, 0x75], 18); // 10000 x 30000
    expect(imageHeader(os2)).toEqual({ format: 'bmp', width: 10000, height: 30000 });
    const v3 = new Uint8Array(54);
    const dv = new DataView(v3.buffer);
    v3.set([0x42, 0x4d], 0); dv.setInt32(14, 40, true); dv.setInt32(18, 5, true); dv.setInt32(22, -7, true);
    expect(imageHeader(v3)).toEqual({ format: 'bmp', width: 5, height: 7 });
    dv.setInt32(18, -5, true);
    expect(imageHeader(v3)).toBeNull();
  });
  it('a JPEG whose height comes later (DNL, height 0) and a zero-size PNG give null', () => {
    const jpeg = bytes('baseline.jpg');
    const sof = jpeg.findIndex((x, i) => x === 0xff && jpeg[i + 1] === 0xc0);
    const dnl = jpeg.slice(); dnl[sof + 5] = 0; dnl[sof + 6] = 0;
    expect(imageHeader(dnl)).toBeNull();
    const png = bytes('rgb.png').slice(); png.fill(0, 16, 20);
    expect(imageHeader(png)).toBeNull();
  });
  it('random bytes, and random bytes after each signature, never throw and give positive sizes', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const signatures = [[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0xff, 0xd8], [0x47, 0x49, 0x46, 0x38, 0x39, 0x61], [0x52, 0x49, 0x46, 0x46, 1, 2, 3, 4, 0x57, 0x45, 0x42, 0x50], [0x42, 0x4d], []];
    let sized = 0;
    for (let t = 0; t < 3000; t++) {
      const sig = signatures[t % signatures.length]!;
      const b = Uint8Array.from({ length: sig.length + (rand() % 64) }, (_, i) => (i < sig.length ? sig[i]! : rand()));
      const h = imageHeader(b);
      if (h) {
        sized++;
        expect(Number.isInteger(h.width) && h.width > 0 && Number.isInteger(h.height) && h.height > 0).toBe(true);
      }
    }
    expect(sized).toBeGreaterThan(100);
  });
});

describe('the pixel cap', () => {
  it('refuses over the limit with the size, the limit and the option that raises it; at the limit it passes', () => {
    expect(() => checkImagePixels('image 3', 40, 30, 1200, 3)).not.toThrow();
    let e: FstaError | undefined;
    try { checkImagePixels('image 3', 40, 30, 1199, 3); } catch (x) { e = x as FstaError; }
    expect(e).toBeInstanceOf(FstaError);
    expect(e!.code).toBe('IMAGE_TOO_LARGE');
    expect(e!.message).toBe('image 3 is 40x30 = 1200 pixels, over the limit of 1199. Fix: downscale it first, or raise the limit with createDetector({ maxImagePixels: 1200 }).');
    expect(e!.details).toEqual({ sample: 3, pixels: 1200, maxPixels: 1199 });
  });
  it('maxImagePixels: default 100 million; anything but a positive integer is refused', () => {
    expect(maxImagePixels(undefined)).toBe(DEFAULT_MAX_IMAGE_PIXELS);
    expect(DEFAULT_MAX_IMAGE_PIXELS).toBe(100_000_000);
    expect(maxImagePixels(100)).toBe(100);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '100' as unknown as number]) {
      expect(() => maxImagePixels(bad), String(bad)).toThrow(/maxImagePixels is .*, not a positive integer/);
    }
  });
});
