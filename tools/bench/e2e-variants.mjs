#!/usr/bin/env node
// @ts-check
// Files → scores on CIFAR ResNet-56 (issue 16's end-to-end row), with the pipeline's settings
// varied side by side: what each of the changes that sped it up is worth on this machine.
// Standalone, not part of `npm run bench`:
//
//   node tools/bench/e2e-variants.mjs [--images 160] [--rounds 15]
//
// Every variant is @fsta/onnx's ortDetector on the same patched model, 2 score() calls of 16
// files in flight (as the bench's end-to-end row); the variants differ in
//   read:     'sync' = decodeImage(path) (small files read synchronously, as the adapter does),
//             'async' = readRegularFile (five thread-pool trips) then decodeImage(bytes), as before;
//   spinning: 'stop' = DETECTOR_SESSION_OPTIONS (intra-op threads stop spinning when a run ends),
//             'on' = onnxruntime's default (they spin on for tens of ms after each run);
//   threads:  onnxruntime's intra-op threads (undefined: its own default, which was 1 on a 2-core VM;
//             the detector now asks for the physical cores);
//   decodes:  how many decodes a score() call keeps going (core's DECODE_CONCURRENCY, now 16; was 4).
// Rounds of `--images` files rotate through the variants; ratios are images/s over the first
// variant's in the same round, medians with quartiles.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { ortDetector, prepareDetectorModel } from '@fsta/onnx';
import { DETECTOR_SESSION_OPTIONS, MAX_IMAGE_BYTES, decodeImage, physicalCores, readRegularFile } from '@fsta/onnxruntime-node';
import { imageList } from './images.mjs';
import { MODELS } from './models.mjs';
import { median, percentile } from './stats.mjs';
import { machine } from './machine.mjs';

const arg = (/** @type {string} */ name, /** @type {number} */ d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const n = arg('--images', 160), rounds = arg('--rounds', 15);
const files = imageList('cifar10-test', 1000);
const m = /** @type {typeof MODELS[number]} */ (MODELS.find((x) => x.id === 'cifar10-resnet56'));
const prepared = prepareDetectorModel(readFileSync(m.path), { backbone: 'cifar_resnet56' });

/** @type {Record<string, (x: any, i: number) => Promise<any>>} */
const READ = {
  sync: (x, i) => decodeImage(x, i),
  async: async (x, i) => decodeImage(await readRegularFile(x, { maxBytes: MAX_IMAGE_BYTES, what: 'image' }), i),
};
const cores = physicalCores() ?? undefined;
/** @type {[string, string, string, number | undefined, number][]} name, read, spinning, intra-op threads (undefined: onnxruntime's default), decodes at once */
const VARIANTS = [
  ['before: async read, spinning, 4 decodes', 'async', 'on', undefined, 4],
  ['sync read (spinning, 4 decodes)', 'sync', 'on', undefined, 4],
  ['spinning stop (async read, 4 decodes)', 'async', 'stop', undefined, 4],
  ['sync read + spinning stop, 4 decodes', 'sync', 'stop', undefined, 4],
  ['sync read, spinning stop, 16 decodes', 'sync', 'stop', undefined, 16],
  [`now: + ${cores} intra-op threads (physical cores)`, 'sync', 'stop', cores, 16],
  ['now with 1 intra-op thread', 'sync', 'stop', 1, 16],
  ['now, but threads spin', 'sync', 'on', cores, 16],
];
const detectors = [];
for (const [name, read, spin, threads, decodes] of VARIANTS) {
  const session = await ort.InferenceSession.create(prepared.bytes, { executionProviders: ['cpu'], ...(spin === 'stop' ? DETECTOR_SESSION_OPTIONS : {}), ...(threads ? { intraOpNumThreads: threads } : {}) });
  const det = ortDetector({ prepared, session, tensor: (d, s) => new ort.Tensor('float32', d, s), runtime: name, decodeConcurrency: decodes, decode: /** @type {any} */ (READ[read]) });
  await det.score(files.slice(0, 32));
  detectors.push({ name, det });
}
/** @type {number[][]} */
const rates = detectors.map(() => []);
let offset = 0;
for (let r = 0; r < rounds; r++) {
  for (let j = 0; j < detectors.length; j++) {
    const v = (j + r) % detectors.length;
    const some = files.slice(offset % 1000, (offset % 1000) + n);
    offset += n;
    /** @type {string[][]} */
    const chunks = [];
    for (let i = 0; i < some.length; i += 16) chunks.push(some.slice(i, i + 16));
    let next = 0;
    const t0 = performance.now();
    await Promise.all([0, 1].map(async () => { while (next < chunks.length) await detectors[v]?.det.score(/** @type {string[]} */ (chunks[next++])); }));
    /** @type {number[]} */ (rates[v]).push(some.length / ((performance.now() - t0) / 1000));
  }
}
const mc = machine();
process.stdout.write(`CIFAR ResNet-56, ${n} files a round, ${rounds} rounds, 2 score() calls of 16 in flight; ${mc.cpu}, ${mc.cores} cores, load average ${mc.loadavg.join(' ')} at the start\n`);
for (const [j, { name }] of detectors.entries()) {
  const ratios = /** @type {number[]} */ (rates[j]).map((x, r) => x / /** @type {number} */ (rates[0]?.[r]));
  process.stdout.write(`${name.padEnd(38)} ${median(/** @type {number[]} */ (rates[j])).toFixed(0).padStart(5)} images/s  ${median(ratios).toFixed(3)}x [${percentile(ratios, 0.25).toFixed(3)}–${percentile(ratios, 0.75).toFixed(3)}]\n`);
}
for (const { det } of detectors) await det.dispose();
