import { ASH_DEFAULTS, FstaError, PAPER_LAMBDA, SCALE_DEFAULT_PERCENTILE, ashScore, channelsFirst, energy, scaleScore, featureSim, fuseTensor, maxLogit, msp, thresholdActivation, FEATURE_LAYOUTS, type AshVariant, type FeatureLayout, type TensorOps } from '@fsta/core';
import { cloneModel, defaultOpset } from './proto.js';
import { GraphIndex } from './graph-index.js';
import { GraphBuilder, graphOps, type GraphTensor } from './graph-ops.js';
import { attr } from './attributes.js';
import { inferShapes, type Shape } from './shapes.js';
import { renameOuterReferences } from './subgraphs.js';
import type { OnnxModel, OnnxNode, OnnxValueInfo } from './types.js';

/** How a stage tensor holds its channels (@fsta/backbones' `ResolvedStage.layout` and `prefixTokens`). */
export interface StageLayoutOption {
  layout: FeatureLayout;
  /** Leading tokens of an 'nlc' sequence FS leaves out (a ViT's class token); default 0. */
  prefixTokens?: number;
}

export interface PatchOptions {
  /** Tensor whose feature map FS is taken on (e.g. the ResNet layer4 output). */
  fsStageTensor: string;
  /**
   * Layout of the FS stage tensor; default channels first ('nchw', or 'ncl' for rank 3). FS is
   * taken on its channels-first form (NHWC → NCHW; (N, L, C) → (N, C, L) without the prefix
   * tokens), and the exposed stage maps are that form too.
   */
  fsLayout?: StageLayoutOption;
  /** Layout of the TA stage tensor, for its exposed map ('fsta/stage/ta'); TA itself is elementwise. */
  taLayout?: StageLayoutOption;
  /** Tensor where TA is applied (upstream of, or equal to, the FS stage); null/absent: no fs_ta. */
  taStageTensor?: string | null;
  /** TA threshold, ≥ 0. */
  k: number;
  /**
   * The classifier head's tensors, for msp/maxlogit/energy and the fused score; ASH and
   * SCALE also need the weight (classes, D) and bias the final Gemm (transB = 1) reads, which
   * they read as they are (float initializers, or an int8 model's DequantizeLinear outputs).
   */
  head?: { penultimate: string; logits: string; weight?: string | null; bias?: string | null };
  /** λ in S = S_feat + λ·S_cls; defaults to the paper's λ for the classifier score. */
  lambda?: number;
  classifier?: InGraphClassifier | null;
  /** ASH's setting when classifier is 'ash' (core's ashScore); default ASH-S at the 90th percentile. */
  ash?: { variant: AshVariant; percentile: number };
  /** SCALE's percentile when classifier is 'scale' (core's scaleScore); default 85. */
  scale?: { percentile: number };
  /** Feature score the fused score starts from; default 'fs_ta' when a TA stage is given. */
  featureScore?: 'fs' | 'fs_ta';
  temperature?: number;
  /** 'branch': duplicate the nodes after TA (weights shared). 'double-batch': run them once on [x, TA(x)]. */
  mode?: 'branch' | 'double-batch';
  /**
   * Also output the raw stage tensors as 'fsta/stage/fs' and 'fsta/stage/ta', and the
   * FS-stage map of the TA pass as 'fsta/stage/fs_ta' (what FS+TA is taken on): the
   * maps a viewer draws heatmaps from, without re-running any layer itself.
   */
  exposeStages?: boolean;
  /**
   * More TA settings scored in the same run (branch mode): a k, at the TA stage, or
   * { taStageTensor, k } at another stage upstream of the FS stage. FS+TA of the i-th is
   * output as 'fsta/fs_ta/<i+1>' (its map as 'fsta/stage/fs_ta/<i+1>' with exposeStages),
   * from one more copy of that TA→FS tail; the trunk runs once.
   */
  moreTa?: readonly (number | { taStageTensor: string; k: number })[];
  /** More tensors to output as they are, as 'fsta/tensor/<name>' (TA candidates' activations, for k as a percentile). */
  exposeTensors?: readonly string[];
  /** Also output the head's penultimate features as 'fsta/penultimate' (needs `head`). */
  exposePenultimate?: boolean;
  /**
   * The calibrated decision threshold: when a number, the model also outputs 'fsta/verdict',
   * a [N] bool, true (in-distribution) where the fused score (the feature score when there is
   * no head) is ≥ threshold — core's `verdictOf`, decided on the same float32 score.
   */
  threshold?: number | null;
}

