import { FstaError, PATCHED_OUTPUTS, TENSOR_PREFIX, classifierOptions, collectSamples, parseConfig, resolveDetectorConfig, scoreInputs, serialQueue, type Detector, type DetectorSettings, type FeatureLayout, type FstaConfig, type ImageInput, type LinearHead, type NamedOutput, type PixelInput, type PixelOptions, type PreprocessSpec, type ScoreOptions } from '@fsta/core';
import { findBackbone, imageInput, requireStage, taFor, type BackboneResolution, type GraphView, type UserManifest } from '@fsta/backbones';
import { headWeights } from './head-weights.js';
import { encodeModel } from './proto.js';
import { asDecodedModel, type DecodedModel } from './decoded-model.js';
import { toGraphView } from './graph-view.js';
import { IN_GRAPH_CLASSIFIERS, notInGraph, patchModel, VERDICT_OUTPUT, type InGraphClassifier, type PatchOptions } from './patch.js';
import { FSTA_VERSION, readPatchMetadata, setPatchMetadata, type PatchMetadata } from './metadata.js';
import type { OnnxModel } from './types.js';
import type { ModelLimits } from './validate.js';
import { checkConfigModel } from './fingerprint.js';

/** Options of `patchForConfig` beyond the detector settings. */
export interface ConfigPatchOptions extends DetectorSettings {
  mode?: PatchOptions['mode'];
  manifest?: UserManifest;
  ks?: DetectorModelOptions['ks'];
  expose?: DetectorModelOptions['expose'];
  preprocess?: PreprocessSpec;
}

export interface DetectorModelOptions extends DetectorSettings, ModelLimits {
  /** Overrides the manifest's preprocessing; required when the backbone is detected automatically. */
  preprocess?: PreprocessSpec;
  /** Stages, head and preprocessing by tensor name (@fsta/backbones parseUserManifest); overrides `backbone`. */
  manifest?: UserManifest;
  /**
   * More TA settings scored in the same run, after the config's: a k at the config's TA stage,
   * or { taStage, k } at another stage (a name or tensor). `ImageScore.fsTaByK` follows `tails`.
   */
  ks?: readonly (number | { taStage: string; k: number })[];
  /**
   * Outputs to add for analysis (read per call with `score(x, { include: ['stages'] })`): the
   * FS/TA stage maps, more stages' tensors (`tensorsOf`: stage names), penultimate features.
   */
  expose?: { stages?: boolean; penultimate?: boolean; tensorsOf?: readonly string[] };
}

/** What a detector on a patched ONNX model knows about the model, for tools that compute more than `score()` gives. */
export interface DetectorModelInfo {
  backbone: BackboneResolution;
  /** The logits output, where a classifier head was found. */
  logits: string | null;
  /** The final linear layer's weights, where its initializers are plain float (ReAct, ASH, GradNorm, …). */
  head: LinearHead | null;
  /** The model's own outputs (unchanged by the patch). */
  modelOutputs: string[];
}

/** Everything a runtime adapter needs to run FS+TA: the patched bytes and how to feed them. */
export interface DetectorModel {
  /** The patched model, encoded: load it into one inference session. */
  bytes: Uint8Array;
  config: FstaConfig;
  preprocess: PreprocessSpec;
  /** The image input's name and its [C, H, W]. */
  inputName: string;
  chw: [number, number, number];
  /** The model's own outputs (unchanged by the patch). */
  modelOutputs: string[];
  /** The batch the model was exported with when it has no dynamic batch axis, else null (any batch). */
  fixedBatch: number | null;
  /** Every k FS+TA is scored at: the config's first, then the `ks` asked for. */
  ks: number[];
  /** The TA stage (name) and k of each FS+TA score, in `fsTaByK` order. */
  tails: { taStage: string; k: number }[];
  info: DetectorModelInfo;
  /** What the user must know about the stages (TA on a signed tensor, TA moved to the stage's activation): adapters log them. */
  warnings: string[];
}

