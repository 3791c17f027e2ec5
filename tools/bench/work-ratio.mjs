#!/usr/bin/env node
// @ts-check
// The work the patched graph adds (overhead.mjs workSection: CPU time at one intra-op thread),
// for one model, outside a full bench run:
//
//   node tools/bench/work-ratio.mjs [resnet50|cifar10-resnet56|imagenet-mobilenetv2] [--batch 16] [--reps 7]
import { MODELS, loadModel } from './models.mjs';
import { flopBound } from './flops.mjs';
import { workSection } from './overhead.mjs';

const arg = (/** @type {string} */ name, /** @type {number} */ d) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : d);
const id = process.argv[2] && !process.argv[2].startsWith('--') ? process.argv[2] : 'imagenet-mobilenetv2';
const batch = arg('--batch', 16), reps = arg('--reps', 7);
const spec = MODELS.find((x) => x.id === id);
if (!spec) throw new Error(`unknown model ${id}; known: ${MODELS.map((x) => x.id).join(', ')}`);
const m = loadModel(spec);
const rows = await workSection(m, batch, reps);
const bound = flopBound(m.model, m.shapes, { taTensor: m.taTensor, fsTensor: m.fsTensor }).bound;
process.stdout.write(`${m.label}, batch ${batch}, 1 intra-op thread, no spinning; CPU ms per run, ratio to the original (median [IQR] over ${reps} repetitions); FLOP bound ${bound.toFixed(3)}x\n`);
for (const r of rows) process.stdout.write(`  ${r.name.padEnd(10)} ${r.cpuMsPerRun.toFixed(1).padStart(8)} ms  ${r.ratio.toFixed(3)}x [${r.ratioLo.toFixed(3)}–${r.ratioHi.toFixed(3)}]\n`);
