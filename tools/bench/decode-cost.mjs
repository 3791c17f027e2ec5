#!/usr/bin/env node
// @ts-check
// What a single-pipeline decode would save (issue 16: "sharp costs about 0.66 ms per
// 32x32 JPEG"). Standalone, not part of `npm run bench`:
//
//   node tools/bench/decode-cost.mjs [--images 64] [--reps 7]
//
// @fsta/onnxruntime-node's decodeImage reads the file, asks sharp for the metadata
// (the pixel cap) and then decodes with a second sharp pipeline. The variants here
// decode the same files 16 at a time, Promise.all'd as the detector does per batch,
// and one at a time (the serving case):
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
import { median } from './stats.mjs';
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

/**
 * CPU time (user + system, every thread of this process: sharp's and libuv's included)
 * per image, median over rounds in a rotating order. Work done, which a loaded machine
 * inflates far less than wall time.
 * @param {{ run: () => Promise<void> }[]} variants @param {number} rounds @param {number} images
 */
async function cpuPerImage(variants, rounds, images) {
  /** @type {number[][]} */
  const ms = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < variants.length; j++) {
      const v = (j + r) % variants.length;
      const c = process.cpuUsage();
      await /** @type {{ run: () => Promise<void> }} */ (variants[v]).run();
      const d = process.cpuUsage(c);
      /** @type {number[]} */ (ms[v]).push((d.user + d.system) / 1000 / images);
    }
  }
  return ms.map((m) => median(m));
}

async function check(/** @type {string[]} */ files) {
  for (const [i, f] of files.entries()) {
    const ref = await decodeImage(f, i);
    for (const [name, decode] of Object.entries(VARIANTS)) {
      const p = await decode(f, i);
      if (p.width !== ref.width || p.height !== ref.height || Buffer.compare(Buffer.from(p.data), Buffer.from(ref.data)) !== 0) throw new Error(`${name} decodes ${f} differently from decodeImage`);
    }
  }
}

const out = { machine: machine(), images: n, reps, sets: /** @type {object[]} */ ([]) };
for (const set of ['cifar10-test', 'imagenet-val-1k']) {
  const files = imageList(set, n);
  await check(files);
  // 16 at a time is the detector's batch (throughput); 1 at a time the serving case.
  for (const chunk of [BATCH, 1]) {
    /** @type {string[][]} */
    const batches = [];
    for (let i = 0; i < files.length; i += chunk) batches.push(files.slice(i, i + chunk));
    const variants = Object.entries(VARIANTS).map(([name, decode]) => ({
      name,
      run: async () => { for (const b of batches) await Promise.all(b.map((f, i) => decode(f, i))); },
    }));
    const rows = await interleaved(variants, { reps });
    const cpu = await cpuPerImage(variants, reps, files.length);
    out.sets.push({ set, files: files.length, concurrent: chunk, variants: rows.map((r, j) => ({ name: r.name, msPerImage: r.msPerRun / files.length, ratio: r.ratio, ratioLo: r.ratioLo, ratioHi: r.ratioHi, cpuMsPerImage: cpu[j] })) });
    for (const [j, r] of rows.entries()) process.stderr.write(`${set}, ${String(chunk).padStart(2)} at a time: ${r.name.padEnd(20)} wall ${(r.msPerRun / files.length).toFixed(3)} ms/image, ${r.ratio.toFixed(3)}x current [${r.ratioLo.toFixed(3)}–${r.ratioHi.toFixed(3)}]; CPU ${cpu[j]?.toFixed(3)} ms/image (${((cpu[j] ?? 0) / (cpu[0] ?? 1)).toFixed(3)}x)\n`);
  }
}
out.machine.loadavgAfter = machine().loadavg;
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
