// Issue 17's study: per-image FS and FS+TA at every calibration candidate (stage × k
// percentile), on an ID validation half (even files), an ID test half (odd files), the real
// OOD test sets, and many kinds of synthetic OOD made from the validation half. Selection
// rules are then compared offline (rules.mjs) on these cached scores. Runs through the
// CLI's own engine (the same createDetector tails and k percentiles as `fsta calibrate`).
//
//   node tools/calibration-study/collect.mjs [MODEL_ID…] [--synth KIND,…]   (ids: see MODELS)
// writes .cache/study/MODEL_ID.json; with no id, every model not cached yet. `npm run study`
// runs this, then report.mjs. About 40 min on 2 cores for all six models, most of it MobileNetV2.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kFromPercentile, stackBatch } from '@fsta/core';
import { modelChoice } from '../../apps/cli/dist/model-options.js';
import { listImages } from '../../apps/cli/dist/images.js';
import { openEngine } from '../../apps/cli/dist/engine/open-detector.js';
import { collect } from '../../apps/cli/dist/engine/collect.js';
import { taSamples } from '../../apps/cli/dist/commands/eval.js';
import { spreadPicks } from '../../apps/cli/dist/engine/sample-maps.js';
import { SYNTHETIC_BUILDERS } from './synthetic.mjs';
import { makeDatasets } from '../results/datasets.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const shared = join(root, '../shared');
export const PERCENTILES = [50, 70, 80, 90, 95, 99];
const SYNTH_COUNT = 200;

const cifar = (f) => async () => {
  const data = await makeDatasets(root, shared);
  return {
    model: `${shared}/models/${f}`, id: `${shared}/data/cifar10-test`, idLimit: 2000,
    ood: { Textures: `${shared}/data/textures`, 'ImageNet-resize': data.imagenetResize, MNIST: data.mnist },
  };
};
const mnv2 = (f) => async () => ({ model: `${shared}/models/${f}`, id: `${shared}/data/imagenet-val-1k`, idLimit: 1000, ood: { Textures: `${shared}/data/textures` } });
export const MODELS = {
  resnet20: cifar('cifar10-resnet20.onnx'), resnet32: cifar('cifar10-resnet32.onnx'), resnet44: cifar('cifar10-resnet44.onnx'), resnet56: cifar('cifar10-resnet56.onnx'),
  mobilenetv2: mnv2('imagenet-mobilenetv2.onnx'), 'mobilenetv2-int8w': mnv2('imagenet-mobilenetv2-int8w.onnx'),
};

const io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), errIsTty: false, cwd: process.cwd() };
const pick = (c) => ({ fs: Array.from(c.fs), fsTa: c.fsTa.map((a) => Array.from(a)), n: c.fs.length });

/** `--synth a,b`: recompute only these synthetic sets into an existing study (same candidates and ID halves). */
async function main(id, only) {
  const spec = await MODELS[id]();
  const previous = only ? JSON.parse(readFileSync(join(root, `.cache/study/${id}.json`), 'utf8')) : null;
  const t0 = Date.now();
  const choice = modelChoice({ model: spec.model }, 'study');
  const stageNames = choice.spec.stageNames;
  const stages = stageNames.slice(0, stageNames.indexOf(choice.fsStage));
  const all = listImages(spec.id, 'none', spec.idLimit).items;
  const val = all.filter((_, i) => i % 2 === 0), test = all.filter((_, i) => i % 2 === 1);
  const sample = previous ? null : await taSamples(choice, stages, val, io);
  const candidates = previous?.candidates ?? stages.flatMap((stage) => PERCENTILES.map((p) => ({ stage, p, k: kFromPercentile(sample.values[stage], p) })));
  const tails = candidates.map((c) => ({ taStage: c.stage, k: c.k }));
  const engine = await openEngine(choice.spec, { fsStage: choice.fsStage, taStage: stages[0] }, [tails[0].k, ...tails.slice(1)], choice.batch, (l) => io.err(l + '\n'));
  const out = previous ?? { model: id, fsStage: choice.fsStage, stages, candidates, counts: {}, synth: {}, ood: {} };
  try {
    let valFiles = val.map((v) => v.path);
    if (!previous) {
      const valC = await collect(engine, { kind: 'files', items: val });
      valFiles = valC.files;
      out.val = pick(valC);
      out.test = pick(await collect(engine, { kind: 'files', items: test }));
      process.stderr.write(`${id}: ID done ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      for (const [name, dir] of Object.entries(spec.ood)) out.ood[name] = pick(await collect(engine, { kind: 'files', items: listImages(dir, 'none', null, '--ood').items }));
      process.stderr.write(`${id}: OOD done ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    }
    const { detector } = engine;
    const picks = spreadPicks(valFiles.length, SYNTH_COUNT);
    const images = [];
    for (const i of picks) images.push(await detector.prepare(valFiles[i], i));
    const base = stackBatch(images, detector.chw).data;
    const shape = [images.length, ...detector.chw];
    for (const [name, build] of Object.entries(SYNTHETIC_BUILDERS).filter(([n]) => !only || only.includes(n))) {
      const { data, n } = build(base, shape, detector.preprocess, SYNTH_COUNT);
      out.synth[name] = pick(await collect(engine, { kind: 'tensor', data, n, name }));
    }
  } finally {
    await engine.dispose();
  }
  out.seconds = (Date.now() - t0) / 1000;
  mkdirSync(join(root, '.cache/study'), { recursive: true });
  writeFileSync(join(root, `.cache/study/${id}.json`), JSON.stringify(out));
  process.stderr.write(`${id}: ${out.seconds.toFixed(0)} s, ${candidates.length} candidates\n`);
}

const args = process.argv.slice(2), at = args.indexOf('--synth');
const only = at >= 0 ? args.splice(at, 2)[1].split(',') : null;
for (const id of args) if (!MODELS[id]) { process.stderr.write(`study: unknown model ${id}; use ${Object.keys(MODELS).join(', ')}\n`); process.exit(2); }
// No model named: every model whose scores are not cached yet.
const ids = args.length ? args : Object.keys(MODELS).filter((id) => !existsSync(join(root, `.cache/study/${id}.json`)));
for (const id of ids) await main(id, only);
