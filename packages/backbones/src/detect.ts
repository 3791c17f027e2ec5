import { FstaError } from '@fsta/core';
import type { GraphNode, GraphView } from './graph.js';
import { ancestors, indexGraph, isConv, isNonNegative, isUnder, modulePath } from './graph.js';
import { latestNonNegativeInStage } from './ta-sign.js';
import type { StageName } from './manifest.js';
import { STAGE_NAMES } from './manifest.js';
import { backboneRoot, implausibility, STAGE_FIX } from './plausibility.js';
import type { StageMap } from './stages.js';
import { describeStage, imageInput, strideOfTensor } from './stages.js';
import { resolutionKey, structuralStrides } from './strides.js';
import { tokenTrunk } from './tokens.js';

/** Ops whose outputs describe a tensor's shape, not its values: data does not flow through them. */
const SHAPE_OPS = new Set(['Shape', 'Size']);

interface Dominators {
  readonly reach: ReadonlySet<string>;
  readonly idom: ReadonlyMap<string, string>;
}

/**
 * Immediate dominators of every tensor reachable from the image input: the tensor every
 * data path from the input to it passes through last. The chain of dominators of C5 is
 * the main trunk; side branches (a ResNet block's residual convs, DenseNet's per-layer
 * features, an FPN) are not on it, stage outputs are.
 */
function dominators(graph: GraphView, input: string): Dominators {
  const reach = new Set<string>([input]);
  const idom = new Map<string, string>();
  const depth = new Map<string, number>([[input, 0]]);
  const lca = (a: string, b: string): string => {
    while (a !== b) {
      if (depth.get(a)! >= depth.get(b)!) a = idom.get(a)!;
      else b = idom.get(b)!;
    }
    return a;
  };
  for (const node of graph.nodes) {
    if (SHAPE_OPS.has(node.opType)) continue;
    const preds = node.inputs.filter((i) => reach.has(i));
    if (preds.length === 0) continue;
    const dom = preds.reduce(lca);
    for (const o of node.outputs) {
      if (o === '') continue;
      reach.add(o);
      idom.set(o, dom);
      depth.set(o, depth.get(dom)! + 1);
    }
  }
  return { reach, idom };
}

const isMap = (s: readonly number[] | undefined): s is readonly number[] => s?.length === 4 && s[1]! > 0 && s[2]! > 0 && s[3]! > 0;
/** A 4-D map with more than one position: FS is identically 0 on a 1x1 map. */
const isSpatialMap = (graph: GraphView, t: string) => {
  const s = graph.shapes.get(t);
  return isMap(s) && s[2]! * s[3]! > 1;
};
/** Ops that make feature maps in a CNN backbone. */
const FEATURE_OPS = new Set(['Relu', 'Clip', 'HardSwish', 'LeakyRelu', 'Add', 'Concat', 'Conv', 'BatchNormalization', 'MaxPool', 'Mul']);
/**
 * A map whose static shape is unknown (after a detector's data-dependent resize) but whose
 * structural stride is: a feature op fed from the image, at a stride above 1.
 */
const isUnshapedMap = (graph: GraphView, input: string, t: string) => {
  const s = graph.shapes.get(t);
  if (s && s.length === 4 && s[2]! > 0 && s[3]! > 0) return false;
  if (s && s.length !== 4) return false;
  const op = indexGraph(graph).producer.get(t)?.opType;
  const st = structuralStrides(graph, input).get(t);
  return op !== undefined && FEATURE_OPS.has(op) && st !== undefined && st > 1;
};

/** Ops a classifier's head pools with; their input is the map it pools. */
function pooledInput(graph: GraphView, n: GraphNode): string | null {
  const x = n.inputs[0];
  if (!x || !isSpatialMap(graph, x)) return null;
  if (['GlobalAveragePool', 'GlobalMaxPool', 'AveragePool', 'Flatten'].includes(n.opType)) return x;
  if (n.opType === 'ReduceMean' || n.opType === 'ReduceMax') {
    const axes = n.attributes?.['axes'];
    const ax = Array.isArray(axes) ? axes.map((a) => (a < 0 ? a + 4 : a)) : [];
    return ax.includes(2) && ax.includes(3) ? x : null;
  }
  if (n.opType === 'Reshape') {
    const out = graph.shapes.get(n.outputs[0] ?? '');
    return out?.length === 2 ? x : null;
  }
  return null;
}