export interface PatchResult {
  model: OnnxModel;
  /** Names of the outputs the patch added, in order. */
  outputs: string[];
  /** Shapes of the stage tensors (batch symbolic). */
  stageShapes: { fs: Shape; ta: Shape | null };
  /** How many model nodes the TA pass re-runs (duplicated in 'branch' mode, batched in 'double-batch'). */
  taNodes: number;
}

export const FSTA_OUTPUTS = ['fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/ash', 'fsta/scale', 'fsta/score', 'fsta/verdict'] as const;
/** Classifier scores a patch computes in the graph: from the logits, or (ASH, SCALE) from the penultimate features and the head. */
export const IN_GRAPH_CLASSIFIERS = ['msp', 'maxlogit', 'energy', 'ash', 'scale'] as const;
export type InGraphClassifier = (typeof IN_GRAPH_CLASSIFIERS)[number];
/** The per-image decision a patch with a threshold adds: bool [N], true = in-distribution. */
export const VERDICT_OUTPUT = 'fsta/verdict';
const ONNX_FLOAT = 1;
const ONNX_BOOL = 9;
const CONV_OPS = new Set(['Conv', 'ConvInteger', 'QLinearConv', 'ConvTranspose']);

const staticShape = (s: Shape): number[] => s.map((d) => (typeof d === 'number' ? d : -1));

/**
 * Returns a new model that also outputs FS (and FS+TA, classifier scores and the
 * fused score), each of shape [N], computed inside the same run. The model's own
 * nodes are untouched, so its outputs are unchanged; the formulas are core's,
 * emitted through `graphOps`.
 */
