// @ts-check
// Sections 1 and 2 of issue 7: the cost of FS+TA in onnxruntime-node on CPU, as
// time(variant) / time(original model), beside the FLOP bound, plus a profile of
// the patched graph.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeModel, patchModel, tailModel, withOutputs } from '@fsta/onnx';
import { featureSim, referenceOps, tensor, thresholdActivation } from '@fsta/core';
import { DETECTOR_SESSION_OPTIONS } from '@fsta/onnxruntime-node';
import { flopBound } from './flops.mjs';
import { interleaved } from './timing.mjs';
import { probeInput } from './models.mjs';
import { median, percentile } from './stats.mjs';

// The detector's own options (DETECTOR_SESSION_OPTIONS: intra-op threads stop spinning when a run
// ends) matter here too: with the default, a session's threads spin on for tens of ms after its
// run and take a core from the next variant's session, a bias that depends on which variant
// comes before which in the rotation.
export const SESSION_OPTIONS = { ...DETECTOR_SESSION_OPTIONS, intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: /** @type {const} */ ('all') };

/** @param {ReturnType<typeof import('./models.mjs').loadModel>} m @param {'branch' | 'double-batch'} mode */
const patched = (m, mode, ta = true) => encodeModel(patchModel(m.model, {
  fsStageTensor: m.fsTensor, taStageTensor: ta ? m.taTensor : null, k: m.k, mode, featureScore: ta ? 'fs_ta' : 'fs',
  ...(m.head ? { head: m.head } : {}),
}).model);

/** @param {ReturnType<typeof import('./models.mjs').loadModel>} m */
export async function overheadSection(m, batches, reps) {
  const bound = flopBound(m.model, m.shapes, { taTensor: m.taTensor, fsTensor: m.fsTensor });
  const open = (/** @type {Uint8Array} */ b) => ort.InferenceSession.create(b, SESSION_OPTIONS);
  const original = await open(m.bytes);
  const branch = await open(patched(m, 'branch'));
  const fsOnly = await open(patched(m, 'branch', false));
  const doubleBatch = await open(patched(m, 'double-batch'));
  const head = await open(encodeModel(withOutputs(m.model, [m.taTensor, m.fsTensor])));
  const cut = tailModel(m.model, m.taTensor, m.fsTensor);
  // The stage-split variant feeds the tail only ReLU(stage − k) from the host.
  if (cut.extraInputs.length > 0) throw new Error(`the TA→FS part reads tensors from before the TA stage (${cut.extraInputs.join(', ')}); it cannot be cut there`);
  const tail = await open(encodeModel(cut.model));
  const input = original.inputNames[0];
  const rows = [];
  for (const b of batches) {
    const shape = [b, ...m.chw];
    const feeds = { [input]: new ort.Tensor('float32', probeInput(shape), shape) };
    const run = (/** @type {ort.InferenceSession} */ s) => () => s.run(feeds);
    // How FS+TA runs without a patched graph: stage tensors out, TA and FS on the
    // host, the TA→FS part as a second session.
    const stageSplit = async () => {
      const out = await head.run(feeds);
      const ta = out[m.taTensor];
      const fs = out[m.fsTensor];
      const o = referenceOps;
      const thresholded = thresholdActivation(o, tensor(/** @type {Float32Array} */ (ta.data), ta.dims), m.k);
      const again = await tail.run({ [m.taTensor]: new ort.Tensor('float32', /** @type {Float32Array} */ (thresholded.data), ta.dims) });
      const f2 = again[m.fsTensor];
      return [featureSim(o, tensor(/** @type {Float32Array} */ (fs.data), fs.dims)), featureSim(o, tensor(/** @type {Float32Array} */ (f2.data), f2.dims))];
    };
    const t = await interleaved([
      { name: 'original', run: run(original) },
      { name: 'patched (one graph, TA branch)', run: run(branch) },
      { name: 'patched, FS only (no TA)', run: run(fsOnly) },
      { name: 'patched, double-batch TA', run: run(doubleBatch) },
      { name: 'stage-split sessions + host round-trip', run: stageSplit },
    ], { reps });
    rows.push({ model: m.label, batch: b, bound: bound.bound, variants: t });
  }
  for (const s of [original, branch, fsOnly, doubleBatch, head, tail]) await s.release();
  return { rows, flops: bound };
}