/**
 * A classifier's C5: the map its head pools. From each 2-D graph output (the logits), back
 * through the head's non-convolutional ops (Gemm, Flatten, activations, LayerNorm) to the
 * nearest global pooling (or Flatten of a map); its input is C5. A head that classifies
 * with a 1x1 convolution before pooling (SqueezeNet) has C5 = that convolution's input.
 * Returns null when no output is computed that way.
 */
export function pooledByHead(graph: GraphView): { tensor: string; convHead: GraphNode | null } | null {
  const { producer } = indexGraph(graph);
  for (const out of graph.outputs) {
    const os = graph.shapes.get(out);
    if (os?.length !== 2) continue;
    const seen = new Set<string>();
    let frontier = [out];
    for (let hops = 0; hops < 40 && frontier.length > 0; hops++) {
      const next: string[] = [];
      for (const t of frontier) {
        const n = producer.get(t);
        if (!n || seen.has(n.name) || isConv(n.opType)) continue;
        seen.add(n.name);
        const x = pooledInput(graph, n);
        if (x !== null) {
          const conv = convClassifier(graph, x, os[1]!);
          return conv ? { tensor: conv.inputs[0]!, convHead: conv } : { tensor: x, convHead: null };
        }
        for (const i of n.inputs) if (i !== '' && !graph.initializerNames.has(i) && !graph.constants?.has(i)) next.push(i);
      }
      frontier = next;
    }
  }
  return null;
}

/** The 1x1 Conv with `classes` filters that makes `pooled` (through an activation), as SqueezeNet's classifier does. */
function convClassifier(graph: GraphView, pooled: string, classes: number): GraphNode | null {
  const { producer } = indexGraph(graph);
  let n = producer.get(pooled);
  if (n && ['Relu', 'Clip', 'Identity', 'Dropout'].includes(n.opType)) n = producer.get(n.inputs[0] ?? '');
  if (!n || !isConv(n.opType)) return null;
  const w = graph.shapes.get(n.inputs[1] ?? '');
  return w?.length === 4 && w[0] === classes && w[2] === 1 && w[3] === 1 ? n : null;
}

/** The last spatial map produced under module `root` that is reachable from the input. */
function lastMapUnder(graph: GraphView, input: string, root: string, reach: ReadonlySet<string>): string | null {
  let found: string | null = null;
  for (const n of graph.nodes) {
    if (!isUnder(n.name, root)) continue;
    for (const o of n.outputs) if (reach.has(o) && (isSpatialMap(graph, o) || isUnshapedMap(graph, input, o))) found = o;
  }
  return found;
}

/**
 * torchvision SSDs keep their trunk under /backbone/features/ and the extra blocks after it
 * under /backbone/extra.N/ (SSD300-VGG16: extra.0 finishes VGG with conv5 and fc6/fc7 at stride 16)
 * or /backbone/extra/extra.N/ (SSDlite: the blocks past MobileNetV3's stride 32). C5 is the later of the trunk's
 * and the first extra block's last map, when at stride ≤ 32.
 */
function ssdC5(graph: GraphView, input: string, reach: ReadonlySet<string>): string | null {
  // The trunk's modules: /backbone/features/ (SSD-VGG) or /backbone/features.0/, /backbone/features.1/ (SSDlite).
  const trunk = [...new Set(graph.nodes.map((n) => modulePath(n.name)).filter((p) => p[0] === 'backbone' && /^features(\.\d+)?$/.test(p[1] ?? '')).map((p) => `backbone/${p[1]}`))];
  const extra0 = ['backbone/extra.0', 'backbone/extra/extra.0'].find((p) => graph.nodes.some((n) => isUnder(n.name, p)));
  if (trunk.length === 0 || extra0 === undefined) return null;
  const strides = structuralStrides(graph, input);
  const cands = [lastMapUnder(graph, input, trunk.at(-1)!, reach), lastMapUnder(graph, input, extra0, reach)].filter((t): t is string => t !== null && (strides.get(t) ?? Infinity) <= 32);
  return cands.at(-1) ?? null;
}

