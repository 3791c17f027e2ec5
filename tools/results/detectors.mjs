#!/usr/bin/env node
// Image-level OOD results for the two tfjs detectors of ../shared (CenterNet, NanoDet), with
// stages found automatically by @fsta/tfjs (no manifest). Writes its own section of
// docs/results.md (between the detectors markers) and .cache/results/detectors.json.
//   npm run build && node tools/results/detectors.mjs [--id N] [--textures N] [--noise N] [--synthetic N]
//   node tools/results/detectors.mjs --render-only     # re-render from .cache/results/detectors.json
// ID = ImageNet photos (../shared/data/imagenet-val-1k): even files (sorted) are the
// validation half calibration sees, odd files the test half. OOD test sets: Textures
// (odd files of ../shared/data/textures), Gaussian and uniform noise (core noiseImages,
// the distributions and seeds of tools/results/datasets.mjs, made at the network size).
// Calibration sees only the validation half and synthetic sets (core's
// CALIBRATION_DEFAULTS.syntheticSets, as fsta calibrate makes them), never a test image.
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { CALIBRATION_DEFAULTS, chooseConfig, evaluateOodSetsWithIntervals, kFromPercentile, noiseImages, spreadPicks, syntheticSet } from '@fsta/core';
import { taFor } from '@fsta/backbones';
import { createDetector } from '@fsta/tfjs';
import { fileHandler } from '@fsta/tfjs/node';
import { NOISE } from './datasets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const shared = join(root, '../shared');
const argv = process.argv.slice(2);
const flag = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 1) fail(`--${name} needs a positive integer, got ${argv[i + 1]}`, `pass e.g. --${name} ${def}`);
  return n;
};
function fail(problem, fix) {
  process.stderr.write(`detectors: error: ${problem}. Fix: ${fix}.\n`);
  process.exit(2);
}
const renderOnly = argv.includes('--render-only');
for (let i = 0; i < argv.length; i += 2) {
  if (argv[i] === '--render-only') { i--; continue; }
  if (!['--id', '--textures', '--noise', '--synthetic'].includes(argv[i])) fail(`unknown option ${argv[i]}`, 'use --id, --textures, --noise or --synthetic N, or --render-only');
}

/** Images per set: ID and Textures per half, each noise test set, each synthetic calibration set. */
export const COUNTS = { id: flag('id', 30), textures: flag('textures', 30), noise: flag('noise', 10), synthetic: flag('synthetic', 10) };
export const TA_STAGES = ['C2', 'C3', 'C4'];
export const PERCENTILES = [50, 90, 99];
const SAMPLE_PER_STAGE = 200_000;

export const DETECTORS = [
  // 0..255 RGB: packages/tfjs/test/centernet.test.ts.
  { name: 'CenterNet', json: 'models/coco-centernet-tfjs/centernet.json', preprocess: { size: [512, 512], crop: 'none', mean: [0, 0, 0], std: [1 / 255, 1 / 255, 1 / 255] } },
  // BGR with NanoDet's mean/std on 0..255 pixels: packages/tfjs/test/discover.test.ts.
  { name: 'NanoDet', json: 'models/coco-nanodet-tfjs/nanodet.json', preprocess: { size: [416, 416], crop: 'none', mean: [103.53 / 255, 116.28 / 255, 123.675 / 255], std: [57.375 / 255, 57.12 / 255, 58.395 / 255], channelOrder: 'BGR' } },
];

