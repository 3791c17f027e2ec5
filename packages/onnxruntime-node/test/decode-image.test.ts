import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage } from '../src/decode-image.js';
import { createDetector } from '../src/detector.js';
import { imagenetImages } from './images.js';

const tmp = mkdtempSync(join(tmpdir(), 'fsta-ortnode-'));
const jpeg = readFileSync(imagenetImages(1)[0]!.path);

/** A PNG whose header claims width x height; sharp reads sizes from the header alone. */
function pngHeader(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])), chunk('IEND', Buffer.alloc(0))]);
}

async function fstaError(p: Promise<unknown>): Promise<FstaError> {
  try { await p; } catch (e) { expect(e).toBeInstanceOf(FstaError); return e as FstaError; }
  throw new Error('expected an FstaError');
}

describe('decodeImage (sharp)', () => {
  it('decodes a JPEG path and the same bytes identically', async () => {
    const a = await decodeImage(imagenetImages(1)[0]!.path, 0);
    const b = await decodeImage(new Uint8Array(jpeg), 0);
    expect([a.width, a.height, a.channels]).toEqual([341, 256, 3]);
    expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
  });
  it('applies EXIF orientation, converts grayscale and 16-bit to 8-bit RGB, keeps alpha for core to flatten', async () => {
    const raw = Buffer.from([10, 20, 30, 40, 50, 60]); // 2x1 RGB
    const rotated = await sharp(raw, { raw: { width: 2, height: 1, channels: 3 } }).jpeg({ quality: 100 }).withMetadata({ orientation: 6 }).toBuffer();
    const r = await decodeImage(rotated, 0);
    expect([r.width, r.height]).toEqual([1, 2]); // orientation 6 = rotate 90°
    const gray = await sharp(Buffer.from([0, 128, 255, 64]), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    const g = await decodeImage(gray, 0);
    expect(g.channels).toBe(3);
    expect(Array.from(g.data.subarray(0, 6))).toEqual([0, 0, 0, 128, 128, 128]);
    const deep = await sharp(Buffer.from([255, 0, 128, 1, 2, 3]), { raw: { width: 2, height: 1, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const d = await decodeImage(deep, 0);
    expect(Array.from(d.data)).toEqual([255, 0, 128, 1, 2, 3]);
    const rgba = await sharp(Buffer.from([200, 100, 0, 128]), { raw: { width: 1, height: 1, channels: 4 } }).png().toBuffer();
    expect(await decodeImage(rgba, 0)).toMatchObject({ channels: 4, data: new Uint8Array([200, 100, 0, 128]) });
  });
  it('zero-byte file', async () => {
    const p = join(tmp, 'empty.jpg'); writeFileSync(p, '');
    const e = await fstaError(decodeImage(p, 3));
    expect(e.code).toBe('EMPTY_IMAGE');
    expect(e.message).toContain(`image 3 (${p}) is empty`);
  });
  it('truncated JPEG', async () => {
    const p = join(tmp, 'truncated.jpg'); writeFileSync(p, jpeg.subarray(0, jpeg.length >> 1));
    const e = await fstaError(decodeImage(p, 1));
    expect(e.code).toBe('BAD_IMAGE');
    expect(e.message).toMatch(/truncated\.jpg\) could not be decoded.*Fix: the file is truncated or corrupt/);
  });
  it('text file', async () => {
    const p = join(tmp, 'notes.txt'); writeFileSync(p, 'this is not an image\n');
    const e = await fstaError(decodeImage(p, 0));
    expect(e.message).toMatch(/notes\.txt\) is not an image sharp can read/);
  });
  it('missing file', async () => expect((await fstaError(decodeImage(join(tmp, 'nope.png'), 0))).message).toMatch(/cannot be read: ENOENT/));
  it('refuses an image over the pixel limit from its header, naming the limit and how to raise it', async () => {
    const e = await fstaError(decodeImage(pngHeader(20000, 20000), 2));
    expect(e.code).toBe('IMAGE_TOO_LARGE');
    expect(e.message).toContain(`20000x20000 = 400000000 pixels, over the limit of ${DEFAULT_MAX_IMAGE_PIXELS}`);
    expect(e.fix).toContain('maxImagePixels: 400000000');
    expect((await fstaError(decodeImage(jpeg, 0, 1000))).message).toMatch(/341x256 = 87296 pixels, over the limit of 1000/);
  });
  it('createDetector refuses a maxImagePixels that is not a positive integer, before it reads the model', async () => {
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      const e = await fstaError(createDetector({ model: join(tmp, 'no-such-model.onnx'), maxImagePixels: bad }));
      expect(e.code, String(bad)).toBe('BAD_OPTION');
      expect(e.message).toMatch(/^maxImagePixels is .*, not a positive integer/);
    }
  });
});