/** Fallback for models with neither a known backbone module nor a pooling head: the map with most channels, then smallest, then latest. */
function deepestMap(graph: GraphView, reach: ReadonlySet<string>): string | null {
  let end: string | null = null;
  let best = [-1, 0];
  for (const node of graph.nodes) {
    for (const o of node.outputs) {
      const s = graph.shapes.get(o);
      if (!reach.has(o) || !isSpatialMap(graph, o) || implausibility(graph, o) !== null) continue;
      const key = [s![1]!, -(s![2]! * s![3]!)];
      if (key[0]! > best[0]! || (key[0] === best[0] && key[1]! >= best[1]!)) {
        best = key;
        end = o;
      }
    }
  }
  return end;
}

const UPSAMPLERS = new Set(['Resize', 'Upsample', 'ConvTranspose']);
/** Ops that merge a block's branches: a residual Add, a dense or CSP Concat. */
const MERGES = new Set(['Add', 'Sum', 'Concat']);
const ACTIVATIONS = new Set(['Relu', 'Clip', 'LeakyRelu', 'HardSwish', 'PRelu', 'Elu', 'Selu']);

/**
 * C5 of a detector or segmenter whose neck upsamples (FPN, PAN, CenterNet's up-sampling
 * head) and whose modules are not named: the backbone's last block merge before the neck.
 * From the upsampling of the deepest map, back along its dominator chain to the last
 * residual or dense merge (an Add or Concat one of whose operands is the block's own
 * input) at that resolution, then through the activation applied to it (ResNet's ReLU
 * after the Add). What follows it up to the upsampling are the neck's own convolutions
 * (a lateral 1x1, CenterNet's extra conv), which no merge with a shortcut ends.
 * Returns null without an upsampling; throws when the deepest resolution has no such merge.
 */
function neckC5(graph: GraphView, input: string, reach: ReadonlySet<string>, idom: ReadonlyMap<string, string>): { tensor: string; rule: string } | null {
  const strides = structuralStrides(graph, input);
  let up: { node: GraphNode; from: string; stride: number } | null = null;
  for (const n of graph.nodes) {
    if (!UPSAMPLERS.has(n.opType)) continue;
    const from = n.inputs[0];
    const s = from === undefined ? undefined : strides.get(from);
    if (from === undefined || !reach.has(from) || s === undefined || !isMap(graph.shapes.get(from))) continue;
    if (up === null || s > up.stride) up = { node: n, from, stride: s };
  }
  if (up === null) return null;
  const { producer, consumers } = indexGraph(graph);
  const key = (t: string) => resolutionKey(graph, input, t);
  const deepest = key(up.from);
  const isConst = (t: string) => graph.initializerNames.has(t) || graph.constants?.has(t) === true;
  for (let t: string | undefined = up.from; t !== undefined && t !== input && key(t) === deepest; t = idom.get(t)) {
    const n = producer.get(t);
    if (!n || !MERGES.has(n.opType)) continue;
    const data = n.inputs.filter((i) => i !== '' && !isConst(i) && reach.has(i));
    if (data.length < 2 || !data.includes(idom.get(t) ?? '')) continue;
    let c5 = t;
    const next = consumers.get(c5) ?? [];
    if (next.length === 1 && ACTIVATIONS.has(next[0]!.opType) && next[0]!.inputs[0] === c5) c5 = next[0]!.outputs[0]!;
    return { tensor: c5, rule: `the backbone's last block merge (${n.opType} with a shortcut) before the neck's first upsampling at stride ${up.stride} (${up.node.name})` };
  }
  throw new FstaError('AMBIGUOUS_STAGE', `automatic stage detection cannot tell where the backbone ends: the model upsamples its deepest map (node ${up.node.name}, stride ${up.stride}) like a detector's neck, but no residual or dense block merge lies at that resolution on the way to it`, STAGE_FIX, { upsample: up.node.name });
}