export function patchModel(input: OnnxModel, options: PatchOptions): PatchResult {
  const o = { mode: 'branch' as const, temperature: 1, exposeStages: false, ...options };
  const model = cloneModel(input);
  const g = model.graph!;
  const index = new GraphIndex(g);
  const shapes = inferShapes(model);
  const opset = defaultOpset(model);

  if (!index.nodes.some((n) => CONV_OPS.has(n.opType ?? ''))) {
    throw new FstaError('NO_CONV_STAGES', 'the model has no convolution, so it has no feature-map stages for FS', 'patch a convolutional network (ResNet, MobileNet, DenseNet, a detector or segmenter backbone)');
  }
  for (const name of g.output ?? []) if (name.name?.startsWith('fsta/')) throw new FstaError('ALREADY_PATCHED', `the model already has an output "${name.name}"`, 'patch the original model, not a patched one');
  if (!Number.isFinite(o.k) || o.k < 0) throw new FstaError('BAD_K', `TA threshold k must be a finite number ≥ 0, got ${o.k}`, 'pass k ≥ 0 (calibrate it on ID data)');
  const moreTa = (o.moreTa ?? []).map((t) => (typeof t === 'number' ? { taStageTensor: o.taStageTensor ?? null, k: t } : t));
  for (const { k } of moreTa) if (!Number.isFinite(k) || k < 0) throw new FstaError('BAD_K', `TA threshold k must be a finite number ≥ 0, got ${k} (in moreTa)`, 'pass k ≥ 0 (calibrate it on ID data)');
  if (moreTa.length > 0 && o.mode !== 'branch') throw new FstaError('BAD_OPTION', 'several TA settings (moreTa) need mode "branch"', 'use mode: "branch" to score several k in one run');
  if (moreTa.some((t) => t.taStageTensor === null)) throw new FstaError('BAD_OPTION', 'a k (moreTa) was given without a TA stage', 'pass taStageTensor, or { taStageTensor, k }');
  if (o.exposePenultimate && !o.head) throw new FstaError('BAD_OPTION', 'exposePenultimate needs the classifier head', 'pass head: { penultimate, logits }');
  const threshold = o.threshold ?? null;
  if (threshold !== null && (typeof threshold !== 'number' || !Number.isFinite(threshold))) throw new FstaError('BAD_OPTION', `threshold must be a finite number or null, got ${String(threshold)}`, 'pass the threshold from `fsta calibrate` (or null for no verdict output)');
  if (o.mode !== 'branch' && o.mode !== 'double-batch') throw new FstaError('BAD_OPTION', `mode "${String(o.mode)}" is not one of branch, double-batch`, 'pass mode: "branch" or "double-batch"');

  const stage = (tensor: string, what: string): Shape => {
    if (!index.producer.has(tensor)) {
      const hint = index.nodes.filter((n) => CONV_OPS.has(n.opType ?? '')).slice(-2).map((n) => n.output![0]).join('", "');
      throw new FstaError('UNKNOWN_TENSOR', `the ${what} tensor "${tensor}" is not produced by any node of the model`, `pass a node output name (e.g. "${hint}"); \`fsta inspect\` lists the stage tensors`, { tensor });
    }
    const s = shapes.get(tensor);
    if (s && s.length !== 4 && s.length !== 3) throw new FstaError('BAD_STAGE', `the ${what} tensor "${tensor}" has shape [${s.join(', ')}], not a feature map (N, C, H, W)`, 'pick a stage output before global pooling', { tensor });
    return s ?? ['N', -1, -1, -1];
  };
  const fsShape = stage(o.fsStageTensor, 'FS stage');
  const fsLayout = layoutFor(o.fsLayout, fsShape, 'FS stage');
  const ta = o.taStageTensor ?? null;
  const taShape = ta === null ? null : stage(ta, 'TA stage');
  const taLayout = taShape === null ? null : layoutFor(o.taLayout, taShape, 'TA stage');
  const between = ta === null ? [] : index.descendants(ta).filter((i) => new Set(index.ancestors([o.fsStageTensor])).has(i));
  if (ta !== null && ta !== o.fsStageTensor && between.length === 0) {
    throw new FstaError('BAD_STAGE_ORDER', `the TA stage "${ta}" is not upstream of the FS stage "${o.fsStageTensor}"`, 'apply TA at an earlier stage than FS (e.g. TA at C4, FS at C5)', { ta, fs: o.fsStageTensor });
  }
  if (o.classifier != null && !(IN_GRAPH_CLASSIFIERS as readonly string[]).includes(o.classifier)) throw notInGraph(o.classifier);
  if (o.head) for (const [role, t] of Object.entries(o.head)) if (typeof t === 'string' && !index.has(t)) throw new FstaError('UNKNOWN_TENSOR', `the head's ${role} tensor "${t}" is not in the model`, 'pass the tensor names of the classifier head (manifests give them)', { tensor: t });

  const taken = new Set<string>([...index.producer.keys(), ...index.initializers.keys(), ...index.graphInputs]);
  const b = new GraphBuilder(opset, 'fsta/', taken);
  const ops = graphOps(b);
  const added: OnnxNode[] = [];
  const flush = () => added.push(...b.nodes.splice(0));
  const outputs: { name: string; shape: Shape; elemType: number }[] = [];
  const batch = fsShape[0]!;
  const emit = (name: string, x: GraphTensor | string, shape: Shape = [batch], elemType = ONNX_FLOAT) => {
    b.materialize(typeof x === 'string' ? x : x.name);
    b.nodes.push({ opType: 'Identity', input: [typeof x === 'string' ? x : x.name], output: [name], name });
    outputs.push({ name, shape, elemType });
  };

  let fsIn = b.tensor(o.fsStageTensor, staticShape(fsShape));
  let fsTaIn: GraphTensor | null = null;
  if (ta !== null) {
    const taOut = thresholdActivation(ops, b.tensor(ta, staticShape(taShape!)), o.k);
    flush();
    if (ta === o.fsStageTensor) fsTaIn = taOut;
    else if (o.mode === 'branch') fsTaIn = b.tensor(duplicateBranch(index, between, ta, taOut.name, o.fsStageTensor, added), staticShape(fsShape));
    else [fsIn, fsTaIn] = doubleBatch(index, between, ta, taOut.name, o.fsStageTensor, b, g).map((n) => b.tensor(n, staticShape(fsShape))) as [GraphTensor, GraphTensor];
  }
  // One more TA→FS tail per extra setting, each reading ReLU(f − k) of the same trunk pass.
  const feedsFs = moreTa.length ? new Set(index.ancestors([o.fsStageTensor])) : new Set<number>();
  const extraTaIn = moreTa.map(({ taStageTensor, k }, i) => {
    const at = taStageTensor!;
    const atShape = at === ta ? taShape! : stage(at, 'TA stage');
    const path = at === ta ? between : index.descendants(at).filter((j) => feedsFs.has(j));
    if (at !== o.fsStageTensor && path.length === 0) throw new FstaError('BAD_STAGE_ORDER', `the TA stage "${at}" is not upstream of the FS stage "${o.fsStageTensor}"`, 'apply TA at an earlier stage than FS (e.g. TA at C4, FS at C5)', { ta: at, fs: o.fsStageTensor });
    const taOut = thresholdActivation(ops, b.tensor(at, staticShape(atShape)), k);
    flush();
    if (at === o.fsStageTensor) return taOut;
    return b.tensor(duplicateBranch(index, path, at, taOut.name, o.fsStageTensor, added, `fsta/ta${i + 1}/`), staticShape(fsShape));
  });
  // FS, and every map exposed, on the channels-first form of the stage (the tensor itself for NCHW).
  const first = (x: GraphTensor, l: Required<StageLayoutOption>) => channelsFirst(ops, x, l.layout, l.prefixTokens);
  [fsIn, fsTaIn] = [first(fsIn, fsLayout), fsTaIn && first(fsTaIn, fsLayout)];
  const extraFsIn = extraTaIn.map((x) => first(x, fsLayout));
  const fsMapShape = channelsFirstShape(fsShape, fsLayout);
  const scores: Record<string, GraphTensor> = {};
  scores.fs = featureSim(ops, fsIn);
  emit('fsta/fs', scores.fs);
  if (fsTaIn) {
    scores.fs_ta = featureSim(ops, fsTaIn);
    emit('fsta/fs_ta', scores.fs_ta);
  }
  extraFsIn.forEach((x, i) => emit(`fsta/fs_ta/${i + 1}`, featureSim(ops, x)));
  const feature = o.featureScore ?? (fsTaIn ? 'fs_ta' : 'fs');
  if (feature === 'fs_ta' && !fsTaIn) throw new FstaError('BAD_OPTION', 'featureScore is "fs_ta" but no TA stage was given', 'pass taStageTensor, or featureScore: "fs"');
  // The score the verdict is taken on: core's scoresFromOutputs uses the fused score, else the feature score.
  let decided = scores[feature]!;
  if (o.head) {
    const ls = shapes.get(o.head.logits);
    if (ls && ls.length !== 2) throw new FstaError('BAD_HEAD', `the logits tensor "${o.head.logits}" has shape [${ls.join(', ')}], expected (N, classes)`, 'pass the classifier output before any softmax or reshape');
    const logits = b.tensor(o.head.logits, staticShape(ls ?? ['N', -1]));
    scores.msp = msp(ops, logits, o.temperature);
    scores.maxlogit = maxLogit(ops, logits);
    scores.energy = energy(ops, logits, o.temperature);
    for (const k of ['msp', 'maxlogit', 'energy']) emit(`fsta/${k}`, scores[k]!);
    if (o.classifier === 'ash' || o.classifier === 'scale') {
      scores[o.classifier] = penultimateScore(ops, b, shapes, o.head, o.classifier, o);
      emit(`fsta/${o.classifier}`, scores[o.classifier]!);
    }
    decided = o.classifier ? fusedInGraph(ops, scores[feature]!, scores[o.classifier]!, o.classifier, o.lambda) : scores[feature]!;
    emit('fsta/score', decided);
  }
  if (threshold !== null) emit(VERDICT_OUTPUT, verdictInGraph(b, decided.name, threshold), [batch], ONNX_BOOL);
  if (o.exposeStages) {
    emit('fsta/stage/fs', fsLayout.layout === 'nchw' || fsLayout.layout === 'ncl' ? b.tensor(o.fsStageTensor, []) : first(b.tensor(o.fsStageTensor, staticShape(fsShape)), fsLayout), fsMapShape);
    if (ta !== null) emit('fsta/stage/ta', first(b.tensor(ta, staticShape(taShape!)), taLayout!), channelsFirstShape(taShape!, taLayout!));
    if (fsTaIn) emit('fsta/stage/fs_ta', fsTaIn, fsMapShape);
    extraFsIn.forEach((x, i) => emit(`fsta/stage/fs_ta/${i + 1}`, x, fsMapShape));
  }
  for (const t of o.exposeTensors ?? []) emit(`fsta/tensor/${t}`, b.tensor(t, []), stage(t, 'exposed'));
  if (o.exposePenultimate) emit('fsta/penultimate', b.tensor(o.head!.penultimate, []), shapes.get(o.head!.penultimate) ?? [batch, -1]);
  flush();

  g.node = [...(g.node ?? []), ...added];
  // Double-batch rewires existing nodes to read tensors made at the end: restore topological order.
  if (o.mode === 'double-batch' && ta !== null && ta !== o.fsStageTensor) g.node = new GraphIndex(g).order.map((i) => g.node![i]!);
  g.initializer = [...(g.initializer ?? []), ...b.initializers];
  g.output = [...(g.output ?? []), ...outputs.map(({ name, shape, elemType }) => valueInfo(name, shape, elemType))];
  return { model, outputs: outputs.map((x) => x.name), stageShapes: { fs: fsShape, ta: taShape }, taNodes: between.length };
}

