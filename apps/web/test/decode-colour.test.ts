/**
 * The one browser decoder (@fsta/onnxruntime-web's decodeImage, which the inspector
 * calls for every runtime) against PIL, in headless Chromium: images with a Display P3
 * profile decode to their stored values (createImageBitmap with colorSpaceConversion
 * 'none'), as PIL's convert('RGB') and @fsta/onnxruntime-node do, EXIF orientation
 * applied; from bytes and from a dropped File alike. Fixtures and PIL's pixels: packages/onnxruntime-node/test/fixtures/icc
 * (tools/fixtures/icc-images.mjs, icc_pixels.py).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chromiumPath, repoRoot, runInBrowser } from '../../../tools/browser/harness.js';
import { workspaceAlias } from '../../../vitest.shared.js';
import type { Decoded } from './browser/decode-entry.js';

const icc = path.join(repoRoot, 'packages/onnxruntime-node/test/fixtures/icc');
const pil = JSON.parse(readFileSync(path.join(icc, 'pil-pixels.json'), 'utf8')) as { cases: { file: string; width: number; height: number; rgb: string }[] };
// CMYK JPEGs: Chromium converts them through a CMYK profile, PIL by a plain formula; not compared.
const FILES = ['p3.png', 'p3.jpg', 'p3-orientation6.jpg'];

const maxDiff = (a: number[], b: Uint8Array) => {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
};

describe.skipIf(!existsSync(chromiumPath))('browser decoding ignores embedded ICC profiles, as PIL does', () => {
  let decoded: Decoded[];
  beforeAll(async () => {
    ({ result: decoded } = await runInBrowser<Decoded[]>(new URL('./browser/decode-entry.ts', import.meta.url).pathname, { files: FILES }, { alias: workspaceAlias, routes: { '/icc/': icc + path.sep } }));
  }, 300_000);

  it.each(FILES)('%s: decodeImage gives PIL\'s pixels from bytes and from the page\'s dropped File (PNG exactly, JPEG within ±1)', (file) => {
    const d = decoded.find((x) => x.file === file)!;
    expect(d.error).toBeUndefined();
    const c = pil.cases.find((x) => x.file === file)!;
    expect([d.width, d.height]).toEqual([c.width, c.height]);
    const want = Buffer.from(c.rgb, 'base64');
    const tol = file.endsWith('.png') ? 0 : 1;
    const diffs = [maxDiff(d.bytes, want), maxDiff(d.dropped, want)];
    console.info(`${file}: max |browser - PIL| = ${diffs[0]} (bytes), ${diffs[1]} (dropped File)`);
    expect(diffs[0], 'decodeImage(bytes)').toBeLessThanOrEqual(tol);
    expect(diffs[1], 'the page\'s decodeFile(File)').toBeLessThanOrEqual(tol);
  });
});