/** Where C5 is and by which rule, for the error messages and `inspect`. */
function findC5(graph: GraphView, input: string, reach: ReadonlySet<string>, idom: ReadonlyMap<string, string>): { tensor: string; rule: string } | null {
  const ssd = ssdC5(graph, input, reach);
  if (ssd !== null) return { tensor: ssd, rule: 'the last map of the SSD backbone at stride ≤ 32 (VGG\'s fc7, or MobileNet\'s last features)' };
  const root = backboneRoot(graph);
  if (root !== null) {
    const t = lastMapUnder(graph, input, root, reach);
    return t === null ? null : { tensor: t, rule: `the last map of the backbone (/${root}/)` };
  }
  const pooled = pooledByHead(graph);
  if (pooled !== null && reach.has(pooled.tensor)) {
    return { tensor: pooled.tensor, rule: pooled.convHead ? `the input of the 1x1 conv classifier ${pooled.convHead.name}` : 'the map the classifier head pools' };
  }
  const neck = neckC5(graph, input, reach, idom);
  if (neck !== null) return neck;
  const t = deepestMap(graph, reach);
  return t === null ? null : { tensor: t, rule: 'the map with the most channels (no pooling head, known backbone or upsampling neck found)' };
}

/**
 * Automatic stage detection for a CNN without a manifest. C5 is, for a torchvision
 * detector or segmenter, the last map of its backbone; for a classifier, the map its head
 * pools; otherwise the map with the most channels. C2…C4 are, along the main trunk to C5,
 * the last tensor at each earlier resolution, preferring the last non-negative
 * (activation) tensor of that resolution so that TA lands on activations. Tensors that
 * are only a preprocessing of the input, channels-last or inside a head are skipped; a C5
 * that is one of those, or at the input's resolution, is refused. When C5 is at a stride
 * below 32 (a dilated network such as FCN), the trunk at that resolution is split where
 * the channel count changes, so dilated stages keep their own names (C3, C4, C5 at stride 8).
 */
