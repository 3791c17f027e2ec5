/**
 * The browser decoder's pixel cap and refusals, in headless Chromium: files whose header
 * claims 20000x30000 pixels over a small image's data (tools/fixtures/header_images.py,
 * Pillow) are refused from the header, by their size, not decoded (decoding them would
 * fail as corrupt, or allocate 2.4 GB); small images over a small cap are refused and at
 * the cap decoded; a format the header reader does not know (ICO) is refused once decoded,
 * before it is copied out; createDetector's maxImagePixels reaches the decoder; and on
 * 2800 mutated or truncated files, every size imageHeader reads is the size Chromium
 * decodes, and Chromium decodes none that imageHeader cannot size.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, repoRoot, runInBrowser, sharedRoot } from '../../../tools/browser/harness.js';
import { workspaceAlias } from '../../../vitest.shared.js';
import { createDetector } from '../src/index.js';
import type { Mutant, Outcome } from './browser/decode-entry.js';

const HUGE = ['huge.png', 'huge.jpg', 'huge.gif', 'huge.webp', 'huge.bmp'];
// Sources for the mutants: every format and header variant imageHeader reads.
const MUTATED = ['rgb.png', 'palette.png', 'baseline.jpg', 'progressive.jpg', 'orientation6.jpg', 'big-app2.jpg', 'still.gif', 'animated.gif', 'lossy.webp', 'lossless.webp', 'alpha.webp', 'animated.webp', 'rgb.bmp', 'palette.bmp'];
const PER_FILE = 200;

describe('createDetector({ maxImagePixels }) is checked before anything loads', () => {
  it.each([0, -5, 2.5, Number.NaN])('refuses %s', async (cap) => {
    await expect(createDetector({ model: new Uint8Array(0), maxImagePixels: cap })).rejects.toMatchObject({ code: 'BAD_OPTION', message: expect.stringMatching(/^maxImagePixels is .*, not a positive integer/) });
  });
});

describe.skipIf(!existsSync(chromiumPath))('decodeImage in Chromium: the pixel cap and bad files', () => {
  let dir: string;
  let got: (label: string) => Outcome;
  let mutants: Mutant[];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'fsta-web-decode-'));
    execFileSync(process.env['FSTA_PYTHON'] ?? '/usr/bin/python3', [path.join(repoRoot, 'tools/fixtures/header_images.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'] });
    const { result: { outcomes: result, mutants: m } } = await runInBrowser<{ outcomes: Outcome[]; mutants: Mutant[] }>(
      new URL('./browser/decode-entry.ts', import.meta.url).pathname,
      { huge: HUGE, modelUrl: '/shared/models/cifar10-resnet20.onnx', mutants: { files: MUTATED, perFile: PER_FILE, seed: 0x5eed, skipAbove: 4_000_000 } },
      { alias: workspaceAlias, routes: { '/img/': dir + path.sep, '/shared/': sharedRoot + path.sep, '/ort/': path.join(repoRoot, 'node_modules/onnxruntime-web/dist/') } },
    );
    for (const r of result) console.info(r.label, r.code ?? '', r.message ?? `${r.width}x${r.height}${r.fs !== undefined ? ` fs ${r.fs}` : ''}`);
    got = (label) => result.find((r) => r.label === label)!;
    mutants = m;
  }, 300_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it.each(HUGE)('%s: refused from its header (bytes and File), naming the size, the limit and the option', (f) => {
    const bytes = got(`${f} bytes`);
    expect(bytes.code).toBe('IMAGE_TOO_LARGE');
    expect(bytes.message).toBe('image 3 is 20000x30000 = 600000000 pixels, over the limit of 100000000. Fix: downscale it first, or raise the limit with createDetector({ maxImagePixels: 600000000 }).');
    expect(got(`${f} File`)).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringMatching(new RegExp(`^"${f}" is 20000x30000 = 600000000 pixels`)) });
  });

  it('a small image over a small cap is refused, at the cap decoded (bytes and URL)', () => {
    expect(got('png cap 850')).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('image 0 is 37x23 = 851 pixels, over the limit of 850') });
    expect(got('png cap 851')).toMatchObject({ width: 37, height: 23 });
    expect(got('png url cap 850')).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('image 1 (/img/rgb.png) is 37x23 = 851 pixels') });
  });

  it('an EXIF-rotated JPEG counts the same pixels, and decodes rotated', () => {
    expect(got('jpeg exif6 cap 850')).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('37x23 = 851 pixels') });
    expect(got('jpeg exif6 cap 851')).toMatchObject({ width: 23, height: 37 });
  });

  it('a format without a header size (ICO) or an ImageBitmap is checked before it is copied out', () => {
    expect(got('ico cap 159')).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('16x10 = 160 pixels, over the limit of 159') });
    expect(got('ico cap 160')).toMatchObject({ width: 16, height: 10 });
    expect(got('bitmap cap 100')).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('image 2 is 37x23 = 851 pixels') });
  });

  it('an empty file, a text file and cut PNGs and JPEGs get clear refusals naming them, not partial pixels', () => {
    expect(got('empty File')).toMatchObject({ code: 'EMPTY_IMAGE', message: expect.stringMatching(/^"empty\.png" is empty \(0 bytes\)/) });
    expect(got('text File')).toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(/^"notes\.txt" is not an image this browser can decode \(type text\/plain/) });
    for (const [label, format] of [['png cut before its image data', 'PNG'], ['png cut in its image data', 'PNG'], ['jpeg cut in half', 'JPEG']]) {
      expect(got(label!), label).toMatchObject({ code: 'BAD_IMAGE', message: expect.stringMatching(new RegExp(`^image 0 \\(a ${format} file\\) could not be decoded .*Fix: the file is truncated or corrupt`)) });
    }
  });

  it('createDetector passes maxImagePixels to the decoder; the default scores the same file', () => {
    expect(got('detector cap 100')).toMatchObject({ code: 'IMAGE_TOO_LARGE', message: expect.stringContaining('image 0 is 37x23 = 851 pixels, over the limit of 100') });
    expect(Number.isFinite(got('detector cap default').fs)).toBe(true);
    expect(got('detector cap 0')).toMatchObject({ code: 'BAD_OPTION' });
  });

  it(`reads the size Chromium decodes, on ${PER_FILE} mutated or truncated copies of each of ${MUTATED.length} files`, () => {
    expect(mutants).toHaveLength(PER_FILE * MUTATED.length);
    const both = mutants.filter((m) => m.header && m.decoded);
    // An EXIF rotation swaps width and height (Chromium applies it whatever imageOrientation says).
    const differ = both.filter((m) => {
      const [w, h] = m.header!, [dw, dh] = m.decoded!;
      return !((w === dw && h === dh) || (w === dh && h === dw));
    });
    const unread = mutants.filter((m) => !m.header && m.decoded);
    const show = (ms: Mutant[]) => ms.slice(0, 8).map((m) => `${m.file}#${m.index} (${m.kind}): header ${m.header?.join('x') ?? 'none'}, decoded ${m.decoded?.join('x')}`).join('; ');
    console.info(`${mutants.length} mutants: ${both.length} sized by both (${differ.length} differ: ${show(differ)}), ${unread.length} decoded without a header size (${show(unread)}), ${mutants.filter((m) => m.header && !m.decoded).length} sized but not decoded`);
    expect(both.length).toBeGreaterThan(PER_FILE * MUTATED.length * 0.3);
    expect(differ, show(differ)).toEqual([]);
    expect(unread, show(unread)).toEqual([]);
  });
});
