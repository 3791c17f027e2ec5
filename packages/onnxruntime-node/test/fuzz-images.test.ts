import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { decodeImage } from '../src/decode-image.js';
import { mutate, Outcomes, rng, type LengthField } from '../../onnx/test/fuzz.js';
import { cifarImages, imagenetImages } from './images.js';

/**
 * Property: decodeImage on mutated or truncated PNG/JPEG/GIF/WebP bytes resolves to
 * consistent 8-bit pixels or rejects with an FstaError, within a time bound. The
 * pixel limit is lowered so a corrupted header that claims a huge image is refused
 * from the header rather than allocated.
 */

const SEED = 0x1a6e_f022;
const CASES_PER_SOURCE = 400;
const MAX_PIXELS = 1_000_000;
/** Each decode of these small images takes ~1 ms; the bound catches hangs on a shared CI box. */
const MAX_CASE_MS = 10_000;

const be = (bytes: number) => (v: number) => { const b = new Uint8Array(bytes); let x = Math.min(v, 2 ** (8 * bytes) - 1); for (let i = bytes - 1; i >= 0; i--) { b[i] = x % 256; x = Math.floor(x / 256); } return b; };
const le = (bytes: number) => (v: number) => be(bytes)(v).reverse();

/** PNG chunk lengths and the IHDR width/height. */
function pngFields(b: Uint8Array): LengthField[] {
  const out: LengthField[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = 8; p + 8 <= b.length;) {
    const len = dv.getUint32(p);
    out.push({ offset: p, size: 4, encode: be(4) });
    if (String.fromCharCode(...b.subarray(p + 4, p + 8)) === 'IHDR') out.push({ offset: p + 8, size: 4, encode: be(4) }, { offset: p + 12, size: 4, encode: be(4) });
    p += 12 + len;
  }
  return out;
}

/** JPEG segment lengths and the SOF height/width. */
function jpegFields(b: Uint8Array): LengthField[] {
  const out: LengthField[] = [];
  for (let p = 2; p + 4 <= b.length;) {
    if (b[p] !== 0xff) break;
    const marker = b[p + 1]!;
    if (marker === 0xda) { out.push({ offset: p + 2, size: 2, encode: be(2) }); break; }
    out.push({ offset: p + 2, size: 2, encode: be(2) });
    if (marker >= 0xc0 && marker <= 0xc3) out.push({ offset: p + 5, size: 2, encode: be(2) }, { offset: p + 7, size: 2, encode: be(2) });
    p += 2 + ((b[p + 2]! << 8) | b[p + 3]!);
  }
  return out;
}

/** GIF logical screen and the first image descriptor's width/height (little-endian 16-bit). */
function gifFields(b: Uint8Array): LengthField[] {
  const out: LengthField[] = [{ offset: 6, size: 2, encode: le(2) }, { offset: 8, size: 2, encode: le(2) }];
  const desc = b.indexOf(0x2c, 13);
  if (desc > 0) out.push({ offset: desc + 5, size: 2, encode: le(2) }, { offset: desc + 7, size: 2, encode: le(2) });
  return out;
}

/** RIFF size and the first chunk's size. */
const webpFields = (): LengthField[] => [{ offset: 4, size: 4, encode: le(4) }, { offset: 16, size: 4, encode: le(4) }];

async function sources(): Promise<[string, Uint8Array, LengthField[]][]> {
  const w = 24, h = 16;
  const rgb = Buffer.alloc(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37) % 251;
  const img = () => sharp(rgb, { raw: { width: w, height: h, channels: 3 } });
  const frames = Buffer.concat([rgb, Buffer.from(rgb.map((v) => 255 - v))]);
  const png = new Uint8Array(await img().png().toBuffer());
  const palette = new Uint8Array(await img().png({ palette: true, colours: 16 }).toBuffer());
  const jpeg = new Uint8Array(await img().jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer());
  const gif = new Uint8Array(await sharp(frames, { raw: { width: w, height: h * 2, channels: 3, pageHeight: h } }).gif({ loop: 0, delay: [100, 100] }).toBuffer());
  const webp = new Uint8Array(await img().webp({ quality: 80 }).toBuffer());
  const cifar = new Uint8Array(readFileSync(cifarImages(1)[0]!.path));
  const imagenet = new Uint8Array(readFileSync(imagenetImages(1)[0]!.path));
  return [
    ['png-rgb', png, pngFields(png)],
    ['png-palette', palette, pngFields(palette)],
    ['cifar-png', cifar, pngFields(cifar)],
    ['jpeg-exif', jpeg, jpegFields(jpeg)],
    ['imagenet-jpeg', imagenet, jpegFields(imagenet)],
    ['gif-animated', gif, gifFields(gif)],
    ['webp', webp, webpFields()],
  ];
}