const halves = (files) => ({ even: files.filter((_, i) => i % 2 === 0), odd: files.filter((_, i) => i % 2 === 1) });
const pick = (files, n) => spreadPicks(files.length, n).map((i) => files[i]);
const imagenet = readdirSync(join(shared, 'data/imagenet-val-1k')).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => join(shared, 'data/imagenet-val-1k', f));
const textures = readdirSync(join(shared, 'data/textures'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
  .flatMap((c) => readdirSync(join(shared, 'data/textures', c)).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => join(shared, 'data/textures', c, f)));
const idH = halves(imagenet), txH = halves(textures);
const sets = { idVal: pick(idH.even, COUNTS.id), idTest: pick(idH.odd, COUNTS.id), textures: pick(txH.odd, COUNTS.textures) };

async function decode(file) {
  const { data, info } = await sharp(file).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
}

/** Scores preprocessed CHW samples one by one (both models take a batch of 1). */
async function scoreAll(det, samples, options) {
  const [c, h, w] = det.chw;
  const out = [];
  for (const s of samples) out.push(...(await det.score({ data: s, shape: [1, c, h, w] }, options)));
  return out;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function runDetector(d) {
  const t0 = Date.now();
  const model = await loadGraphModel(fileHandler(join(shared, d.json)));
  // Pass 1: FS only, with the TA stages' maps, on the ID validation half: k as percentiles of them.
  const probe = await createDetector({ model, preprocess: d.preprocess, config: { taStage: null, featureScore: 'fs' }, expose: { tensorsOf: TA_STAGES } });
  const stages = Object.fromEntries(Object.entries(probe.stages.resolution.stages).map(([k, v]) => [k, { tensor: v.tensor, shape: v.shape, stride: v.stride, nonNegative: v.nonNegative, layout: probe.stages.layoutOf(v.tensor) }]));
  let prep = probe;
  const prepare = async (files) => { const out = []; for (const [i, f] of files.entries()) out.push(await prep.prepare(await decode(f), i)); return out; };
  const idVal = await prepare(sets.idVal);
  // The tensor TA goes on at each stage (taFor's, as the detector applies it): its k percentiles are of that tensor.
  const taTensors = Object.fromEntries(TA_STAGES.map((st) => [st, taFor(probe.stages.resolution, st).tensor]));
  const samples = Object.fromEntries(TA_STAGES.map((st) => [st, []]));
  const perImage = Math.ceil(SAMPLE_PER_STAGE / idVal.length);
  const probed = await scoreAll(probe, idVal, { include: ['stages'] });
  for (const s of probed) {
    for (const st of TA_STAGES) {
      const map = s.features.stages.tensors[taTensors[st]];
      const step = Math.max(1, Math.floor(map.data.length / perImage));
      for (let i = 0; i < map.data.length; i += step) samples[st].push(map.data[i]);
    }
  }
  const warnings = probe.warnings;
  await probe.dispose();
  const all = TA_STAGES.flatMap((st) => {
    const vals = Float64Array.from(samples[st]);
    return PERCENTILES.map((p) => ({ taStage: st, k: kFromPercentile(vals, p), kPercentile: p, tensor: taTensors[st] }));
  });
  // On a signed stage a low percentile can be negative; core's TA takes k ≥ 0 only, so those points are left out (and listed).
  const grid = all.filter((g) => g.k >= 0);
  const negative = all.filter((g) => g.k < 0).map((g) => `${g.taStage} p${g.kPercentile} (k = ${g.k.toPrecision(3)})`);

  // Pass 2: FS and FS+TA at every grid point, on every set.
  const det = await createDetector({ model, preprocess: d.preprocess, config: { taStage: grid[0].taStage, k: grid[0].k }, ks: grid.slice(1).map((g) => ({ taStage: g.taStage, k: g.k })) });
  const chw = det.chw;
  prep = det;
  const norm = { mean: d.preprocess.mean, std: d.preprocess.std };
  const synthetic = CALIBRATION_DEFAULTS.syntheticSets.map((kind, i) => syntheticSet(kind, i, COUNTS.synthetic, chw, norm, idVal));
  const split = (s) => Array.from({ length: s.n }, (_, i) => s.data.subarray(i * chw[0] * chw[1] * chw[2], (i + 1) * chw[0] * chw[1] * chw[2]));
  const noiseSet = (kind, seed) => split({ n: COUNTS.noise, data: noiseImages(kind, COUNTS.noise, chw, { ...norm, seed, ...(kind === 'gaussian' ? { sigma: NOISE.gaussian.sigma } : {}) }).data });
  const inputs = {
    idVal,
    ...Object.fromEntries(synthetic.map((s) => [`syn-${s.name}`, split(s)])),
    idTest: await prepare(sets.idTest),
    Textures: await prepare(sets.textures),
    Gaussian: noiseSet('gaussian', NOISE.gaussianSeed),
    Uniform: noiseSet('uniform', NOISE.uniformSeed),
  };
  const scores = {};
  for (const [name, xs] of Object.entries(inputs)) {
    const r = await scoreAll(det, xs);
    scores[name] = { fs: Float64Array.from(r, (s) => s.fs), ta: grid.map((_, j) => Float64Array.from(r, (s) => s.fsTaByK[j])) };
    process.stderr.write(`detectors: ${d.name} ${name} (${xs.length}) scored, ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  }
  await det.dispose();
  model.dispose();

  // Calibration: validation half + synthetic sets only.
  const synSets = (pickScores) => synthetic.map((s) => ({ name: s.name, scores: pickScores(scores[`syn-${s.name}`]) }));
  const choice = chooseConfig({
    taCandidates: [
      { taStage: null, k: 0, idScores: scores.idVal.fs, noiseSets: synSets((x) => x.fs) },
      ...grid.map((g, j) => ({ taStage: g.taStage, k: g.k, kPercentile: g.kPercentile, idScores: scores.idVal.ta[j], noiseSets: synSets((x) => x.ta[j]) })),
    ],
    fusions: [null],
    base: { backbone: 'auto', fsStage: 'C5' },
  });
  const chosenJ = choice.config.taStage === null ? -1 : grid.findIndex((g) => g.taStage === choice.config.taStage && g.k === choice.config.k);

  // Test half: ID test vs each OOD test set, 95% bootstrap intervals (core bootstrap.ts).
  const oodNames = ['Textures', 'Gaussian', 'Uniform'];
  const evalOf = (j) => {
    const of = (set) => (j < 0 ? scores[set].fs : scores[set].ta[j]);
    return evaluateOodSetsWithIntervals(of('idTest'), Object.fromEntries(oodNames.map((n) => [n, of(n)])));
  };
  const rows = [{ label: 'FS (no TA)', taStage: null, k: null, kPercentile: null, j: -1 }, ...grid.map((g, j) => ({ label: `TA ${g.taStage} p${g.kPercentile}`, ...g, j }))]
    .map((r) => ({ ...r, eval: evalOf(r.j), calibration: choice.ta.table.find((t) => t.taStage === r.taStage && (r.taStage === null || t.k === r.k)) ?? null }));
  const hindsight = rows.reduce((b, r) => (r.eval.sets.Textures.auroc > b.eval.sets.Textures.auroc ? r : b), rows[0]);
  const chosen = rows.find((r) => r.j === chosenJ);
  return {
    name: d.name, preprocess: d.preprocess, stages, warnings, grid, negative, rows, chosen: chosen.label, hindsight: hindsight.label,
    choice: { taStage: choice.config.taStage, k: choice.config.k, reason: choice.ta.reason, margin: choice.ta.margin ?? null },
    seconds: (Date.now() - t0) / 1000,
  };
}

// ---- render ----
const f2 = (x) => (x * 100).toFixed(1);
const ci = (m, key = 'auroc') => `${f2(m[key])} [${f2(m.ci[key][0])}, ${f2(m.ci[key][1])}]`;
function section(results, meta) {
  const lines = [];
  lines.push('<!-- detectors:begin (generated by tools/results/detectors.mjs; do not edit) -->');
  lines.push('## Object detectors (tfjs): CenterNet and NanoDet, image-level OOD');
  lines.push('');
  lines.push(`Command: \`npm run results:detectors\` (= \`npm run build && node tools/results/detectors.mjs --id ${COUNTS.id} --textures ${COUNTS.textures} --noise ${COUNTS.noise} --synthetic ${COUNTS.synthetic}\`; ${meta.minutes.toFixed(1)} min on ${meta.machine}, shared with other jobs; tfjs wasm backend, one thread). \`npm run results\` keeps this section as it is.`);
  lines.push('');
  lines.push(`Stages found by \`@fsta/tfjs\` with no manifest (model.json topology → @fsta/backbones' detection). FS on C5; one image-level score per image (no box scoring). ` +
    `ID: ImageNet photos (\`imagenet-val-1k\`), ${COUNTS.id} evenly spread even-numbered files for calibration and ${COUNTS.id} odd-numbered files for test. ` +
    `OOD test: ${COUNTS.textures} odd-numbered Textures files, ${COUNTS.noise} Gaussian (N(0.5, 1) clipped, seed ${NOISE.gaussianSeed}) and ${COUNTS.noise} uniform (seed ${NOISE.uniformSeed}) noise images at the network size. ` +
    `TA grid: stages ${TA_STAGES.join(', ')} × k at the ${PERCENTILES.join('th, ')}th percentiles of that stage's activations on the calibration images. ` +
    `Calibrated choice: core \`chooseConfig\` (\`chooseTa\` with do-no-harm) on the calibration images and ${COUNTS.synthetic} images each of core's synthetic ${CALIBRATION_DEFAULTS.syntheticSets.join(' and ')} sets (\`fsta calibrate\`'s defaults, made from the calibration images); it never sees a test image. ` +
    'AUROC in %, ID positive, with 95% bootstrap intervals (core `evaluateOodSetsWithIntervals`, 1000 resamples). The counts are small (the whole run must fit a few minutes of CPU), so intervals are wide. ' +
    'Only FS and FS+TA are reported: a detector has no image-level classifier head, so MSP, Energy, ASH, SCALE, fDBD and the FS+TA+X fusions of the classifier tables have nothing to be computed from.');
  lines.push('');
  for (const r of results) {
    lines.push(`### ${r.name}`);
    lines.push('');
    lines.push(`Stages: ${Object.entries(r.stages).map(([k, v]) => `${k} \`${v.tensor}\` [${v.shape.slice(1).join('×')}] stride ${v.stride}, ${v.layout}, ${v.nonNegative ? 'non-negative' : 'signed'}`).join('; ')}.`);
    if (r.warnings.length) lines.push(`Warning for the default TA stage: ${r.warnings.join(' ')}`);
    if (r.negative.length) lines.push(`Left out of the grid, their percentile k being negative on a signed stage (core's TA takes k ≥ 0): ${r.negative.join(', ')}.`);
    lines.push('');
    const byLabel = Object.fromEntries(r.rows.map((x) => [x.label, x]));
    const fs = byLabel['FS (no TA)'], ch = byLabel[r.chosen], hs = byLabel[r.hindsight];
    lines.push('| Setting | Textures AUROC | Gaussian AUROC | Uniform AUROC | Textures FPR95 |');
    lines.push('| --- | --- | --- | --- | --- |');
    const line = (name, x) => `| ${name} | ${ci(x.eval.sets.Textures)} | ${ci(x.eval.sets.Gaussian)} | ${ci(x.eval.sets.Uniform)} | ${f2(x.eval.sets.Textures.fpr95)} |`;
    lines.push(line('Plain FS at C5', fs));
    lines.push(line(`Calibrated choice: ${r.chosen}${r.choice.taStage ? ` (k = ${r.choice.k.toPrecision(4)})` : ''}`, ch));
    lines.push(line(`Best in hindsight (Textures AUROC): ${r.hindsight}`, hs));
    lines.push('');
    lines.push(`Calibration's reason: ${r.choice.reason}`);
    lines.push('');
    lines.push('<details><summary>Every grid point</summary>');
    lines.push('');
    lines.push('| Setting | k | Calibration AUROC (ID val vs synthetic, mean) | Textures AUROC | Gaussian AUROC | Uniform AUROC |');
    lines.push('| --- | --- | --- | --- | --- | --- |');
    for (const x of r.rows) lines.push(`| ${x.label} | ${x.k === null ? '—' : x.k.toPrecision(4)} | ${x.calibration ? f2(x.calibration.auroc) : '—'} | ${ci(x.eval.sets.Textures)} | ${f2(x.eval.sets.Gaussian.auroc)} | ${f2(x.eval.sets.Uniform.auroc)} |`);
    lines.push('');
    lines.push('</details>');
    lines.push('');
    const d = (x) => x.eval.sets.Textures.auroc - fs.eval.sets.Textures.auroc;
    const verdict = (x) => {
      const [lo, hi] = x.eval.sets.Textures.ci.auroc, [flo, fhi] = fs.eval.sets.Textures.ci.auroc;
      const overlap = lo <= fhi && flo <= hi;
      return `${d(x) >= 0 ? '+' : ''}${f2(d(x))} points on Textures${overlap ? ' (the intervals overlap: not a clear difference at these counts)' : ''}`;
    };
    const helps = r.rows.filter((x) => x.j >= 0 && d(x) > 0).length;
    lines.push(`**Where TA helps or hurts (${r.name}):** the calibrated choice is ${r.chosen === 'FS (no TA)' ? 'plain FS (no TA was clearly better on the synthetic sets)' : `${r.chosen}, ${verdict(ch)} against plain FS`}; ` +
      `the best grid point in hindsight, ${r.hindsight}, is ${r.hindsight === 'FS (no TA)' ? 'plain FS itself' : verdict(hs)}; ${helps} of ${r.grid.length} TA settings raise Textures AUROC above plain FS and ${r.grid.length - helps} lower it.`);
    lines.push('');
  }
  lines.push('<!-- detectors:end -->');
  return lines.join('\n');
}

process.chdir(root);
if (!existsSync(join(shared, 'models/coco-nanodet-tfjs/nanodet.json'))) fail(`${shared}/models has no coco-nanodet-tfjs`, 'put the shared models next to the repository (../shared)');
const jsonPath = '.cache/results/detectors.json';
let saved;
if (renderOnly) {
  if (!existsSync(jsonPath)) fail(`${jsonPath} does not exist`, 'run without --render-only first');
  saved = JSON.parse(readFileSync(jsonPath, 'utf8'));
} else {
  setWasmPaths(join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
  await tf.setBackend('wasm');
  await tf.ready();
  const t0 = Date.now();
  const results = [];
  for (const d of DETECTORS) results.push(await runDetector(d));
  const meta = { minutes: (Date.now() - t0) / 60000, machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}` };
  mkdirSync('.cache/results', { recursive: true });
  saved = { counts: COUNTS, meta, results };
  writeFileSync(jsonPath, JSON.stringify(saved, null, 2) + '\n');
}
Object.assign(COUNTS, saved.counts);
const md = section(saved.results, saved.meta);
const doc = existsSync('docs/results.md') ? readFileSync('docs/results.md', 'utf8') : '';
const re = /<!-- detectors:begin[\s\S]*?<!-- detectors:end -->/;
writeFileSync('docs/results.md', re.test(doc) ? doc.replace(re, md) : `${doc.trimEnd()}\n\n${md}\n`);
process.stderr.write(`detectors: wrote the detectors section of docs/results.md (${saved.meta.minutes.toFixed(1)} min)\n`);