/** A model patched for a resolved config: what `fsta patch` writes and detectors load. */
export interface ConfiguredPatch {
  model: OnnxModel;
  config: FstaConfig;
  backbone: BackboneResolution;
  /** The model's own outputs (unchanged by the patch). */
  modelOutputs: string[];
  /** The structural view of the unpatched model the stages were found on. */
  graph: GraphView;
  /** TA on a signed tensor, or moved to the nearest non-negative tensor of its stage: print them. */
  warnings: string[];
  /** What the patched model records about itself in metadata_props (fsta.*). */
  metadata: PatchMetadata;
}

/** The image input and the preprocessing that feeds it, where they are known; checked by `requireFeed`. */
interface Feed {
  input: string | null;
  inShape: readonly number[] | null;
  preprocess: PreprocessSpec | null;
}

function feedOf(graph: GraphView, found: BackboneResolution, options: Pick<DetectorModelOptions, 'preprocess' | 'manifest'>): Feed {
  const input = imageInput(graph) ?? null;
  const inShape = input ? (graph.shapes.get(input) as readonly number[] | undefined) ?? null : null;
  let preprocess: PreprocessSpec | null = options.preprocess ?? found.preprocess ?? null;
  // A built-in manifest's size is the family's default (FCN 520, Faster R-CNN 800); a model exported
  // at a fixed size needs that size instead, as `fsta inspect` reports. Sizes a user gave are kept.
  const [h, w] = inShape && inShape.length >= 3 ? inShape.slice(-2) as [number, number] : [-1, -1];
  const fixedHW = h > 0 && w > 0 && !options.preprocess && !options.manifest && found.manifest && preprocess?.crop === 'none';
  if (fixedHW && (preprocess!.size[0] !== h || preprocess!.size[1] !== w)) preprocess = { ...preprocess!, size: [h, w] };
  return { input, inShape, preprocess };
}

/** The feed an onnxruntime detector needs: one NCHW float input the preprocessing matches. */
function requireFeed(graph: GraphView, feed: Feed): { input: string; n: number; preprocess: PreprocessSpec } {
  const { input, inShape, preprocess } = feed;
  if (!input || !inShape || inShape.length !== 4) throw new FstaError('BAD_MODEL', `the model has no NCHW image input (inputs: ${graph.inputs.join(', ') || 'none'})`, 'export the model with one float32 input of shape [N, 3, H, W]');
  const [n, c, h, w] = inShape as [number, number, number, number];
  if (!preprocess) throw new FstaError('NO_PREPROCESS', 'the backbone was detected automatically, so fsta does not know how this model wants its images', "pass preprocess: { size: [h, w], crop: 'center', resizeShorter, mean, std } to createDetector");
  const size = preprocess.size;
  if (c !== 3 || (h > 0 && h !== size[0]) || (w > 0 && w !== size[1])) throw new FstaError('BAD_PREPROCESS', `the preprocessing makes [3, ${size[0]}, ${size[1]}] images but the model input is [${c}, ${h}, ${w}]`, 'pass a preprocess spec that matches the model input');
  return { input, n, preprocess };
}

/**
 * Finds the backbone (manifest or detection), resolves the config's stages and head and
 * patches in the FS / FS+TA / classifier / fused score outputs. Needs no preprocessing,
 * so it works on any input layout (a detector's single [3, H, W] image included).
 */
