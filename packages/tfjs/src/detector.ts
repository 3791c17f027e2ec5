import * as tfCore from '@tensorflow/tfjs-core';
import type { Tensor, io } from '@tensorflow/tfjs-core';
import { requireStage, taFor } from '@fsta/backbones';
import {
  FstaError,
  PATCHED_OUTPUTS,
  TENSOR_PREFIX,
  fsTaOutput,
  collectSamples,
  defaultConfig,
  energy,
  featureSim,
  maxLogit,
  msp,
  parseConfig,
  scoreInputs,
  serialQueue,
  thresholdActivation,
} from '@fsta/core';
import type { Detector, FstaConfig, ImageInput, ImageScore, NamedOutput, PixelInput, PreprocessSpec, ScoreOptions } from '@fsta/core';
import { discoverStages } from './discover.js';
import type { TfjsStages } from './discover.js';
import { tfjsOps } from './ops.js';
import type { TfNamespace } from './ops.js';
import { graphRunner, isGraphModel, isLayersModel, layersRunner } from './runners.js';
import type { GraphModelLike, LayersModelLike, StageRunner } from './runners.js';

export interface TfjsDetectorOptions {
  /** A loaded GraphModel or LayersModel, or a GraphModel URL / IOHandler to load (the detector then owns it). */
  model: GraphModelLike | LayersModelLike | string | io.IOHandler;
  /** Calibrated settings (object or JSON text); `k`, `lambda` and `stages` override it. */
  config?: Partial<FstaConfig> | string;
  /** Recorded in the config; tfjs stage names are node or layer names, given in `stages`. */
  backbone?: string;
  k?: number;
  lambda?: number;
  /**
   * Without `stages`, a GraphModel's stages are found from its model.json topology
   * (`discoverStages`) and the config's fsStage / taStage (C2…C5, default C5 / C4) name them.
   * GraphModel: node names (as in model.json); LayersModel: layer names. `fs` is the
   * stage FS is taken on, `ta` the stage TA thresholds, `taInput` where the
   * thresholded tensor is fed back (default: `ta` itself). Defaults to the config's
   * fsStage / taStage.
   */
  stages?: { fs: string; ta?: string; taInput?: string };
  /** Node or layer whose output is the classifier logits (N, K), for msp/maxlogit/energy. */
  logits?: string;
  /** GraphModel input that takes the image, when it has several. */
  inputName?: string;
  /** Network input [height, width], when the model's input shape leaves it open. */
  inputSize?: readonly [number, number];
  /** How pixel inputs become the network input; default: resize to the input size, scale to [0, 1]. */
  preprocess?: PreprocessSpec;
  /** Layout of the model's input and named stage tensors (default NHWC); found from the graph when the stages are. */
  layout?: 'NHWC' | 'NCHW';
  /** More FS+TA scores (`ImageScore.fsTaByK`, after the config's): a k at the config's TA stage, or { taStage, k } (GraphModel). */
  ks?: readonly (number | { taStage: string; k: number })[];
  /** Stage maps `score(x, { include: ['stages'] })` returns: FS and TA stages, and `tensorsOf` (stage names; GraphModel). */
  expose?: { tensorsOf?: readonly string[] };
  batchSize?: number;
  /** The tf namespace the model was loaded with (`@tensorflow/tfjs` or `@tensorflow/tfjs-core`). */
  tf?: TfNamespace;
}

async function loadModel(model: string | io.IOHandler): Promise<GraphModelLike> {
  let converter: { loadGraphModel(m: string | io.IOHandler): Promise<GraphModelLike> };
  // Opaque to bundlers on purpose: the converter is an optional peer, and a LayersModel
  // user's bundle must build without it. Browser users pass a loaded model instead.
  const specifier = '@tensorflow/tfjs-converter';
  try {
    converter = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as typeof converter;
  } catch {
    throw new FstaError('MISSING_PEER', 'loading a graph model from a URL or IOHandler needs @tensorflow/tfjs-converter, which could not be imported', 'npm install @tensorflow/tfjs-converter, or pass a model you loaded yourself with tf.loadGraphModel(...)');
  }
  return converter.loadGraphModel(model);
}

