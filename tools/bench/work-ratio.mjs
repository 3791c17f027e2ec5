#!/usr/bin/env node
// @ts-check
// The work the patched graph adds, as a ratio that a loaded machine barely moves: CPU time
// per run at ONE intra-op thread with spinning off (no thread waits on another, so CPU time
// is work), original / FS only / patched, interleaved. Standalone, not part of `npm run bench`:
//
//   node tools/bench/work-ratio.mjs [resnet50|cifar10-resnet56|imagenet-mobilenetv2] [--batch 16] [--reps 7]
//
// Beside the bench's 2-thread wall-clock ratios it separates what the graph costs (this)
// from how well the extra nodes use two threads (the rest of the gap).
import * as ort from 'onnxruntime-node';
import { encodeModel, patchModel } from '@fsta/onnx';
import { MODELS, loadModel, probeInput } from './models.mjs';
import { median, percentile } from './stats.mjs';
import { flopBound } from './flops.mjs';

const arg = (/** @type {string} */ name, /** @type {number} */ d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const id = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'imagenet-mobilenetv2';
const batch = arg('--batch', 16), reps = arg('--reps', 7);
const spec = MODELS.find((x) => x.id === id);
if (!spec) throw new Error(`unknown model ${id}; known: ${MODELS.map((x) => x.id).join(', ')}`);
const m = loadModel(spec);
const patched = (/** @type {boolean} */ ta) => encodeModel(patchModel(m.model, { fsStageTensor: m.fsTensor, taStageTensor: ta ? m.taTensor : null, k: m.k, mode: 'branch', featureScore: ta ? 'fs_ta' : 'fs', ...(m.head ? { head: m.head } : {}) }).model);
const variants = { original: m.bytes, 'FS only': patched(false), patched: patched(true) };
const options = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: /** @type {const} */ ('all'), extra: { session: { intra_op: { allow_spinning: '0' } } } };
/** @type {[string, ort.InferenceSession][]} */
const sessions = [];
for (const [name, bytes] of Object.entries(variants)) sessions.push([name, await ort.InferenceSession.create(bytes, options)]);
const shape = [batch, ...m.chw];
const feeds = { [/** @type {string} */ (sessions[0]?.[1].inputNames[0])]: new ort.Tensor('float32', probeInput(shape), shape) };
for (const [, s] of sessions) for (let i = 0; i < 2; i++) await s.run(feeds);
const t0 = performance.now();
await sessions[0]?.[1].run(feeds);
const inner = Math.max(1, Math.ceil(300 / (performance.now() - t0)));
/** @type {number[][]} */
const cpu = sessions.map(() => []);
for (let r = 0; r < reps; r++) {
  for (let j = 0; j < sessions.length; j++) {
    const v = (j + r) % sessions.length;
    const s = /** @type {ort.InferenceSession} */ (sessions[v]?.[1]);
    await s.run(feeds);
    const c = process.cpuUsage();
    for (let i = 0; i < inner; i++) await s.run(feeds);
    const d = process.cpuUsage(c);
    /** @type {number[]} */ (cpu[v]).push((d.user + d.system) / 1000 / inner);
  }
}
const bound = flopBound(m.model, m.shapes, { taTensor: m.taTensor, fsTensor: m.fsTensor }).bound;
process.stdout.write(`${m.label}, batch ${batch}, 1 intra-op thread, no spinning; CPU ms per run, ratio to the original (median [IQR] over ${reps} repetitions); FLOP bound ${bound.toFixed(3)}x\n`);
for (const [j, [name]] of sessions.entries()) {
  const ratios = /** @type {number[]} */ (cpu[j]).map((x, r) => x / /** @type {number} */ (cpu[0]?.[r]));
  process.stdout.write(`  ${name.padEnd(10)} ${median(/** @type {number[]} */ (cpu[j])).toFixed(1).padStart(8)} ms  ${median(ratios).toFixed(3)}x [${percentile(ratios, 0.25).toFixed(3)}–${percentile(ratios, 0.75).toFixed(3)}]\n`);
}
for (const [, s] of sessions) await s.release();
