#!/usr/bin/env node
// @ts-check
// What a single-pipeline decode would save (issue 16: "sharp costs about 0.66 ms per
// 32x32 JPEG"). Standalone, not part of `npm run bench`:
//
//   node tools/bench/decode-cost.mjs [--images 64] [--reps 7]
//
// @fsta/onnxruntime-node's decodeImage reads the file, asks sharp for the metadata
// (the pixel cap) and then decodes with a second sharp pipeline. The variants here
// decode the same batch of 16 files, Promise.all'd as the detector does per batch:
//   current      decodeImage (readFile + sharp metadata + sharp decode)
//   one pipeline sharp(path, { limitInputPixels }) → rotate → sRGB → raw: sharp reads
//                the file and checks the cap from the header itself (the metadata
//                call would only be needed, on failure, to word IMAGE_TOO_LARGE)
//   bytes, one   readFile, then the one pipeline on the bytes (the readFile's share)
// Every variant's pixels are checked equal to decodeImage's before timing.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage } from '@fsta/onnxruntime-node';
import { imageList } from './images.mjs';
import { interleaved } from './timing.mjs';
import { machine } from './machine.mjs';

const arg = (/** @type {string} */ name, /** @type {number} */ d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const n = arg('--images', 64);
const reps = arg('--reps', 7);
const BATCH = 16;

/** @param {string | Buffer} input */
async function onePipeline(input) {
  const { data, info } = await sharp(input, { limitInputPixels: DEFAULT_MAX_IMAGE_PIXELS, pages: 1, failOn: 'error' })
    .rotate()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/** @type {Record<string, (f: string, i: number) => Promise<{ data: Uint8Array | Uint8ClampedArray, width: number, height: number }>>} */
const VARIANTS = {
  current: (f, i) => decodeImage(f, i),
  'one pipeline': (f) => onePipeline(f),
  'bytes, one pipeline': async (f) => onePipeline(await readFile(f)),
};

async function check(/** @type {string[]} */ files) {
  for (const [i, f] of files.entries()) {
    const ref = await decodeImage(f, i);
    for (const [name, decode] of Object.entries(VARIANTS)) {
      const p = await decode(f, i);
      if (p.width !== ref.width || p.height !== ref.height || Buffer.compare(Buffer.from(p.data), Buffer.from(ref.data)) !== 0) throw new Error(`${name} decodes ${f} differently from decodeImage`);
    }
  }
}

const out = { machine: machine(), images: n, reps, batch: BATCH, sets: /** @type {object[]} */ ([]) };
for (const set of ['cifar10-test', 'imagenet-val-1k']) {
  const files = imageList(set, n);
  await check(files);
  /** @type {string[][]} */
  const batches = [];
  for (let i = 0; i < files.length; i += BATCH) batches.push(files.slice(i, i + BATCH));
  const rows = await interleaved(Object.entries(VARIANTS).map(([name, decode]) => ({
    name,
    run: async () => { for (const b of batches) await Promise.all(b.map((f, i) => decode(f, i))); },
  })), { reps });
  out.sets.push({ set, files: files.length, variants: rows.map((r) => ({ name: r.name, msPerImage: r.msPerRun / files.length, ratio: r.ratio, ratioLo: r.ratioLo, ratioHi: r.ratioHi })) });
  for (const r of rows) process.stderr.write(`${set}: ${r.name.padEnd(20)} ${(r.msPerRun / files.length).toFixed(3)} ms/image, ${r.ratio.toFixed(3)}x current [${r.ratioLo.toFixed(3)}–${r.ratioHi.toFixed(3)}]\n`);
}
out.machine.loadavgAfter = machine().loadavg;
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