function resolveConfig(o: TfjsDetectorOptions): FstaConfig {
  const base: Partial<FstaConfig> = o.config === undefined ? {} : typeof o.config === 'string' ? parseConfig(o.config) : o.config;
  const merged: Partial<FstaConfig> = { ...base };
  if (o.backbone !== undefined) merged.backbone = o.backbone;
  if (o.k !== undefined) merged.k = o.k;
  if (o.lambda !== undefined) merged.lambda = o.lambda;
  if (o.stages) {
    merged.fsStage = o.stages.fs;
    merged.taStage = o.stages.ta ?? null;
    if (!o.stages.ta && base.featureScore === undefined) merged.featureScore = 'fs';
  }
  const config = parseConfig({ ...defaultConfig(), ...merged });
  if (config.classifier !== null && !['msp', 'maxlogit', 'energy'].includes(config.classifier)) {
    throw new FstaError('BAD_CONFIG', `the config fuses classifier score "${config.classifier}", which @fsta/tfjs does not compute`, `use msp, maxlogit or energy (computed from the logits), or classifier null${config.classifier === 'ash' || config.classifier === 'scale' ? '; ASH and SCALE need the penultimate features and the head, which @fsta/tfjs does not take: run the model as ONNX with @fsta/onnxruntime-node or -web, which compute them in the graph' : '; compare FS+TA with it using `fsta eval`'}`);
  }
  return config;
}

/** Network input as [C, H, W] from the model's input shape (in its layout) or `inputSize`. */
function inputChw(runner: StageRunner, o: TfjsDetectorOptions, nhwc: boolean): [number, number, number] {
  const s = runner.inputShape;
  if (s.length !== 4) throw new FstaError('BAD_MODEL', `the model input has shape [${s.join(', ')}], not an image batch`, 'use a model with a 4-D image input');
  let [h, w, c] = nhwc ? [s[1]!, s[2]!, s[3]!] : [s[2]!, s[3]!, s[1]!];
  if (o.inputSize) {
    const [ih, iw] = o.inputSize;
    if ((h > 0 && h !== ih) || (w > 0 && w !== iw)) throw new FstaError('BAD_INPUT_SIZE', `inputSize [${ih}, ${iw}] contradicts the model input [${h}, ${w}]`, 'leave inputSize out, or match the model');
    [h, w] = [ih, iw];
  }
  if (h < 0 || w < 0) throw new FstaError('BAD_INPUT_SIZE', 'the model input size is dynamic', 'pass inputSize: [height, width]');
  if (c < 0) c = 3;
  return [c, h, w];
}

/**
 * A detector for a TensorFlow.js model: one forward pass gives the model's own outputs,
 * the FS stage and the TA stage; a second pass from the thresholded TA stage gives the
 * FS+TA stage. Scores come from core's formulas run with tf ops on the active backend.
 */
/** A tfjs detector, with the stages it found (null when they were named) and its TA settings. */
export type TfjsDetector = Detector & {
  readonly stages: TfjsStages | null;
  readonly tails: readonly { taStage: string; k: number }[];
  /** What to know about the TA stage (TA on a signed tensor, TA moved to the stage's activation). */
  readonly warnings: readonly string[];
};