export function patchForConfig(model: OnnxModel, options: ConfigPatchOptions): ConfiguredPatch {
  // Before the backbone is matched: another model's config is the problem to name, not its stages.
  const given = options.config === undefined ? undefined : parseConfig(options.config);
  if (given) checkConfigModel(given, model, options.allowForeignConfig);
  const graph = toGraphView(model);
  const wanted = options.backbone ?? given?.backbone ?? 'auto';
  const found = findBackbone(graph, options.manifest ?? wanted);
  const resolved = resolveDetectorConfig({ ...options, ...(given ? { config: given } : {}), backbone: options.manifest ? `manifest:${options.manifest.name}` : wanted }, found.defaults);
  // ASH's or SCALE's setting is part of what the graph computes: recorded in the config (and the patch's metadata) as run.
  const config = resolved.classifier === 'ash' ? { ...resolved, ash: classifierOptions(resolved).ash } : resolved.classifier === 'scale' ? { ...resolved, scale: classifierOptions(resolved).scale } : resolved;
  const fs = requireStage(found, config.fsStage);
  const ta = config.taStage === null ? null : taFor(found, config.taStage);
  const warnings = ta === null ? [] : [ta.warning, ta.note].filter((w): w is string => w !== null);
  if (config.classifier !== null && !(IN_GRAPH_CLASSIFIERS as readonly string[]).includes(config.classifier)) throw notInGraph(config.classifier);
  if (config.classifier !== null && !found.head) throw new FstaError('NO_HEAD', `the config fuses classifier score "${config.classifier}" but no classifier head was found in this model`, 'use a backbone manifest with a head, or set classifier to null');
  const usesHead = config.classifier === 'ash' || config.classifier === 'scale';
  if (usesHead && found.head?.weightInitializer == null) throw new FstaError('NO_LINEAR_HEAD', `the config fuses "${config.classifier}", which needs the penultimate features and a linear head (a final Gemm with a weight initializer), and this model's head (${found.source}) has none`, 'name the head in a manifest ("head": {penultimate, weight, bias}), or calibrate with msp, maxlogit or energy');
  const patched = patchModel(model, {
    fsStageTensor: fs.tensor,
    fsLayout: { layout: fs.layout, prefixTokens: fs.prefixTokens },
    ...(ta ? { taLayout: { layout: ta.layout, prefixTokens: ta.prefixTokens } } : {}),
    taStageTensor: ta?.tensor ?? null,
    k: config.k,
    ...(found.head ? { head: { penultimate: found.head.penultimate, logits: found.head.logits, ...(usesHead ? { weight: found.head.weight, bias: found.head.bias } : {}) } } : {}),
    lambda: config.lambda,
    classifier: config.classifier as InGraphClassifier | null,
    ...(config.ash ? { ash: config.ash } : {}),
    ...(config.scale ? { scale: config.scale } : {}),
    featureScore: config.featureScore,
    temperature: config.temperature,
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.ks?.length && config.taStage !== null ? { moreTa: options.ks.map((t) => (typeof t === 'number' ? t : { taStageTensor: taFor(found, t.taStage).tensor, k: t.k })) } : {}),
    ...(options.expose?.stages ? { exposeStages: true } : {}),
    ...(options.expose?.tensorsOf?.length ? { exposeTensors: [...new Set(options.expose.tensorsOf.map((st) => taFor(found, st).tensor))] } : {}),
    ...(options.expose?.penultimate ? { exposePenultimate: true } : {}),
    threshold: config.threshold,
  });
  const feed = feedOf(graph, found, options);
  const h = found.head;
  const metadata: PatchMetadata = {
    version: FSTA_VERSION,
    config,
    fsStage: { name: config.fsStage, tensor: fs.tensor, ...layoutEntry(fs) },
    taStage: ta && config.taStage !== null ? { name: config.taStage, tensor: ta.tensor, ...layoutEntry(ta) } : null,
    head: h ? { penultimate: h.penultimate, logits: h.logits, weight: h.weightInitializer ?? h.weight, bias: h.biasInitializer ?? h.bias ?? null } : null,
    input: feed.input,
    preprocess: feed.preprocess ? { ...feed.preprocess, layout: 'NCHW', range: [0, 1] } : null,
    source: found.source,
    outputs: patched.outputs,
  };
  setPatchMetadata(patched.model, metadata);
  return { model: patched.model, config, backbone: found, modelOutputs: graph.outputs.slice(), graph, metadata, warnings };
}

/** A stage's layout for the patch metadata: only where it is not channels first. */
const layoutEntry = (s: { layout: FeatureLayout; prefixTokens: number }) => (s.layout === 'nchw' || s.layout === 'ncl' ? {} : { layout: { layout: s.layout, prefixTokens: s.prefixTokens } });

/**
 * ONNX bytes → patched bytes, written once for every ONNX runtime: `patchForConfig`,
 * plus the image input and preprocessing the adapters feed, then encode. Takes the bytes,
 * or a `decodedModel(bytes)` the caller has already decoded (then nothing is decoded again).
 */
