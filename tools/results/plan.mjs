// What docs/results.md is made of: every `fsta eval` / `fsta calibrate` run, by id.
// Each eval's JSON lands in .cache/results/json/<id>.json; run.mjs re-runs a job only
// when its cached args differ.

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
export const SWEEP_LIMIT = 500;
export const FIXED_KS = [0, 0.2, 0.5, 1.0];
export const SWEEP_PERCENTILES = [50, 90];

/**
 * TA placements inside a stage, which a manifest cannot name (its stages are C2…C5): the
 * jobs pass their tensor names to --ta-stage and the tables label them.
 */
const cifarInside = (n) => ({
  'C5.b0': '/layer3/layer3.0/Relu_1_output_0',
  'C5.mid': `/layer3/layer3.${Math.floor((n - 1) / 2)}/Relu_1_output_0`,
});
// The linear (signed) output of MobileNetV2's block features.13, the stage boundary before the stride-2 block.
const INSIDE = { 'ResNet-56': cifarInside(9), 'ResNet-20': cifarInside(3), MobileNetV2: { 'C4.linear': '/features/features.13/Add_output_0' } };
/** What --ta-stage takes for a table label: C2…C5 as they are, an inside label as its tensor. */
export const taArg = (model, label) => INSIDE[model]?.[label] ?? label;
/** The table label of a stage or tensor calibrate recorded (ResNet-56). */
export const stageLabel = (stage) => Object.entries(INSIDE['ResNet-56']).find(([, t]) => t === stage)?.[0] ?? stage;

/** Manifests for the shared models (stage boundaries and head by tensor name). */
export function manifests() {
  const cifar = (n) => ({
    input: 'input', output: 'logits',
    preprocess: { size: [32, 32], crop: 'none', ...IMAGENET },
    stages: {
      C3: { tensor: `/layer1/layer1.${n - 1}/Relu_1_output_0` },
      C4: { tensor: `/layer2/layer2.${n - 1}/Relu_1_output_0` },
      C5: { tensor: `/layer3/layer3.${n - 1}/Relu_1_output_0` },
    },
    head: { penultimate: '/Flatten_output_0', weight: 'linear.weight', bias: 'linear.bias' },
  });
  const mnv2 = {
    input: 'input', output: 'logits',
    preprocess: { size: [224, 224], resizeShorter: 256, crop: 'center', ...IMAGENET },
    stages: {
      C4: { tensor: '/features/features.14/conv/conv.0/conv.0.0/conv.0.0.1/Relu_output_0' },
      C5: { tensor: '/features/features.18/features.18.0/features.18.0.1/Relu_output_0' },
    },
    head: { penultimate: '/Flatten_output_0', weight: 'classifier.1.weight', bias: 'classifier.1.bias' },
  };
  return { 'cifar-resnet56': cifar(9), 'cifar-resnet20': cifar(3), 'mobilenetv2-linear': mnv2 };
}