/**
 * Where the patched graph spends its time: onnxruntime's profiler over `runs` runs,
 * kernel time summed by op type and by part of the graph (the model's own nodes,
 * the duplicated TA tail under fsta/ta/, the other fsta/ score nodes).
 * @param {ReturnType<typeof import('./models.mjs').loadModel>} m
 */
export async function profileSection(m, batch, runs) {
  const prefix = `/tmp/fsta-bench-profile-${process.pid}`;
  const s = await ort.InferenceSession.create(patched(m, 'branch'), { ...SESSION_OPTIONS, enableProfiling: true, profileFilePrefix: prefix });
  const shape = [batch, ...m.chw];
  const feeds = { [s.inputNames[0]]: new ort.Tensor('float32', probeInput(shape), shape) };
  for (let i = 0; i <= runs; i++) await s.run(feeds);
  s.endProfiling();
  await s.release();
  // onnxruntime names the file <prefix>_<timestamp>.json.
  const file = join(dirname(prefix), /** @type {string} */ (readdirSync(dirname(prefix)).find((f) => f.startsWith(basename(prefix)))));
  /** @type {{ cat: string, name: string, dur: number, ts: number, args?: { op_name?: string } }[]} */
  const events = JSON.parse(readFileSync(file, 'utf8'));
  rmSync(file, { force: true });
  // The first run allocates and plans: count from the second run on.
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  const from = starts[1] ?? 0;
  /** @type {Record<string, number>} */ const byOp = {};
  /** @type {Record<string, number>} */ const byPart = {};
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < from) continue;
    // Optimized nodes are named after their output tensor, which keeps the patch's fsta/ prefixes.
    const node = e.name.slice(0, -'_kernel_time'.length);
    const op = e.args?.op_name ?? '?';
    const part = node.startsWith('fsta/ta/') ? 'TA tail copy (fsta/ta/…)' : node.startsWith('fsta/') ? 'fsta score nodes (FS, classifier scores)' : op.startsWith('Reorder') ? 'NCHWc layout reorders' : "model's own nodes";
    byOp[op] = (byOp[op] ?? 0) + e.dur;
    byPart[part] = (byPart[part] ?? 0) + e.dur;
    total += e.dur;
  }
  const share = (/** @type {Record<string, number>} */ r) => Object.entries(r).sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ name: k, share: v / total }));
  return { model: m.label, batch, runs, totalMsPerRun: total / 1000 / runs, byOp: share(byOp), byPart: share(byPart) };
}

/**
 * The work the patched graph adds, as a ratio that load and thread hand-offs barely move: CPU
 * time per run at ONE intra-op thread with spinning off (no thread waits on another, so CPU
 * time is work), original / FS only / patched, interleaved. Beside the 2-thread wall-clock
 * ratio it separates what the graph costs from how well its extra nodes use two threads.
 * @param {ReturnType<typeof import('./models.mjs').loadModel>} m
 * @returns {Promise<{ name: string, cpuMsPerRun: number, ratio: number, ratioLo: number, ratioHi: number }[]>}
 */
export async function workSection(m, batch, reps) {
  const variants = { original: m.bytes, 'FS only': patched(m, 'branch', false), patched: patched(m, 'branch') };
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
  for (const [, s] of sessions) await s.release();
  return sessions.map(([name], j) => {
    const ratios = /** @type {number[]} */ (cpu[j]).map((x, r) => x / /** @type {number} */ (cpu[0]?.[r]));
    return { name, cpuMsPerRun: median(/** @type {number[]} */ (cpu[j])), ratio: median(ratios), ratioLo: percentile(ratios, 0.25), ratioHi: percentile(ratios, 0.75) };
  });
}