export function prepareDetectorModel(source: Uint8Array | DecodedModel, options: DetectorModelOptions): DetectorModel {
  const { bytes, model } = asDecodedModel(source, options.maxTensorBytes !== undefined ? { maxTensorBytes: options.maxTensorBytes } : {});
  const metadata = readPatchMetadata(model);
  if (metadata) return preparePatched(bytes, model, metadata, options);
  const { model: patched, config, backbone: found, modelOutputs, graph, warnings } = patchForConfig(model, options);
  if (options.expose?.penultimate && !found.head) throw new FstaError('NO_HEAD', `penultimate features were asked for, but no classifier head was found in this model (${found.source})`, 'name the head in a manifest ("head": {penultimate, weight, bias}), or do not ask for penultimate features');
  const tails = config.taStage === null ? [] : [{ taStage: config.taStage, k: config.k }, ...(options.ks ?? []).map((t) => (typeof t === 'number' ? { taStage: config.taStage!, k: t } : t))];
  const feed = requireFeed(graph, feedOf(graph, found, options));
  return detectorModel({ bytes: encodeModel(patched), model, config, found, logits: found.head?.logits ?? null, feed, modelOutputs, tails, warnings });
}

/** What both paths (patch now, or run a patched model as it is) hand the adapters. */
function detectorModel(p: {
  bytes: Uint8Array;
  /** The unpatched (or already patched) model, for the head's weights. */
  model: OnnxModel;
  config: FstaConfig;
  found: BackboneResolution;
  logits: string | null;
  feed: { input: string; n: number; preprocess: PreprocessSpec };
  modelOutputs: string[];
  tails: { taStage: string; k: number }[];
  warnings: string[];
}): DetectorModel {
  const { feed, found } = p;
  return {
    bytes: p.bytes,
    config: p.config,
    preprocess: feed.preprocess,
    inputName: feed.input,
    chw: [3, feed.preprocess.size[0], feed.preprocess.size[1]],
    modelOutputs: p.modelOutputs,
    fixedBatch: feed.n > 0 ? feed.n : null,
    ks: p.tails.map((t) => t.k),
    tails: p.tails,
    info: {
      backbone: found,
      logits: p.logits,
      head: found.head?.weightInitializer ? headWeights(p.model, found.head.weight, found.head.bias) : null,
      modelOutputs: p.modelOutputs,
    },
    warnings: p.warnings,
  };
}

/** Options that would change what the graph computes: a patched model runs as it was patched. */
const REPATCHING_OPTIONS = ['backbone', 'fsStage', 'taStage', 'k', 'lambda', 'classifier', 'ash', 'scale', 'manifest'] as const;
/** Config fields a patched model fixes (in the graph, or in its verdict). */
const PATCHED_FIELDS = ['fsStage', 'taStage', 'k', 'featureScore', 'classifier', 'lambda', 'temperature', 'threshold'] as const;

/**
 * A model `fsta patch` wrote: its settings come from its metadata and its bytes are run as
 * they are (no second patch). Options that would need another patch are refused, not ignored.
 */