/** The eval jobs; `ks` are the C4 percentile k values printed by the calibrate job. */
export function evalJobs(shared, data, man, pctKs) {
  const m = (f) => `${shared}/models/${f}`;
  const r56 = m('cifar10-resnet56.onnx');
  const r20 = m('cifar10-resnet20.onnx');
  const cifarId = ['--id', `${shared}/data/cifar10-test`, '--labels', 'folder'];
  const realOod = ['--ood', `Textures=${shared}/data/textures`, '--ood', `ImageNet-resize=${data.imagenetResize}`, '--ood', `MNIST=${data.mnist}`];
  const sweep = (model, manifest) => ['--model', model, '--manifest', manifest, ...cifarId, ...realOod, '--limit', String(SWEEP_LIMIT)];
  const jobs = [];
  jobs.push({ id: 'a-resnet56', section: 'a', args: ['--model', r56, ...cifarId, ...realOod, '--ood', `Gaussian=${data.gaussian}`, '--ood', `Uniform=${data.uniform}`, '--k', '0.5'] });
  jobs.push({ id: 'a-resnet20', section: 'a', args: ['--model', r20, ...cifarId, ...realOod, '--ood', `Gaussian=${data.gaussian}`, '--ood', `Uniform=${data.uniform}`, '--k', '0.5'] });
  for (const [id, f] of [['b-mobilenetv2', 'imagenet-mobilenetv2.onnx'], ['b-mobilenetv2-int8w', 'imagenet-mobilenetv2-int8w.onnx']]) {
    jobs.push({ id, section: 'b', args: ['--model', m(f), '--id', `${shared}/data/imagenet-val-1k`, '--labels', 'sorted', '--ood', `Textures=${shared}/data/textures`, '--k', '0.5'] });
  }
  jobs.push({ id: 'b-mobilenetv2-ta-linear', section: 'b', args: ['--model', m('imagenet-mobilenetv2.onnx'), '--manifest', man['mobilenetv2-linear'], '--id', `${shared}/data/imagenet-val-1k`, '--labels', 'sorted', '--ood', `Textures=${shared}/data/textures`, '--ta-stage', taArg('MobileNetV2', 'C4.linear'), '--k', '0.5', '--methods', 'FS,FS+TA', '--limit', '500'] });
  const ks = [...FIXED_KS.map((k) => ({ k, label: String(k) })), ...pctKs.map((p) => ({ k: p.k, label: `p${p.percentile}` }))];
  for (const { k, label } of ks) {
    jobs.push({ id: `c-k-resnet56-C4-${label}`, section: 'c-k', model: 'ResNet-56', taStage: 'C4', kLabel: label, args: [...sweep(r56, man['cifar-resnet56']), '--ta-stage', 'C4', '--k', String(k)] });
  }
  for (const st of ['C5.b0', 'C5.mid']) {
    for (const k of [0.5, 1.0]) jobs.push({ id: `c-k-resnet56-${st}-${k}`, section: 'c-k', model: 'ResNet-56', taStage: st, kLabel: String(k), args: [...sweep(r56, man['cifar-resnet56']), '--ta-stage', taArg('ResNet-56', st), '--k', String(k)] });
  }
  for (const st of ['C4', 'C5.b0']) {
    for (const k of [0.2, 0.5, 1.0]) jobs.push({ id: `c-k-resnet20-${st}-${k}`, section: 'c-k', model: 'ResNet-20', taStage: st, kLabel: String(k), args: [...sweep(r20, man['cifar-resnet20']), '--ta-stage', taArg('ResNet-20', st), '--k', String(k)] });
  }
  for (const [fs, ta] of [['C5', 'C3'], ['C4', 'C3'], ['C3', 'none']]) {
    jobs.push({ id: `c-stage-resnet56-${fs}-${ta}`, section: 'c-stage', fsStage: fs, taStage: ta, args: [...sweep(r56, man['cifar-resnet56']), '--fs-stage', fs, '--ta-stage', ta, '--k', '0.5'] });
  }
  return jobs.map((j) => ({ ...j, args: ['eval', ...j.args] }));
}

/** TA stages calibrate chooses among: the two stage boundaries and the two placements inside layer3 the sweep has rows for. */
export const CALIBRATE_TA_STAGES = ['C3', 'C4', 'C5.b0', 'C5.mid'];
/** Fixed k candidates besides the percentiles, the sweep's k values (so most candidates have a sweep row). */
export const CALIBRATE_FIXED_KS = [0.2, 0.5, 1];

export function calibrateJob(shared, data, man) {
  return {
    id: 'd-calibrate-resnet56',
    args: ['calibrate', '--model', `${shared}/models/cifar10-resnet56.onnx`, '--manifest', man['cifar-resnet56'], '--id', data.cifarVal,
      '--ta-stages', CALIBRATE_TA_STAGES.map((st) => taArg('ResNet-56', st)).join(','), '--k', CALIBRATE_FIXED_KS.join(',')],
  };
}

/** The calibrated TA setting on the sweep's data and OOD test sets, so (d) measures calibrate's pick whatever it is. */
export function calibratedEvalJob(shared, data, man, cfg) {
  const r56 = `${shared}/models/cifar10-resnet56.onnx`;
  const ta = cfg.taStage === null ? ['--ta-stage', 'none'] : ['--ta-stage', cfg.taStage, '--k', String(cfg.k)];
  return {
    id: 'd-calibrated-resnet56', section: 'd',
    args: ['eval', '--model', r56, '--manifest', man['cifar-resnet56'], '--id', `${shared}/data/cifar10-test`, '--labels', 'folder',
      '--ood', `Textures=${shared}/data/textures`, '--ood', `ImageNet-resize=${data.imagenetResize}`, '--ood', `MNIST=${data.mnist}`, '--limit', String(SWEEP_LIMIT), ...ta],
  };
}