export async function createDetector(options: TfjsDetectorOptions): Promise<TfjsDetector> {
  const tf = options.tf ?? tfCore;
  const ops = tfjsOps(tf);
  const config = resolveConfig(options);
  const owned = typeof options.model === 'string' || (!isGraphModel(options.model) && !isLayersModel(options.model));
  const model = owned ? await loadModel(options.model as string | io.IOHandler) : options.model;
  const names: { fs: string; ta: string | null; taInput: string | null; logits: string | null } = { fs: config.fsStage, ta: config.taStage, taInput: options.stages?.taInput ?? null, logits: options.logits ?? null };
  if (config.classifier !== null && config.lambda !== 0 && !names.logits) {
    throw new FstaError('BAD_CONFIG', `the config fuses "${config.classifier}" but no logits node was named`, 'pass logits: "<node or layer name>", or set classifier to null');
  }
  let found: TfjsStages | null = null;
  if (isGraphModel(model) && !options.stages) {
    found = discoverStages(tf, model, { ...(options.inputName ? { inputName: options.inputName } : {}), ...(options.layout ? { layout: options.layout } : {}) });
    if (options.layout && options.layout !== found.inputLayout) throw new FstaError('BAD_OPTION', `layout ${options.layout} contradicts the graph, whose input "${found.input}" is ${found.inputLayout}`, 'leave layout out');
  }
  // Where TA goes for a stage: taFor's tensor for discovered stages, the name itself otherwise.
  const taTensor = (stage: string) => (found ? taFor(found.resolution, stage).tensor : stage === config.taStage ? (options.stages?.taInput ?? stage) : stage);
  if (found) {
    names.fs = requireStage(found.resolution, config.fsStage).tensor;
    names.ta = config.taStage === null ? null : taTensor(config.taStage);
  }
  const taWarnings = found && config.taStage !== null ? [taFor(found.resolution, config.taStage)].flatMap((t) => [t.warning, t.note]).filter((w): w is string => w !== null) : [];
  const tails = config.taStage === null ? [] : [{ taStage: config.taStage, k: config.k }, ...(options.ks ?? []).map((t) => (typeof t === 'number' ? { taStage: config.taStage!, k: t } : t))];
  const tailTensors = tails.map((t, j) => (j === 0 ? (names.taInput ?? names.ta!) : taTensor(t.taStage)));
  const exposed = (options.expose?.tensorsOf ?? []).map((st) => ({ stage: st, tensor: found ? taFor(found.resolution, st).tensor : st }));
  const more = [...new Set([...tailTensors.slice(1), ...exposed.map((e) => e.tensor)])];
  let runner: StageRunner;
  if (isGraphModel(model)) runner = graphRunner(model, { ...names, more }, options.inputName ?? found?.input);
  else if (isLayersModel(model)) runner = layersRunner(model, names);
  else throw new FstaError('BAD_MODEL', 'model is neither a tfjs GraphModel nor a LayersModel', 'pass the result of tf.loadGraphModel / tf.loadLayersModel, or a model.json URL');

  const nhwc = (found?.inputLayout ?? options.layout ?? 'NHWC') === 'NHWC';
  const layoutOf = (tensor: string) => (found ? found.layoutOf(tensor) : (options.layout ?? 'NHWC'));
  const chw = inputChw(runner, options, nhwc);
  const fixedBatch = runner.inputShape[0]!;
  if (fixedBatch > 1) throw new FstaError('BAD_MODEL', `the model input has a fixed batch of ${fixedBatch}`, 'export the model with a dynamic batch (or batch 1)');
  const batchSize = fixedBatch === 1 ? 1 : (options.batchSize ?? 16);
  const preprocess: PreprocessSpec = options.preprocess ?? { size: [chw[1], chw[2]], crop: 'none', mean: [0, 0, 0], std: [1, 1, 1] };
  const toNchw = (t: Tensor, name: string) => (t.rank === 4 && layoutOf(name) === 'NHWC' ? tf.transpose(t, [0, 3, 1, 2]) : t);

  const run = async (data: Float32Array, shape: readonly number[], opts?: ScoreOptions): Promise<Record<string, NamedOutput>> => {
    const tensors = tf.tidy(() => {
      const nchw = tf.tensor(data, [...shape], 'float32');
      const x = nhwc ? tf.transpose(nchw, [0, 2, 3, 1]) : nchw;
      const f = runner.forward(x);
      const out: Record<string, Tensor> = { ...f.own, [PATCHED_OUTPUTS.fs]: featureSim(ops, toNchw(f.fs, names.fs)) };
      // TA is elementwise, so it applies in the tensor's own layout; only FS needs NCHW.
      tails.forEach((t, j) => {
        const ta = j === 0 ? f.ta! : f.more[tailTensors[j]!]!;
        out[fsTaOutput(j)] = featureSim(ops, toNchw(runner.tail(thresholdActivation(ops, ta, t.k), x, tailTensors[j]), names.fs));
      });
      if (opts?.include?.includes('stages')) {
        out[PATCHED_OUTPUTS.stageFs] = toNchw(f.fs, names.fs);
        if (f.ta) out[PATCHED_OUTPUTS.stageTa] = toNchw(f.ta, names.ta!);
        for (const e of exposed) out[TENSOR_PREFIX + e.tensor] = toNchw(f.more[e.tensor]!, e.tensor);
      }
      if (f.logits) {
        if (f.logits.rank !== 2) throw new FstaError('BAD_RANK', `the logits "${names.logits}" have shape [${f.logits.shape.join(', ')}], not (N, K)`, 'name the node or layer that outputs the classifier logits');
        out[PATCHED_OUTPUTS.msp] = msp(ops, f.logits);
        out[PATCHED_OUTPUTS.maxlogit] = maxLogit(ops, f.logits);
        out[PATCHED_OUTPUTS.energy] = energy(ops, f.logits, config.temperature);
      }
      return out;
    });
    try {
      const entries = await Promise.all(Object.entries(tensors).map(async ([k, t]) => [k, { data: await ops.read(t), shape: [...t.shape] }] as const));
      return Object.fromEntries(entries);
    } finally {
      tf.dispose(Object.values(tensors));
    }
  };

  const decode = async (input: ImageInput, index: number): Promise<PixelInput> => {
    const isBrowserImage = typeof input === 'object' && input !== null && 'width' in input && 'height' in input && !('data' in input);
    if (isBrowserImage && typeof (globalThis as { document?: unknown }).document !== 'undefined') {
      const px = tf.browser.fromPixels(input as unknown as ImageBitmap, 4);
      try {
        return { data: Uint8Array.from(await px.data()), width: px.shape[1]!, height: px.shape[0]!, channels: 4 };
      } finally {
        px.dispose();
      }
    }
    const kind = typeof input === 'string' ? 'a file path or URL' : input instanceof Uint8Array || input instanceof ArrayBuffer ? 'encoded image bytes' : isBrowserImage ? 'an ImageBitmap outside a browser' : 'not an image fsta understands';
    throw new FstaError('UNSUPPORTED_INPUT', `input ${index} is ${kind}; @fsta/tfjs does not decode image files`, 'decode it first and pass pixels { data, width, height, channels } (ImageData in the browser; e.g. sharp(file).raw() in Node) or a raw NCHW tensor { data, shape }', { sample: index });
  };

  const queue = serialQueue();
  let disposed = false;
  return {
    config,
    get runtime() {
      return `tfjs/${tf.getBackend()}`;
    },
    ks: tails.map((t) => t.k),
    stages: found,
    tails,
    warnings: taWarnings,
    chw,
    preprocess,
    async prepare(input: ImageInput, index = 0): Promise<Float32Array> {
      if (disposed) throw new FstaError('DISPOSED', 'prepare() was called after dispose()', 'create a new detector');
      const samples = await collectSamples([input], { preprocess, chw, decode: (x) => decode(x, index) });
      if (samples.length !== 1) throw new FstaError('BAD_INPUT', `prepare() was given ${samples.length} images in one tensor`, 'pass one image');
      return samples[0]!;
    },
    score(inputs: ImageInput | readonly ImageInput[], opts?: ScoreOptions): Promise<ImageScore[]> {
      if (disposed) return Promise.reject(new FstaError('DISPOSED', 'score() was called after dispose()', 'create a new detector'));
      if (opts?.include?.includes('penultimate')) return Promise.reject(new FstaError('NOT_SUPPORTED', '@fsta/tfjs does not return penultimate features', "ask for include: ['stages'] only"));
      return queue(() => scoreInputs(inputs, { preprocess, chw, decode, config, batchSize, run, extraKs: tails.length > 1 ? tails.length - 1 : 0 }, opts));
    },
    async dispose() {
      disposed = true;
      if (owned) (model as GraphModelLike).dispose();
    },
  };
}