function preparePatched(bytes: Uint8Array, model: OnnxModel, meta: PatchMetadata, options: DetectorModelOptions): DetectorModel {
  const refuse = (what: string) => new FstaError('ALREADY_PATCHED', `the model was patched by fsta and runs with the settings inside it; ${what} would need another patch`, 'drop the option to run the patched model as it is, or pass the original (unpatched) model with the option');
  for (const key of REPATCHING_OPTIONS) if (options[key] !== undefined) throw refuse(`option "${key}"`);
  if (options.ks?.length) throw refuse('more k (ks)');
  if (options.expose?.stages || options.expose?.penultimate) throw refuse('exposing stage maps or penultimate features');
  if (options.config !== undefined) {
    const given = resolveDetectorConfig({ config: options.config });
    const differs = PATCHED_FIELDS.filter((f) => given[f] !== meta.config[f]);
    // ASH's and SCALE's settings are in the graph when it fuses them; compared as they run (defaults filled in).
    const opts = (c: FstaConfig) => classifierOptions(c)[c.classifier as 'ash' | 'scale'];
    if ((meta.config.classifier === 'ash' || meta.config.classifier === 'scale') && given.classifier === meta.config.classifier && JSON.stringify(opts(given)) !== JSON.stringify(opts(meta.config))) {
      throw refuse(`a config with other ${meta.config.classifier} settings ${JSON.stringify(opts(given))} (the model has ${JSON.stringify(opts(meta.config))})`);
    }
    if (differs.length) throw refuse(`a config with other ${differs.join(', ')} (the model has ${differs.map((f) => `${f} ${JSON.stringify(meta.config[f])}`).join(', ')})`);
  }
  if (options.preprocess && meta.preprocess && JSON.stringify(normalizedPreprocess(options.preprocess)) !== JSON.stringify(normalizedPreprocess(meta.preprocess))) {
    throw refuse(`preprocessing other than the model's ${JSON.stringify(meta.preprocess)}`);
  }
  const preprocess = meta.preprocess ?? options.preprocess ?? null;
  if (!preprocess) throw new FstaError('NO_PREPROCESS', 'the model was patched with stages detected automatically, so its metadata does not say how it wants its images', "pass preprocess: { size: [h, w], crop: 'center', resizeShorter, mean, std } to createDetector");
  const graph = toGraphView(model);
  for (const out of meta.outputs) if (!graph.outputs.includes(out)) throw new FstaError('BAD_METADATA', `the model's fsta metadata lists output "${out}", which the model does not have`, 'patch the original model again with `fsta patch`');
  const manifest: UserManifest = {
    name: 'patched model',
    source: "the model's fsta metadata",
    ...(meta.input ? { input: meta.input } : {}),
    ...(meta.head ? { output: meta.head.logits } : {}),
    preprocess: { layout: 'NCHW', range: [0, 1], ...preprocess } as UserManifest['preprocess'],
    stages: { [meta.fsStage.name]: meta.fsStage.tensor, ...(meta.taStage ? { [meta.taStage.name]: meta.taStage.tensor } : {}) },
    layouts: { ...(meta.fsStage.layout ? { [meta.fsStage.name]: meta.fsStage.layout } : {}), ...(meta.taStage?.layout ? { [meta.taStage.name]: meta.taStage.layout } : {}) },
    head: meta.head ? { penultimate: meta.head.penultimate, weight: meta.head.weight, bias: meta.head.bias } : null,
  };
  const found = findBackbone(graph, manifest);
  const feed = requireFeed(graph, { ...feedOf(graph, found, { manifest }), preprocess });
  const tails = meta.config.taStage === null ? [] : [{ taStage: meta.config.taStage, k: meta.config.k }];
  return detectorModel({ bytes, model, config: meta.config, found, logits: meta.head?.logits ?? null, feed, modelOutputs: graph.outputs.filter((o) => !o.startsWith('fsta/')), tails, warnings: [...found.warnings] });
}

const normalizedPreprocess = (p: PreprocessSpec) => ({ size: [...p.size], resizeShorter: p.resizeShorter ?? null, crop: p.crop, mean: [...p.mean], std: [...p.std] });

/** The part of an onnxruntime InferenceSession (node or web) a detector uses. */
export interface OrtSessionLike {
  readonly outputNames: readonly string[];
  run(feeds: Record<string, never>, fetches: string[]): Promise<Record<string, { data: unknown; dims: readonly number[]; type: string }>>;
  release(): Promise<void>;
}

export interface OrtDetectorParts {
  prepared: DetectorModel;
  session: OrtSessionLike;
  /** `new ort.Tensor('float32', data, shape)` of the adapter's onnxruntime. */
  tensor(data: Float32Array, shape: readonly number[]): unknown;
  runtime: string;
  batchSize?: number;
  pixelOptions?: PixelOptions;
  /** Decodes what core cannot (paths, encoded bytes, bitmaps). */
  decode(input: ImageInput, index: number): Promise<PixelInput>;
  /** How many decode() calls a score() call keeps going at once; default core's DECODE_CONCURRENCY. */
  decodeConcurrency?: number;
}

