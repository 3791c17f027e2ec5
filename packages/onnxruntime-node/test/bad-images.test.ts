import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FstaError, type PixelInput } from '@fsta/core';
import { decodeImage } from '../src/decode-image.js';
import { modelPath } from './images.js';

/**
 * The awkward-but-valid and the broken image files of issue 8 that decode-image.test.ts
 * does not already cover, generated here with sharp so no binary fixture is committed.
 */

const tmp = mkdtempSync(join(tmpdir(), 'fsta-bad-images-'));

async function fstaError(p: Promise<unknown>): Promise<FstaError> {
  try { await p; } catch (e) { expect(e).toBeInstanceOf(FstaError); return e as FstaError; }
  throw new Error('expected an FstaError');
}

const at = (px: PixelInput, x: number, y: number) => {
  const ch = px.channels ?? 3, i = (y * px.width + x) * ch;
  return Array.from(px.data.subarray(i, i + ch));
};
const near = (a: number[], b: number[], tol: number) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tol);

/** An image of W x H solid blocks (B px each), so lossy JPEG keeps each block's colour near its centre. */
const B = 16;
const COLOURS = [[230, 20, 20], [20, 230, 20], [20, 20, 230], [230, 230, 20], [20, 230, 230], [230, 20, 230]];
function blocks(w: number, h: number): Buffer {
  const buf = Buffer.alloc(w * B * h * B * 3);
  for (let y = 0; y < h * B; y++) for (let x = 0; x < w * B; x++) buf.set(COLOURS[Math.floor(y / B) * w + Math.floor(x / B)]!, (y * w * B + x) * 3);
  return buf;
}