/**
 * The refusal for a classifier score the graph cannot compute (ODIN and GradNorm need
 * gradients; ReAct, DICE and fDBD need statistics fitted on ID features, which a config
 * does not carry): `fsta eval` computes them on the host.
 */
export function notInGraph(classifier: string): FstaError {
  return new FstaError('NOT_SUPPORTED_IN_GRAPH', `classifier score "${classifier}" cannot be computed inside the ONNX graph (in-graph scores: ${IN_GRAPH_CLASSIFIERS.join(', ')})`, `fuse one of ${IN_GRAPH_CLASSIFIERS.join(', ')} (ash and scale need a linear head), or set classifier to null; compare FS+TA+${classifier} on the host with \`fsta eval\``);
}

/** The layout option checked against the stage's rank, defaults filled in. */
function layoutFor(given: StageLayoutOption | undefined, shape: Shape, what: string): Required<StageLayoutOption> {
  const l = { layout: given?.layout ?? (shape.length === 3 ? 'ncl' : 'nchw'), prefixTokens: given?.prefixTokens ?? 0 } as Required<StageLayoutOption>;
  const rank = l.layout === 'nchw' || l.layout === 'nhwc' ? 4 : 3;
  if (!FEATURE_LAYOUTS.includes(l.layout) || shape.length !== rank) throw new FstaError('BAD_STAGE', `the ${what} tensor has shape [${shape.join(', ')}], which does not fit layout "${String(l.layout)}"`, `pass a layout of its rank (${FEATURE_LAYOUTS.join(', ')}): the one @fsta/backbones resolves for the stage`);
  const L = shape[1];
  if (!(Number.isInteger(l.prefixTokens) && l.prefixTokens >= 0) || (l.prefixTokens > 0 && (l.layout !== 'nlc' || (typeof L === 'number' && L >= 0 && l.prefixTokens >= L)))) {
    throw new FstaError('BAD_STAGE', `the ${what} cannot leave out ${l.prefixTokens} prefix tokens (layout "${l.layout}", shape [${shape.join(', ')}])`, 'prefix tokens exist only in an "nlc" token sequence, and fewer than its length');
  }
  return l;
}

