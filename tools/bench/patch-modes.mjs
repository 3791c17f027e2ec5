#!/usr/bin/env node
// @ts-check
// Branch vs double-batch TA (issue 3) in onnxruntime-node on CPU: the original model
// and both patched variants, timed interleaved (timing.mjs), medians over repetitions.
// Prints a markdown table for docs/patching.md. Needs a build (dist) and the exports:
//   (cd packages/onnx && npx tsc -p tsconfig.build.json) && node tools/ensure-models.mjs
//   node tools/bench/patch-modes.mjs [--reps 7]
import * as ort from 'onnxruntime-node';
import { encodeModel, patchModel } from '@fsta/onnx';
import { MODELS, loadModel, probeInput } from './models.mjs';
import { interleaved } from './timing.mjs';
import { SESSION_OPTIONS } from './overhead.mjs';
import { machine } from './machine.mjs';

const reps = process.argv.includes('--reps') ? Number(process.argv[process.argv.indexOf('--reps') + 1]) : 7;
const ids = ['resnet50', 'cifar10-resnet56'];
const rows = [];
for (const m of MODELS.filter((x) => ids.includes(x.id)).map(loadModel)) {
  const patched = (/** @type {'branch' | 'double-batch'} */ mode) => encodeModel(patchModel(m.model, {
    fsStageTensor: m.fsTensor, taStageTensor: m.taTensor, k: m.k, mode, ...(m.head ? { head: m.head, classifier: 'energy' } : {}),
  }).model);
  const sessions = {
    original: await ort.InferenceSession.create(m.bytes, SESSION_OPTIONS),
    branch: await ort.InferenceSession.create(patched('branch'), SESSION_OPTIONS),
    'double-batch': await ort.InferenceSession.create(patched('double-batch'), SESSION_OPTIONS),
  };
  const input = sessions.original.inputNames[0];
  for (const batch of [1, 16]) {
    const shape = [batch, ...m.chw];
    const feeds = { [/** @type {string} */ (input)]: new ort.Tensor('float32', probeInput(shape), shape) };
    process.stderr.write(`[patch-modes] ${m.label}, batch ${batch}\n`);
    const t = await interleaved(Object.entries(sessions).map(([name, s]) => ({ name, run: () => s.run(feeds) })), { reps });
    rows.push({ model: m.label, batch, t });
  }
  for (const s of Object.values(sessions)) await s.release();
}

const mc = machine();
const f = (/** @type {number} */ x, d = 2) => x.toFixed(d);
const lines = [
  `onnxruntime-node ${mc.onnxruntimeNode} on CPU (${mc.cpu}, ${mc.cores} cores, load average ${mc.loadavg.join(' ')} at the start), ${SESSION_OPTIONS.intraOpNumThreads} intra-op threads, graph optimization "${SESSION_OPTIONS.graphOptimizationLevel}"; ${reps} interleaved repetitions, medians; ratio = time / original model's time in the same repetition (quartiles in brackets).`,
  '',
  '| model | batch | original ms | branch ms | double-batch ms | branch / original | double-batch / original | double-batch / branch |',
  '|---|---:|---:|---:|---:|---:|---:|---:|',
];
for (const { model, batch, t } of rows) {
  const [o, b, d] = /** @type {[any, any, any]} */ (t);
  lines.push(`| ${model} | ${batch} | ${f(o.msPerRun)} | ${f(b.msPerRun)} | ${f(d.msPerRun)} | ${f(b.ratio, 3)} [${f(b.ratioLo, 3)}, ${f(b.ratioHi, 3)}] | ${f(d.ratio, 3)} [${f(d.ratioLo, 3)}, ${f(d.ratioHi, 3)}] | ${f(d.msPerRun / b.msPerRun, 3)} |`);
}
process.stdout.write(lines.join('\n') + '\n');