describe('awkward but valid images decode to the right 8-bit RGB(A) pixels', () => {
  it('applies every EXIF orientation (1-8) to the pixels, not just the size', async () => {
    const W = 3, H = 2;
    // Displayed block (X, Y) comes from stored block (x, y); hand-derived from the EXIF
    // definitions ("row 0 is the visual right side, column 0 the visual top" for 6, ...).
    const source: Record<number, (X: number, Y: number) => [number, number]> = {
      1: (X, Y) => [X, Y],
      2: (X, Y) => [W - 1 - X, Y],
      3: (X, Y) => [W - 1 - X, H - 1 - Y],
      4: (X, Y) => [X, H - 1 - Y],
      5: (X, Y) => [Y, X],
      6: (X, Y) => [Y, H - 1 - X],
      7: (X, Y) => [W - 1 - Y, H - 1 - X],
      8: (X, Y) => [W - 1 - Y, X],
    };
    for (let o = 1; o <= 8; o++) {
      const jpeg = await sharp(blocks(W, H), { raw: { width: W * B, height: H * B, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: o }).toBuffer();
      expect((await sharp(jpeg).metadata()).orientation).toBe(o);
      const px = await decodeImage(jpeg, 0);
      const swapped = o >= 5;
      expect([px.width, px.height], `orientation ${o}`).toEqual(swapped ? [H * B, W * B] : [W * B, H * B]);
      const [dw, dh] = swapped ? [H, W] : [W, H];
      for (let Y = 0; Y < dh; Y++) for (let X = 0; X < dw; X++) {
        const [x, y] = source[o]!(X, Y);
        const got = at(px, X * B + B / 2, Y * B + B / 2);
        expect(near(got, COLOURS[y * W + x]!, 12), `orientation ${o}, displayed block (${X},${Y}) = ${got}, expected stored block (${x},${y}) = ${COLOURS[y * W + x]}`).toBe(true);
      }
    }
  });

  it("colorManagement 'srgb' converts a CMYK JPEG to 3-channel RGB: white stays white, black dark, grey neutral, hues kept", async () => {
    // In-gamut colours only: sRGB primaries fall outside CMYK and are clipped by design.
    // The default ('ignore') uses PIL's plain formula instead: exact against PIL in decode-colour.test.ts.
    const colours = [[255, 255, 255], [0, 0, 0], [128, 128, 128], [160, 50, 40], [40, 70, 150], [60, 140, 60]];
    const img = Buffer.alloc(6 * B * B * 3);
    for (let y = 0; y < B; y++) for (let x = 0; x < 6 * B; x++) img.set(colours[Math.floor(x / B)]!, (y * 6 * B + x) * 3);
    const jpeg = await sharp(img, { raw: { width: 6 * B, height: B, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 100 }).toBuffer();
    const meta = await sharp(jpeg).metadata();
    expect([meta.space, meta.channels]).toEqual(['cmyk', 4]);
    const px = await decodeImage(jpeg, 0, undefined, { colorManagement: 'srgb' });
    expect([px.width, px.height, px.channels]).toEqual([6 * B, B, 3]);
    const c = colours.map((_, i) => at(px, i * B + B / 2, B / 2));
    expect(Math.min(...c[0]!), `white ${c[0]}`).toBeGreaterThanOrEqual(245);
    expect(Math.max(...c[1]!), `black ${c[1]}`).toBeLessThanOrEqual(70);
    expect(Math.max(...c[2]!) - Math.min(...c[2]!), `grey ${c[2]}`).toBeLessThanOrEqual(16);
    expect(c[2]![0]).toBeGreaterThan(90);
    expect(c[2]![0]).toBeLessThan(170);
    for (const [i, ch] of [[3, 0], [4, 2], [5, 1]] as const) {
      expect(c[i]!.indexOf(Math.max(...c[i]!)), `colour ${colours[i]} decoded as ${c[i]}`).toBe(ch);
      expect(near(c[i]!, colours[i]!, 40), `colour ${colours[i]} decoded as ${c[i]}`).toBe(true);
    }
  });

  it('expands a palette PNG exactly', async () => {
    const png = await sharp(blocks(3, 2), { raw: { width: 3 * B, height: 2 * B, channels: 3 } }).png({ palette: true, colours: 8, dither: 0 }).toBuffer();
    expect((await sharp(png).metadata()).isPalette).toBe(true);
    const px = await decodeImage(png, 0);
    expect(px.channels).toBe(3);
    for (let i = 0; i < 6; i++) expect(at(px, (i % 3) * B + 3, Math.floor(i / 3) * B + 3)).toEqual(COLOURS[i]);
  });

  it('keeps gray+alpha and 16-bit RGBA as 8-bit RGBA, gray replicated and 16-bit values scaled by 257', async () => {
    const la = await sharp(Buffer.from([0, 255, 100, 128, 255, 0, 7, 9]), { raw: { width: 4, height: 1, channels: 2 } }).toColourspace('b-w').png().toBuffer();
    expect((await sharp(la).metadata()).channels).toBe(2);
    const a = await decodeImage(la, 0);
    expect(a.channels).toBe(4);
    expect(Array.from(a.data)).toEqual([0, 0, 0, 255, 100, 100, 100, 128, 255, 255, 255, 0, 7, 7, 7, 9]);
    const rgba16 = await sharp(Buffer.from([255, 0, 128, 64, 1, 2, 3, 255]), { raw: { width: 2, height: 1, channels: 4 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(rgba16).metadata()).depth).toBe('ushort');
    const b = await decodeImage(rgba16, 0);
    expect(b.channels).toBe(4);
    expect(Array.from(b.data)).toEqual([255, 0, 128, 64, 1, 2, 3, 255]);
  });

  it('uses the first frame of an animated GIF and of an animated WebP', async () => {
    const w = 8, h = 6;
    const red = Buffer.alloc(w * h * 3), blue = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) { red.set([255, 0, 0], i * 3); blue.set([0, 0, 255], i * 3); }
    const raw = { width: w, height: h * 2, channels: 3 as const, pageHeight: h };
    const gif = await sharp(Buffer.concat([red, blue]), { raw }).gif({ loop: 0, delay: [50, 50] }).toBuffer();
    const webp = await sharp(Buffer.concat([red, blue]), { raw }).webp({ lossless: true, loop: 0, delay: [50, 50] }).toBuffer();
    for (const [name, file] of [['gif', gif], ['webp', webp]] as const) {
      expect((await sharp(file).metadata()).pages, name).toBe(2);
      const px = await decodeImage(file, 0);
      expect([px.width, px.height], name).toEqual([w, h]);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(at(px, x, y).slice(0, 3), `${name} (${x},${y})`).toEqual([255, 0, 0]);
    }
  });
});

describe('broken files get a clear FstaError naming the image', () => {
  const sample = async () => sharp(blocks(3, 2), { raw: { width: 3 * B, height: 2 * B, channels: 3 } });

  it('truncated PNG, GIF and WebP (JPEG is in decode-image.test.ts)', async () => {
    const files = {
      png: await (await sample()).png().toBuffer(),
      gif: await (await sample()).gif().toBuffer(),
      webp: await (await sample()).webp({ quality: 90 }).toBuffer(),
    };
    for (const [ext, full] of Object.entries(files)) {
      // Cut inside the header, mid-data and near the end of the pixel data (PNG: before IDAT's CRC and IEND).
      for (const cut of [8, Math.floor(full.length / 2), full.length - 24]) {
        const p = join(tmp, `truncated-${cut}.${ext}`);
        writeFileSync(p, full.subarray(0, cut));
        const e = await fstaError(decodeImage(p, 4));
        expect(e.code, `${ext} cut at ${cut} of ${full.length}`).toBe('BAD_IMAGE');
        expect(e.message).toContain(`image 4 (${p})`);
        expect(e.details.sample).toBe(4);
      }
    }
  });

  it('non-image files: an ONNX model, a PDF header, random bytes', async () => {
    const onnx = readFileSync(modelPath('cifar10-resnet20.onnx')).subarray(0, 4096);
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n');
    const random = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919) % 256));
    for (const [name, bytes] of [['onnx', onnx], ['pdf', pdf], ['random', random]] as const) {
      const e = await fstaError(decodeImage(new Uint8Array(bytes), 2));
      expect(e.code, name).toBe('BAD_IMAGE');
      expect(e.message).toMatch(/^image 2 \(\d+ bytes\) is not an image sharp can read/);
      expect(e.fix).toMatch(/JPEG, PNG, WebP/);
    }
  });

  it('a directory given as an image path', async () => {
    const e = await fstaError(decodeImage(tmp, 0));
    expect(e.code).toBe('NOT_A_REGULAR_FILE');
    expect(e.message).toContain(`image 0 ${tmp} is a folder, not a regular file`);
  });

  it('refuses JPEG and GIF headers that claim too many pixels, before decoding', async () => {
    // The files hold the pixel data of a 48x32 image: if the loader decoded before checking it would report BAD_IMAGE (or allocate 1.8 GB).
    const jpeg = await (await sample()).jpeg().toBuffer();
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0);
    const bigJpeg = Buffer.from(jpeg);
    bigJpeg.writeUInt16BE(30000, sof + 5); // height
    bigJpeg.writeUInt16BE(20000, sof + 7); // width
    const gif = await (await sample()).gif().toBuffer();
    const bigGif = Buffer.from(gif);
    bigGif.writeUInt16LE(20000, 6); bigGif.writeUInt16LE(30000, 8);
    const desc = bigGif.indexOf(0x2c, 13);
    if (desc > 0 && desc + 9 <= bigGif.length) { bigGif.writeUInt16LE(20000, desc + 5); bigGif.writeUInt16LE(30000, desc + 7); }
    for (const [name, bytes] of [['jpeg', bigJpeg], ['gif', bigGif]] as const) {
      const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
      expect([meta.width, meta.height], name).toEqual([20000, 30000]);
      const e = await fstaError(decodeImage(new Uint8Array(bytes), 5, 50_000_000));
      expect(e.code, name).toBe('IMAGE_TOO_LARGE');
      expect(e.message).toContain('20000x30000 = 600000000 pixels, over the limit of 50000000');
      expect(e.details).toMatchObject({ sample: 5, pixels: 600_000_000, maxPixels: 50_000_000 });
    }
  });

  it('counts one frame of an animation against the limit, not the whole strip', async () => {
    const w = 100, h = 100, frames = 3;
    const raw = { width: w, height: h * frames, channels: 3 as const, pageHeight: h };
    const gif = await sharp(Buffer.alloc(w * h * frames * 3, 128), { raw }).gif().toBuffer();
    expect((await decodeImage(gif, 0, w * h)).height).toBe(h);
    const e = await fstaError(decodeImage(gif, 0, w * h - 1));
    expect(e.message).toContain(`${w}x${h} = ${w * h} pixels, over the limit of ${w * h - 1}`);
  });
});