/** The shape of `channelsFirst` of a stage of shape `s`. */
function channelsFirstShape(s: Shape, l: Required<StageLayoutOption>): Shape {
  if (l.layout === 'nhwc') return [s[0]!, s[3]!, s[1]!, s[2]!];
  if (l.layout === 'nlc') return [s[0]!, s[2]!, typeof s[1] === 'number' && s[1] >= 0 ? s[1] - l.prefixTokens : '?'];
  return s;
}

/**
 * ASH or SCALE (core's ashScore / scaleScore) on the penultimate features, through the
 * tensors the model's own head reads: no weight is copied, and an int8-weight head is
 * dequantized by the model's own DequantizeLinear, as for its logits.
 */
function penultimateScore(ops: TensorOps<GraphTensor>, b: GraphBuilder, shapes: Map<string, Shape | undefined>, head: NonNullable<PatchOptions['head']>, which: 'ash' | 'scale', o: Pick<PatchOptions, 'ash' | 'scale' | 'temperature'>): GraphTensor {
  if (!head.weight) throw new FstaError('NO_LINEAR_HEAD', `classifier score "${which}" needs the weight of a linear head (the final Gemm), and none was given`, 'name the head in a manifest ("head": {penultimate, weight, bias}); a head that classifies with a convolution serves only msp, maxlogit and energy');
  const ps = shapes.get(head.penultimate);
  if (!ps || ps.length !== 2 || !(typeof ps[1] === 'number' && ps[1] > 0)) throw new FstaError('BAD_HEAD', `the penultimate tensor "${head.penultimate}" has shape [${(ps ?? ['?']).join(', ')}], not (N, D) with D known`, 'point the head at the pooled, flattened features the final Gemm reads, in a model exported with a static feature width');
  const ws = shapes.get(head.weight);
  if (!ws || ws.length !== 2 || ws.some((d) => !(typeof d === 'number' && d > 0))) throw new FstaError('BAD_HEAD', `the head weight "${head.weight}" has shape [${(ws ?? ['?']).join(', ')}], expected a static (classes, features)`, 'use the final nn.Linear layer (Gemm, transB = 1) as the head');
  const pen = b.tensor(head.penultimate, staticShape(ps));
  const tensors = { kind: 'tensors' as const, weight: b.tensor(head.weight, staticShape(ws)), bias: head.bias ? b.tensor(head.bias, staticShape(shapes.get(head.bias) ?? [ws[0]!])) : null };
  const temperature = o.temperature ?? 1;
  return which === 'ash'
    ? ashScore(ops, pen, tensors, { variant: o.ash?.variant ?? ASH_DEFAULTS.variant, percentile: o.ash?.percentile ?? ASH_DEFAULTS.percentile, temperature })
    : scaleScore(ops, pen, tensors, { percentile: o.scale?.percentile ?? SCALE_DEFAULT_PERCENTILE, temperature });
}