export function detectStages(graph: GraphView): StageMap {
  const input = imageInput(graph);
  if (input === null) throw noStages('it has no image input of rank 3 or 4');
  const inShape = graph.shapes.get(input)!;
  if (!(inShape.at(-2)! > 0 && inShape.at(-1)! > 0)) {
    throw new FstaError('SHAPE_UNKNOWN', `the image input "${input}" has no static height and width ([${inShape.join(', ')}])`, 'fix the input size when inferring shapes (e.g. 224x224), or pass --backbone NAME for a known family');
  }
  if (!graph.nodes.some((n) => isConv(n.opType))) throw noStages('it has no Conv node');
  const { producer } = indexGraph(graph);
  // A vision transformer: the stages are block outputs of its token trunk, in their own layout.
  const trunk = tokenTrunk(graph);
  if (trunk) {
    const c5 = trunk.stages.C5!;
    const why = implausibility(graph, c5.tensor, true);
    if (why !== null) throw new FstaError('IMPLAUSIBLE_STAGE', `automatic stage detection found no plausible C5: ${trunk.rule}, last block "${c5.tensor}" (node ${c5.node}), ${why}`, STAGE_FIX, { tensor: c5.tensor });
    return Object.fromEntries(STAGE_NAMES.filter((s) => trunk.stages[s]).map((s) => [s, describeStage(graph, trunk.stages[s]!.tensor, trunk.stages[s]!.node)]));
  }
  const { reach, idom } = dominators(graph, input);
  const c5 = findC5(graph, input, reach, idom);
  if (c5 === null) throw noStages('no 4-D feature map with a static size lies on a path from the input');
  const why = implausibility(graph, c5.tensor, true);
  if (why !== null) {
    throw new FstaError('IMPLAUSIBLE_STAGE', `automatic stage detection found no plausible C5: ${c5.rule}, "${c5.tensor}" (node ${producer.get(c5.tensor)?.name ?? '?'}), ${why}`, STAGE_FIX, { tensor: c5.tensor });
  }

  const chain: string[] = [];
  for (let t: string | undefined = c5.tensor; t !== undefined && t !== input; t = idom.get(t)) chain.push(t);
  const key = (t: string) => resolutionKey(graph, input, t);
  const path = chain.reverse().filter((t) => t === c5.tensor || ((isMap(graph.shapes.get(t)) || isUnshapedMap(graph, input, t)) && key(t) !== null && implausibility(graph, t) === null));

  // Runs of equal resolution along the trunk.
  const groups: string[][] = [];
  for (const t of path) {
    const last = groups.at(-1);
    if (last && key(last[0]!) === key(t)) last.push(t);
    else groups.push([t]);
  }
  // A stage ends with the last tensor of its resolution; where that is signed (a linear
  // block output, a transition conv), the stage's last activation stands for it, so that TA
  // lands on a non-negative tensor.
  const picks: string[] = [];
  const pick = (run: string[]): string => {
    const last = run.at(-1)!;
    const t = isNonNegative(graph, last) ? last : (latestNonNegativeInStage(graph, last, picks.at(-1) ?? null)?.tensor ?? last);
    picks.push(t);
    return t;
  };
  groups.slice(0, -1).forEach(pick);
  const deepest = groups.at(-1)!;
  const c5Stride = strideOfTensor(graph, c5.tensor);
  if (c5Stride !== null && c5Stride < 32 && dilatedBefore(graph, c5.tensor, key)) {
    // Runs of equal channel count that hold residual blocks (an Add: a run without one is
    // a block's expansion, MobileNetV3's 672 channels). Each dilation rate used before C5
    // replaced one downsampling, so the last that many runs are stages of their own (FCN:
    // rates 2 and 4, layer3 and layer4); the runs before them are one undilated stage
    // (DeepLabV3-MobileNetV3: 80 and 112 channels at stride 16, then the 160-channel blocks at rate 2).
    const runs: string[][] = [];
    for (const t of deepest) {
      const c = graph.shapes.get(t)?.[1];
      const last = runs.at(-1);
      if (last && graph.shapes.get(last[0]!)?.[1] === c) last.push(t);
      else runs.push([t]);
    }
    const staged = runs.slice(0, -1).filter((run) => run.some((t) => producer.get(t)?.opType === 'Add'));
    const rates = dilationRates(graph, c5.tensor, key);
    const own = staged.slice(Math.max(0, staged.length - rates));
    const undilated = staged.slice(0, staged.length - own.length).flat();
    if (undilated.length > 0) pick(undilated);
    own.forEach(pick);
  }
  picks.push(c5.tensor);

  const stages: Partial<Record<StageName, ReturnType<typeof describeStage>>> = {};
  const named = picks.slice(-STAGE_NAMES.length);
  const names = STAGE_NAMES.slice(STAGE_NAMES.length - named.length);
  named.forEach((t, i) => (stages[names[i]!] = describeStage(graph, t, producer.get(t)!.name)));
  return stages;
}

/** Whether a dilated convolution at C5's resolution makes C5 (FCN, DeepLab): only then do stages share a stride. */
const dilatedBefore = (graph: GraphView, c5: string, key: (t: string) => string | null): boolean => dilationRates(graph, c5, key) > 0;

/** How many distinct dilation rates the convolutions before C5, at its resolution, use. */
function dilationRates(graph: GraphView, c5: string, key: (t: string) => string | null): number {
  const { producer } = indexGraph(graph);
  const want = key(c5);
  const rates = new Set<number>();
  for (const t of ancestors(graph, c5)) {
    const n = producer.get(t);
    const d = n?.attributes?.['dilations'];
    if (n && isConv(n.opType) && Array.isArray(d) && d.some((x) => x > 1) && key(t) === want) rates.add(Math.max(...d));
  }
  return rates.size;
}

const noStages = (why: string) =>
  new FstaError('NO_CONV_STAGES', `the model has no convolutional stages: ${why}`, 'fsta scores CNN feature maps: pass a convolutional model (NCHW image input, Conv layers), or a known backbone with --backbone NAME');
