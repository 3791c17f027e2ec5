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
import { detectStages } from './detect.js';
import type { ResolvedStage, StageMap } from './stages.js';
import type { UserManifest } from './user-manifest.js';
import { resolveUserManifest } from './user-manifest.js';
import type { Preprocess } from './manifest.js';
import { describeStage } from './stages.js';

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
  return heads.length === 1 ? heads[0]! : null;
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
}

const fromManifest = (graph: GraphView, manifest: BackboneManifest): BackboneResolution => ({
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
    return { manifest: null, ...r, userManifest: name, preprocess: name.preprocess, source: `manifest ${name.source}` };
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
  return { manifest: null, stages, head: detectHead(graph), defaults, userManifest: null, preprocess: null, source: 'detected automatically' };
}

/** The resolved stage `stage`, or an error listing the stages this model has. */
export function requireStage(resolution: Pick<BackboneResolution, 'stages' | 'source'>, stage: string): ResolvedStage {
  const s = (resolution.stages as Record<string, ResolvedStage | undefined>)[stage];
  if (s) return s;
  const available = STAGE_NAMES.filter((n) => resolution.stages[n]);
  throw new FstaError('UNKNOWN_STAGE', `stage "${stage}" does not exist in this model (${resolution.source})`, `use one of ${available.join(', ')}`, { stage, available });
}
