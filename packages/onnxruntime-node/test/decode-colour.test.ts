import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { decodeImage } from '../src/decode-image.js';

// Images written by tools/fixtures/icc-images.mjs (stored values ≠ their sRGB rendering),
// and what PIL 9.4 (`ImageOps.exif_transpose(Image.open(f)).convert('RGB')`) decodes
// them to, recorded by tools/fixtures/icc_pixels.py.
const dir = join(import.meta.dirname, 'fixtures/icc');
const fixture = JSON.parse(readFileSync(join(dir, 'pil-pixels.json'), 'utf8')) as { cases: { file: string; mode: string; iccBytes: number; width: number; height: number; rgb: string }[] };
const pil = (file: string) => fixture.cases.find((c) => c.file === file)!;

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('decodeImage colour: as PIL/torchvision, embedded ICC profiles ignored by default', () => {
  it('the fixture images do carry a non-sRGB profile (or are CMYK)', () => {
    expect(fixture.cases.map((c) => c.file).sort()).toEqual(['cmyk.jpg', 'p3-orientation6.jpg', 'p3.jpg', 'p3.png']);
    for (const c of fixture.cases) expect(c.mode === 'CMYK' || c.iccBytes > 0).toBe(true);
  });

  it('Display P3 PNG: exactly PIL\'s pixels', async () => {
    const c = pil('p3.png');
    const d = await decodeImage(join(dir, c.file), 0);
    expect([d.width, d.height, d.channels]).toEqual([c.width, c.height, 3]);
    expect(maxDiff(d.data, Buffer.from(c.rgb, 'base64'))).toBe(0);
  });

  // libjpeg builds may round the IDCT and chroma upsampling differently by ±1; sharp
  // 0.35.5 and Pillow 9.4 (Debian libjpeg-turbo) measured 0 on these files.
  it.each(['p3.jpg', 'p3-orientation6.jpg'])('Display P3 JPEG %s: PIL\'s pixels within ±1 (EXIF orientation still applied)', async (file) => {
    const c = pil(file);
    const d = await decodeImage(readFileSync(join(dir, file)), 0);
    expect([d.width, d.height]).toEqual([c.width, c.height]);
    expect(maxDiff(d.data, Buffer.from(c.rgb, 'base64'))).toBeLessThanOrEqual(1);
  });

  it('CMYK JPEG: PIL\'s plain CMYK→RGB formula, not sharp\'s built-in CMYK profile', async () => {
    const c = pil('cmyk.jpg');
    const d = await decodeImage(join(dir, c.file), 0);
    expect(d.channels).toBe(3);
    expect(maxDiff(d.data, Buffer.from(c.rgb, 'base64'))).toBeLessThanOrEqual(1);
    // What the profile-managed conversion gives instead: far from the training view.
    const managed = await decodeImage(join(dir, c.file), 0, undefined, { colorManagement: 'srgb' });
    expect(maxDiff(managed.data, Buffer.from(c.rgb, 'base64'))).toBeGreaterThan(50);
  });

  it("colorManagement: 'srgb' converts through the profile, as sharp's colour-managed pipeline does", async () => {
    const file = join(dir, 'p3.png');
    const managed = await decodeImage(file, 0, undefined, { colorManagement: 'srgb' });
    const sharpSrgb = await sharp(file).toColourspace('srgb').raw().toBuffer();
    expect(maxDiff(managed.data, sharpSrgb)).toBe(0);
    expect(maxDiff(managed.data, Buffer.from(pil('p3.png').rgb, 'base64'))).toBeGreaterThan(50);
  });

  it('refuses an unknown colorManagement', async () => {
    await expect(decodeImage(join(dir, 'p3.png'), 0, undefined, { colorManagement: 'p3' as never })).rejects.toThrow(FstaError);
  });
});
