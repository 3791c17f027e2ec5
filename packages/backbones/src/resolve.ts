import { FstaError } from '@fsta/core';
import type { GraphNode, GraphView } from './graph.js';
import { initializerBehind, shapeOf } from './graph.js';
import type { BackboneManifest, StageDefaults, StageName } from './manifest.js';
import { STAGE_NAMES } from './manifest.js';
import { cifarResnetManifests } from './manifests/cifar-resnet.js';
import { densenet121 } from './manifests/densenet.js';
import { fasterrcnnResnet50Fpn, fcnResnet50 } from './manifests/detection.js';
import { mobilenetV2 } from './manifests/mobilenetv2.js';
import { resnetManifests } from './manifests/resnet.js';
import { describeSelector, select } from './select.js';
import { detectStages, pooledByHead } from './detect.js';
import type { ResolvedStage, StageMap } from './stages.js';
import type { UserManifest } from './user-manifest.js';
import { resolveUserManifest } from './user-manifest.js';
import type { Preprocess } from './manifest.js';
import { describeStage } from './stages.js';
import { indexGraph } from './graph.js';
import { assertPlausible, implausibility } from './plausibility.js';
import type { TaTarget } from './ta-sign.js';
import { signedTaWarning, taTarget } from './ta-sign.js';
import { nearest } from './nearest.js';

/** Every known manifest, most specific first (detectors and FCN embed a ResNet-50 trunk). */
export const manifests: readonly BackboneManifest[] = [fasterrcnnResnet50Fpn, fcnResnet50, ...resnetManifests, ...cifarResnetManifests, mobilenetV2, densenet121];

export const backboneNames = (): string[] => manifests.map((m) => m.name);

export function getManifest(name: string): BackboneManifest {
  const m = manifests.find((x) => x.name === name);
  if (!m) throw new FstaError('UNKNOWN_BACKBONE', `unknown backbone "${name}"`, `use one of ${backboneNames().join(', ')}, or "auto" for automatic stage detection`, { name, known: backboneNames() });
  return m;
}

/** Resolves a manifest's stage selectors to tensors of `graph`; names the selector that found nothing. */
export function resolveStages(graph: GraphView, manifest: BackboneManifest): StageMap {
  const out: Partial<Record<StageName, ResolvedStage>> = {};
  for (const stage of STAGE_NAMES) {
    const sel = manifest.stages[stage];
    if (!sel) continue;
    const r = select(graph, sel);
    if ('error' in r) {
      throw new FstaError('BACKBONE_MISMATCH', `backbone "${manifest.name}" does not fit this model: stage ${stage} (${describeSelector(sel)}) failed: ${r.error}`, `check that the model is a ${manifest.description}, or use --backbone auto`, { backbone: manifest.name, stage });
    }
    out[stage] = describeStage(graph, r.tensor, r.node.name);
  }
  return out;
}

/** A classifier head resolved to tensor and initializer names. */
export interface ResolvedHead {
  /** Input of the final Gemm: the pooled penultimate features (N, D). */
  readonly penultimate: string;
  /** Weight tensor as the Gemm reads it (the DequantizeLinear output in int8-weight graphs). */
  readonly weight: string;
  readonly bias: string | null;
  /** Initializers behind weight and bias (through DequantizeLinear), where they are plain initializers. */
  readonly weightInitializer: string | null;
  readonly biasInitializer: string | null;
  /** Weight shape [classes, D]. */
  readonly weightShape: readonly number[];
  /** The graph output holding the logits. */
  readonly logits: string;
}

/** The head a final Gemm (weight [classes, D], output a graph output) makes, or why it is not one. */
function headFromNode(graph: GraphView, node: GraphNode): ResolvedHead | string {
  const transB = node.attributes?.['transB'];
  if (node.opType === 'Gemm' && transB !== undefined && transB !== 1) return `"${node.name}" has transB = ${String(transB)}, expected 1 (weight [classes, D])`;
  const [penultimate, weight, bias] = node.inputs;
  if (!penultimate || !weight) return `"${node.name}" lacks an input or a weight`;
  const logits = node.outputs[0]!;
  if (!graph.outputs.includes(logits)) return `output "${logits}" of "${node.name}" is not a graph output`;
  return {
    penultimate,
    weight,
    bias: bias || null,
    weightInitializer: initializerBehind(graph, weight),
    biasInitializer: bias ? initializerBehind(graph, bias) : null,
    weightShape: shapeOf(graph, weight) ?? [],
    logits,
  };
}