function fusedInGraph<T>(ops: TensorOps<T>, feature: T, cls: T, classifier: string, lambda?: number): T {
  const l = lambda ?? (PAPER_LAMBDA as Record<string, number>)[classifier];
  if (l === undefined) throw new FstaError('BAD_OPTION', `no λ given and the paper gives none for "${classifier}"`, 'pass lambda (calibrate it with lambdaFromSpread on ID data)');
  return fuseTensor(ops, feature, cls, l);
}

/** The smallest float32 ≥ x. */
function float32AtLeast(x: number): number {
  const f = Math.fround(x);
  if (f >= x) return f;
  if (f === 0) return 2 ** -149;
  const bits = new Int32Array(new Float32Array([f]).buffer);
  bits[0]! += f > 0 ? 1 : -1;
  return new Float32Array(bits.buffer)[0]!;
}

/**
 * score ≥ threshold on float32 scores, exactly as core's `verdictOf` decides on the same
 * float32 values: the constant is the smallest float32 ≥ threshold (the nearest float32 could
 * be below it and call a score just under the threshold ID). NaN gives false, as in verdictOf.
 * GreaterOrEqual is opset 12; GraphBuilder only emits for opset ≥ 13.
 */
export function verdictInGraph(b: GraphBuilder, score: string, threshold: number): string {
  return b.node('GreaterOrEqual', [score, b.floatConst([float32AtLeast(threshold)], [])])[0]!;
}

const valueInfo = (name: string, shape: Shape, elemType = ONNX_FLOAT): OnnxValueInfo => ({
  name,
  type: { tensorType: { elemType, shape: { dim: shape.map((d) => (typeof d === 'number' && d >= 0 ? { dimValue: d } : { dimParam: typeof d === 'string' && d !== '?' ? d : 'N' })) } } },
});

