#!/usr/bin/env node
// The family matrix: for every export of tools/family_matrix.py (.cache/models/family), find the
// stages as `fsta` does (static shapes, findBackbone 'auto'), patch FS (and TA) in, run the
// original and the patched model in onnxruntime-node on the probe input, and check
//   - the stages: shape, whole-number stride, sign (a stage said to be ≥ 0 is ≥ 0 at run time);
//   - C5 is PyTorch's C5 by definition (tools/family_matrix.py): the same values;
//   - fsta/fs equals PyTorch's FS on that tensor within 1e-4 (relative to max(1, |FS|)), on its
//     layout for vision transformers (tokens without the class token, channels-last maps);
//   - patching keeps the model's own outputs bit-identical.
// A model is `right` when all hold, `refused` when fsta throws an FstaError (the message is
// kept), `wrong` otherwise.
//
//   node tools/family-matrix.mjs [--dir .cache/models/family] [--write tools/docs/family-matrix.json] [NAME ...]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeModel, encodeModel, patchModel, toGraphView, withOutputs } from '@fsta/onnx';
import { findBackbone, STAGE_NAMES } from '@fsta/backbones';

const root = fileURLToPath(new URL('..', import.meta.url));
export const FAMILY_DIR = join(root, '.cache', 'models', 'family');
export const MATRIX_JSON = join(root, 'tools', 'docs', 'family-matrix.json');
export const MATRIX_COMMAND = '/usr/bin/python3 tools/family_matrix.py && node tools/family-matrix.mjs --write tools/docs/family-matrix.json && node tools/docs/gen-backbones.mjs';

/** x[i] = ((i * 7919) % 1000) / 1000 − 0.5, as tools/export_torchvision.py's probe_input. */
function probeInput(shape) {
  const n = shape.reduce((p, d) => p * d, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  return x;
}

function stats(data, shape) {
  let sum = 0, abs = 0, min = Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    sum += v;
    abs += Math.abs(v);
    if (v < min) min = v;
  }
  return { shape, sum, abs, min };
}

/** The PyTorch tensor with these values: same shape, sum and sum of |x| (float32 vs float64 sums). */
const sameTensor = (a, t) =>
  a.shape.length === t.shape.length && a.shape.every((d, i) => d === t.shape[i]) &&
  Math.abs(a.sum - t.sum) <= 1e-4 * Math.max(1, t.abs) && Math.abs(a.abs - t.abs) <= 1e-4 * Math.max(1, t.abs);

async function run(bytes, feeds) {
  const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

const close = (a, b) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(b));
const fmtShape = (s) => (s ? `${s.slice(1).join('x')}` : '?');