export function resolveHead(graph: GraphView, manifest: BackboneManifest): ResolvedHead | null {
  if (!manifest.head) return null;
  const mismatch = (why: string) => new FstaError('BACKBONE_MISMATCH', `backbone "${manifest.name}" does not fit this model: classifier head (${describeSelector(manifest.head!.node)}) ${why}`, 'export the model with its classifier (nn.Linear) as the last layer, or use a backbone without a head', { backbone: manifest.name });
  const r = select(graph, manifest.head.node);
  if ('error' in r) throw mismatch(`failed: ${r.error}`);
  const head = headFromNode(graph, r.node);
  if (typeof head === 'string') throw mismatch(head);
  return head;
}

/**
 * For models no manifest matches: the classifier head is the one Gemm whose output is
 * a graph output and whose weight is an initializer (nn.Linear as the last layer).
 * None, or several, gives null: scores that need a head are then not offered.
 */
export function detectHead(graph: GraphView): ResolvedHead | null {
  const heads = graph.nodes
    .filter((n) => n.opType === 'Gemm' && graph.outputs.includes(n.outputs[0] ?? ''))
    .map((n) => headFromNode(graph, n))
    .filter((h): h is ResolvedHead => typeof h !== 'string' && h.weightInitializer !== null && h.weightShape.length === 2);
  if (heads.length === 1) return heads[0]!;
  return heads.length === 0 ? convHead(graph) : null;
}

/**
 * A head that classifies with a 1x1 convolution, then pools (SqueezeNet): its logits
 * serve msp/maxlogit/energy. It is not linear in pooled features, so `weightInitializer`
 * is null and the scores that need a linear head (ReAct, ASH, GradNorm…) are not offered.
 */
function convHead(graph: GraphView): ResolvedHead | null {
  const pooled = pooledByHead(graph);
  const conv = pooled?.convHead;
  if (!pooled || !conv) return null;
  const logits = graph.outputs.filter((o) => graph.shapes.get(o)?.length === 2);
  if (logits.length !== 1) return null;
  return { penultimate: pooled.tensor, weight: conv.inputs[1]!, bias: conv.inputs[2] || null, weightInitializer: null, biasInitializer: null, weightShape: shapeOf(graph, conv.inputs[1]!) ?? [], logits: logits[0]! };
}

/** What `findBackbone` found: a manifest's stages, or automatically detected ones. */
export interface BackboneResolution {
  /** The manifest that matched, or null when the stages were detected automatically. */
  readonly manifest: BackboneManifest | null;
  readonly stages: StageMap;
  readonly head: ResolvedHead | null;
  /** Manifest defaults, or for detected stages FS on the last stage and TA on the one before (k 0.5: calibrate). */
  readonly defaults: StageDefaults;
  /** The user's manifest, when the stages came from one (then `manifest` is null). */
  readonly userManifest: UserManifest | null;
  /** How the model wants its images, where a manifest says; null for detected stages. */
  readonly preprocess: Preprocess | null;
  /** Where the stages came from, for people: 'backbone resnet50', 'manifest F.json', 'detected automatically'. */
  readonly source: string;
  /** Where TA goes for the default TA stage (see `taTarget`); null without one. */
  readonly ta: TaTarget | null;
  /** What the user must know about these stages (TA on a signed tensor): print them. */
  readonly warnings: readonly string[];
  /** The graph the stages were resolved on (tensor names given as stages are checked against it). */
  readonly graph: GraphView;
}

const fromManifest = (graph: GraphView, manifest: BackboneManifest): BackboneResolution => withTa(graph, {
  manifest, stages: resolveStages(graph, manifest), head: resolveHead(graph, manifest), defaults: manifest.defaults,
  userManifest: null, preprocess: manifest.preprocess, source: `backbone ${manifest.name}`,
});

/** Detected stages get the paper's layout (FS last stage, TA the one before); k must be calibrated. */
const AUTO_DEFAULTS: StageDefaults = { fsStage: 'C5', taStage: 'C4', k: 0.5 };

/**
 * Stages (and head) of a model: by manifest `name`, or with 'auto' by the first manifest
 * whose structure matches, falling back to automatic detection for unknown CNNs.
 */