interface Failure { source: string; index: number; kind: string; error: string }

describe('fuzzing the image loader (decodeImage, sharp) with mutated and truncated files', () => {
  it('every mutant resolves to consistent 8-bit pixels or rejects with an FstaError, within the time bound', async () => {
    const srcs = await sources();
    const outcomes = new Outcomes();
    const failures: Failure[] = [];
    let slowest = 0;
    const t0 = performance.now();
    for (const [name, bytes, fields] of srcs) {
      // Every source decodes before mutation, so the mutants start from valid files.
      const ok = await decodeImage(bytes, 0, MAX_PIXELS);
      expect(ok.width * ok.height * ok.channels!).toBe(ok.data.length);
      expect(fields.length, name).toBeGreaterThan(1);
      const r = rng(SEED ^ [...name].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7));
      for (let i = 0; i < CASES_PER_SOURCE; i++) {
        const { bytes: b, kind } = mutate(bytes, r, { lengths: fields, hot: [[0, Math.min(bytes.length, 256)]] });
        const start = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no result after ${MAX_CASE_MS} ms`)), MAX_CASE_MS); });
        try {
          const px = await Promise.race([decodeImage(b, i, MAX_PIXELS), timeout]);
          const ch = px.channels ?? 3;
          if (!(ch === 3 || ch === 4) || px.width < 1 || px.height < 1 || px.data.length !== px.width * px.height * ch || px.width * px.height > MAX_PIXELS) {
            failures.push({ source: name, index: i, kind, error: `inconsistent pixels ${px.width}x${px.height}x${ch}, ${px.data.length} bytes` });
          }
          outcomes.add('valid', kind, `${name}#${i}`);
        } catch (e) {
          if (e instanceof FstaError) {
            outcomes.add(`FstaError:${e.code}`, kind, `${name}#${i}: ${e.message}`);
            if (e.details.sample !== i) failures.push({ source: name, index: i, kind, error: `error names sample ${String(e.details.sample)}` });
          } else {
            outcomes.add(`CRASH:${(e as Error)?.constructor?.name}`, kind, `${name}#${i}: ${String(e)}`);
            failures.push({ source: name, index: i, kind, error: String((e as Error)?.stack ?? e) });
          }
        } finally {
          clearTimeout(timer);
        }
        slowest = Math.max(slowest, performance.now() - start);
      }
    }
    const total = performance.now() - t0;
    console.log(
      `${outcomes.summary(`image loader fuzz (seed 0x${SEED.toString(16)}, ${srcs.length} sources: ${srcs.map((s) => s[0]).join(', ')})`, ` in ${(total / 1000).toFixed(1)} s, slowest case ${slowest.toFixed(0)} ms`)}\n` +
        `  example per outcome: ${[...outcomes.examples.entries()].map(([k, v]) => `\n    ${k}: ${v.slice(0, 240)}`).join('')}`,
    );
    expect(failures, failures.slice(0, 5).map((f) => `seed 0x${SEED.toString(16)} ${f.source} case ${f.index} (${f.kind}): ${f.error}`).join('\n\n')).toEqual([]);
    expect(outcomes.total).toBeGreaterThanOrEqual(2000);
    expect(outcomes.counts.get('valid') ?? 0).toBeGreaterThan(100);
    expect(outcomes.counts.get('FstaError:BAD_IMAGE') ?? 0).toBeGreaterThan(100);
    expect(outcomes.counts.get('FstaError:IMAGE_TOO_LARGE') ?? 0).toBeGreaterThan(5);
  });
});