/** Checks one exported model; never throws for fsta's own refusals. */
export async function checkModel(dir, name) {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
  const model = decodeModel(readFileSync(join(dir, `${name}.onnx`)));
  const row = { model: name, kind: meta.kind, input: meta.input.shape, note: meta.note || '' };
  let found;
  try {
    found = findBackbone(toGraphView(model), 'auto');
  } catch (e) {
    if (e?.name !== 'FstaError') throw e;
    return { ...row, status: 'refused', message: e.message };
  }
  const stages = STAGE_NAMES.filter((s) => found.stages[s]).map((s) => ({ name: s, ...found.stages[s] }));
  const c5 = found.stages.C5;
  const ta = found.ta;
  Object.assign(row, {
    backbone: found.manifest?.name ?? 'auto',
    stages: stages.map((s) => ({ name: s.name, shape: s.shape, stride: s.stride, nonNegative: s.nonNegative, node: s.node, ...(s.layout === 'nchw' || s.layout === 'ncl' ? {} : { layout: s.layout, prefixTokens: s.prefixTokens }) })),
    ta: ta ? { stage: ta.stage, tensor: ta.tensor, note: ta.note, warning: ta.warning } : null,
    head: found.head ? (found.head.weightInitializer ? 'linear' : 'conv') : null,
  });
  const problems = [];
  if (!c5) return { ...row, status: 'wrong', problems: ['no C5'] };
  if (stages.some((s) => s.stride !== null && !Number.isInteger(s.stride))) problems.push('a stride is not a whole number');
  const strides = stages.map((s) => s.stride ?? 0);
  if (strides.some((s, i) => i > 0 && s < strides[i - 1])) problems.push('strides decrease');

  const patched = patchModel(model, {
    fsStageTensor: c5.tensor, fsLayout: { layout: c5.layout, prefixTokens: c5.prefixTokens },
    taStageTensor: ta?.tensor ?? null, ...(ta ? { taLayout: { layout: ta.layout, prefixTokens: ta.prefixTokens } } : {}), k: found.defaults.k,
  });
  const exposed = [...new Set([...stages.map((s) => s.tensor), ...(ta ? [ta.tensor] : [])])];
  const inShape = meta.input.shape;
  const feeds = { [meta.input.name]: new ort.Tensor('float32', probeInput(inShape), inShape) };
  const original = await run(encodeModel(model), feeds);
  const out = await run(encodeModel(withOutputs(patched.model, exposed)), feeds);

  for (const o of meta.outputs) {
    const a = original[o]?.data, b = out[o]?.data;
    if (!a || !b || a.length !== b.length || a.some((v, i) => !Object.is(v, b[i]))) problems.push(`output ${o} changed by patching`);
  }
  const sign = {};
  for (const s of stages) {
    const t = out[s.tensor];
    const st = stats(t.data, [...t.dims]);
    // Static shapes stop at a detector's data-dependent resize: show the shape the run gave, marked.
    const r = row.stages.find((x) => x.name === s.name);
    if (r.shape.some((d, i) => i > 0 && d < 0)) r.runShape = [...t.dims];
    sign[s.name] = st.min;
    if (s.nonNegative && st.min < 0) problems.push(`${s.name} said ≥ 0 but has ${st.min}`);
  }
  if (ta && ta.tensor !== found.stages[ta.stage]?.tensor) {
    const t = out[ta.tensor];
    if (stats(t.data, [...t.dims]).min < 0) problems.push(`TA tensor ${ta.tensor} has negative values`);
  }
  const c5Out = out[c5.tensor];
  const c5Stats = stats(c5Out.data, [...c5Out.dims]);
  const isTorchC5 = sameTensor(c5Stats, meta.c5);
  if (!isTorchC5) problems.push(`C5 ${fmtShape(c5Stats.shape)} is not PyTorch's C5 (${meta.c5_definition}, ${fmtShape(meta.c5.shape)})`);
  const fs = out['fsta/fs'].data[0];
  const torchFs = meta.c5.fs;
  if (isTorchC5 && !close(fs, torchFs)) problems.push(`fsta/fs ${fs} vs PyTorch ${torchFs}`);
  Object.assign(row, { fs, torchFs, fsDiff: Math.abs(fs - torchFs), torchC5: meta.c5.shape, minPerStage: sign });
  return { ...row, status: problems.length === 0 ? 'right' : 'wrong', problems };
}

export function listModels(dir) {
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).filter((n) => existsSync(join(dir, `${n}.onnx`))).sort() : [];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (k) => { const i = args.indexOf(k); if (i < 0) return undefined; const v = args[i + 1]; args.splice(i, 2); return v; };
  const dir = opt('--dir') ?? FAMILY_DIR;
  const write = opt('--write');
  const names = args.length ? args : listModels(dir);
  const rows = [];
  for (const n of names) {
    const t0 = Date.now();
    let r;
    try {
      r = await checkModel(dir, n);
    } catch (e) {
      r = { model: n, status: 'wrong', problems: [`crashed: ${e?.stack ?? e}`] };
    }
    rows.push(r);
    console.log(`${n.padEnd(34)} ${r.status.padEnd(8)} ${((Date.now() - t0) / 1000).toFixed(1)}s  ${r.status === 'refused' ? r.message : (r.problems ?? []).join('; ')}${r.stages ? `  [${r.stages.map((s) => `${s.name} ${fmtShape(s.shape)}/${s.stride}${s.nonNegative ? '+' : ''}`).join(' ')}]` : ''}`);
  }
  const count = (s) => rows.filter((r) => r.status === s).length;
  console.log(`right ${count('right')}, refused ${count('refused')}, wrong ${count('wrong')} of ${rows.length}`);
  if (write) {
    const sources = [...new Set(names.map((n) => { try { return JSON.parse(readFileSync(join(dir, `${n}.json`), 'utf8')).source; } catch { return null; } }).filter(Boolean))];
    writeFileSync(write, JSON.stringify({ command: MATRIX_COMMAND, sources, rows }, null, 1) + '\n');
    console.log(`wrote ${write}`);
  }
}