/**
 * Copies the nodes between the TA point and the FS stage, reading TA's output
 * instead of the stage tensor; tensors are renamed under 'fsta/ta/', initializers
 * and constants are shared (no weight is copied). Returns the copy of the FS tensor.
 */
function duplicateBranch(index: GraphIndex, between: readonly number[], ta: string, taOut: string, fs: string, added: OnnxNode[], prefix = 'fsta/ta/'): string {
  const rename = new Map<string, string>([[ta, taOut]]);
  for (const i of between) {
    const n = index.nodes[i]!;
    for (const out of n.output ?? []) if (out) rename.set(out, `${prefix}${out}`);
  }
  for (const i of between) {
    const n = index.nodes[i]!;
    // If/Loop bodies that read the region's tensors read the TA pass's copies.
    added.push(renameOuterReferences({ ...n, name: `${prefix}${n.name ?? i}`, input: (n.input ?? []).map((x) => rename.get(x) ?? x), output: (n.output ?? []).map((x) => (x ? rename.get(x)! : x)) }, rename));
  }
  return rename.get(fs)!;
}

/**
 * Runs the nodes between the TA point and the FS stage once on the batch [x, TA(x)]:
 * they are rewired in place to read Concat(stage, TA(stage)) and every tensor they
 * produce that the rest of the model reads is sliced back to its first N rows.
 * Returns [FS tensor of the original pass, FS tensor of the TA pass].
 */
function doubleBatch(index: GraphIndex, between: readonly number[], ta: string, taOut: string, fs: string, b: GraphBuilder, g: NonNullable<OnnxModel['graph']>): [string, string] {
  const inside = new Set(between);
  const constOnly = (t: string): boolean => {
    if (index.initializers.has(t) || t === '') return true;
    const p = index.producer.get(t);
    return p !== undefined && (index.nodes[p]!.input ?? []).every(constOnly);
  };
  for (const i of between) {
    for (const x of index.reads[i]!) {
      const p = index.producer.get(x);
      if (x === ta || (p !== undefined && inside.has(p)) || constOnly(x)) continue;
      throw new FstaError('NOT_SUPPORTED_IN_GRAPH', `double-batch mode cannot batch node "${index.nodes[i]!.name}": it also reads "${x}", which comes from before the TA point`, 'use mode: "branch" for this model');
    }
  }
  const [both] = b.node('Concat', [ta, taOut], [attr.int('axis', 0)]);
  const [shape] = b.node('Shape', [ta]);
  const [n] = b.node('Gather', [shape!, b.intConst([0], [1])], [attr.int('axis', 0)]);
  const [twoN] = b.node('Mul', [n!, b.intConst([2], [1])]);
  const zero = b.intConst([0], [1]);
  const axis0 = b.intConst([0], [1]);
  const secondHalf = (t: string) => b.node('Slice', [t, n!, twoN!, axis0])[0]!;
  const added = b.nodes.splice(0);

  const renamed = new Map<string, string>();
  for (const i of between) for (const out of index.nodes[i]!.output ?? []) if (out) renamed.set(out, `fsta/db/${out}`);
  const batched = new Map([[ta, both!], ...renamed]);
  for (const i of between) {
    const node = index.nodes[i]!;
    node.input = (node.input ?? []).map((x) => batched.get(x) ?? x);
    node.output = (node.output ?? []).map((x) => renamed.get(x) ?? x);
    if (node.attribute) node.attribute = renameOuterReferences(node, batched).attribute!;
  }
  // Every renamed tensor read outside the batched region (or a graph output) gets its first half back under its own name.
  const graphOutputs = new Set(index.graphOutputs);
  for (const [orig, db] of renamed) {
    const outsideReaders = (index.consumers.get(orig) ?? []).some((c) => !inside.has(c));
    if (outsideReaders || graphOutputs.has(orig) || orig === fs) b.nodes.push({ opType: 'Slice', input: [db, zero, n!, axis0], output: [orig], name: `fsta/db/first/${orig}` });
  }
  const taPass = secondHalf(renamed.get(fs)!);
  g.node!.push(...added, ...b.nodes.splice(0));
  return [fs, taPass];
}