/**
 * A Detector over one onnxruntime session on a patched model, shared by
 * @fsta/onnxruntime-node and @fsta/onnxruntime-web: one run per batch, runs queued
 * (concurrent score() calls are safe), the session released on dispose().
 */
export type OnnxDetector = Detector & { readonly model: DetectorModelInfo; readonly tails: readonly { taStage: string; k: number }[] };

/** Outputs a detector fetches only when a score() call asks for them (they can be large). */
const ON_REQUEST: Record<'stages' | 'penultimate', (name: string) => boolean> = {
  stages: (name) => name.startsWith('fsta/stage/') || name.startsWith(TENSOR_PREFIX),
  penultimate: (name) => name === PATCHED_OUTPUTS.penultimate,
};

function fetchesFor(all: readonly string[], options: ScoreOptions | undefined): string[] {
  const include = options?.include ?? [];
  for (const what of include) {
    if (!(what in ON_REQUEST)) throw new FstaError('BAD_OPTION', `score() was asked to include "${String(what)}"`, 'include "stages" and/or "penultimate"');
    if (!all.some(ON_REQUEST[what])) throw new FstaError('NOT_EXPOSED', `score() was asked to include ${what}, but the detector was created without them`, `create the detector with expose: { ${what}: true }`);
  }
  // The in-graph verdict (bool) is the verdictOf core applies to the fetched score; it is for other runtimes.
  return all.filter((name) => name !== VERDICT_OUTPUT && !Object.entries(ON_REQUEST).some(([what, is]) => is(name) && !include.includes(what as 'stages')));
}

export function ortDetector(parts: OrtDetectorParts): OnnxDetector {
  const { prepared, session } = parts;
  const queue = serialQueue();
  let disposed = false;
  const alive = () => {
    if (disposed) throw new FstaError('DISPOSED', 'the detector was used after dispose()', 'create a new detector');
  };
  const scorer = {
    config: prepared.config,
    preprocess: prepared.preprocess,
    chw: prepared.chw,
    batchSize: prepared.fixedBatch ?? parts.batchSize ?? 16,
    fixedBatch: prepared.fixedBatch,
    extraKs: Math.max(0, prepared.ks.length - 1),
    ...(parts.pixelOptions ? { pixelOptions: parts.pixelOptions } : {}),
    decode: parts.decode,
    ...(parts.decodeConcurrency !== undefined ? { decodeConcurrency: parts.decodeConcurrency } : {}),
    run: (data: Float32Array, shape: readonly number[], options?: ScoreOptions) => queue(async () => {
      const out = await session.run({ [prepared.inputName]: parts.tensor(data, shape) as never }, fetchesFor(session.outputNames, options));
      const result: Record<string, NamedOutput> = {};
      for (const [name, t] of Object.entries(out)) {
        if (!(t.data instanceof Float32Array)) throw new FstaError('BAD_MODEL', `model output "${name}" is ${t.type}, not float32`, 'export the model with float32 outputs');
        result[name] = { data: t.data, shape: [...t.dims] };
      }
      return result;
    }),
  };
  return {
    config: prepared.config,
    runtime: parts.runtime,
    ks: prepared.ks,
    tails: prepared.tails,
    chw: prepared.chw,
    preprocess: prepared.preprocess,
    model: prepared.info,
    async prepare(input, index = 0) {
      alive();
      if (Array.isArray(input)) throw new FstaError('BAD_INPUT', 'prepare() takes one image, not an array', 'call prepare() once per image');
      const samples = await collectSamples([input], { ...scorer, decode: (x) => scorer.decode(x, index) });
      if (samples.length !== 1) throw new FstaError('BAD_INPUT', `prepare() was given ${samples.length} images in one tensor`, 'pass one image (a [C, H, W] tensor or a file)');
      return samples[0]!;
    },
    async score(inputs, options) {
      alive();
      return scoreInputs(inputs, scorer, options);
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await queue(() => session.release());
    },
  };
}