export function findBackbone(graph: GraphView, name: string | UserManifest = 'auto'): BackboneResolution {
  if (typeof name !== 'string') {
    const r = resolveUserManifest(graph, name);
    return withTa(graph, { manifest: null, ...r, userManifest: name, preprocess: name.preprocess, source: `manifest ${name.source}` });
  }
  if (name !== 'auto') {
    const manifest = getManifest(name);
    const m = manifest.match(graph);
    if (!m.ok) {
      throw new FstaError('BACKBONE_MISMATCH', `backbone "${manifest.name}" does not fit this model: ${m.reason}`, 'pick the backbone the model was built from, or use --backbone auto', { backbone: manifest.name, reason: m.reason });
    }
    return fromManifest(graph, manifest);
  }
  const manifest = manifests.find((m) => m.match(graph).ok);
  if (manifest) return fromManifest(graph, manifest);
  const stages = detectStages(graph);
  const names = STAGE_NAMES.filter((s) => stages[s]);
  const defaults: StageDefaults = names.length >= 2 ? AUTO_DEFAULTS : { fsStage: names.at(-1)!, taStage: null, k: AUTO_DEFAULTS.k };
  return withTa(graph, { manifest: null, stages, head: detectHead(graph), defaults, userManifest: null, preprocess: null, source: 'detected automatically' });
}

function withTa(graph: GraphView, r: Omit<BackboneResolution, 'ta' | 'warnings' | 'graph'>): BackboneResolution {
  const partial = { ...r, graph };
  const ta = r.defaults.taStage === null || !r.stages[r.defaults.taStage] ? null : taFor(partial, r.defaults.taStage);
  return { ...partial, ta, warnings: ta?.warning ? [ta.warning] : [] };
}

/**
 * Where TA goes when `stage` (C2…C5 or a tensor name) is the TA stage: for a named stage
 * whose tensor is signed, the nearest non-negative tensor of that stage (with a note), or
 * the stage tensor with a warning when there is none; a tensor name is taken as given
 * (with the warning when it is signed).
 */
export function taFor(resolution: Pick<BackboneResolution, 'stages' | 'manifest' | 'graph'>, stage: string): TaTarget {
  const resolved = requireStage(resolution, stage);
  const i = (STAGE_NAMES as readonly string[]).indexOf(stage);
  if (i < 0) return { stage, tensor: resolved.tensor, node: resolved.node, layout: resolved.layout, prefixTokens: resolved.prefixTokens, note: null, warning: resolved.nonNegative ? null : signedTaWarning(stage, resolved.tensor, false) };
  const previous = STAGE_NAMES.slice(0, i).reverse().map((s) => resolution.stages[s]).find((s) => s !== undefined) ?? null;
  return taTarget(resolution.graph, stage, resolved, previous);
}

/**
 * The resolved stage `stage`: a stage name (C2…C5), or the name of a tensor of the model
 * (produced by a node, a feature map (N, C, H, W) or tokens (N, C, L), not the input, a
 * preprocessing of it, channels-last or inside a head). Anything else is an error listing
 * the nearest valid names.
 */
export function requireStage(resolution: Pick<BackboneResolution, 'stages' | 'manifest'> & { graph?: GraphView; source?: string }, stage: string): ResolvedStage {
  const s = (resolution.stages as Record<string, ResolvedStage | undefined>)[stage];
  if (s) return s;
  const available = STAGE_NAMES.filter((n) => resolution.stages[n]);
  const graph = resolution.graph;
  const producer = graph ? indexGraph(graph).producer : null;
  if (graph && (producer!.has(stage) || graph.inputs.includes(stage) || graph.initializerNames.has(stage))) {
    assertPlausible(graph, stage, 'stage tensor');
    return describeStage(graph, stage, producer!.get(stage)!.name);
  }
  const where = resolution.source ?? (resolution.manifest ? `backbone ${resolution.manifest.name}` : 'detected automatically');
  if (/^C\d+$/.test(stage) || !graph) {
    throw new FstaError('UNKNOWN_STAGE', `stage "${stage}" does not exist in this model (${where})`, `use one of ${available.join(', ')}${graph ? ', or the name of a feature-map tensor' : ''}`, { stage, available });
  }
  const candidates = [...available, ...stageCandidates(graph)];
  const near = nearest(stage, candidates, 5);
  throw new FstaError('UNKNOWN_STAGE', `"${stage}" is neither a stage (${available.join(', ')}) nor a tensor of this model (${where})`, `use a stage name or a feature-map tensor name; nearest: ${near.map((n) => `"${n}"`).join(', ')}`, { stage, available, nearest: near });
}

/** Tensor names that could serve as stages: the plausible 4-D maps and (N, C, L) tokens the graph's nodes produce. */
export function stageCandidates(graph: GraphView): string[] {
  const out: string[] = [];
  for (const n of graph.nodes) {
    for (const o of n.outputs) {
      const r = graph.shapes.get(o)?.length;
      if (o !== '' && (r === 4 || r === 3)) out.push(o);
    }
  }
  return out.filter((t) => implausibility(graph, t) === null);
}
