import { FEATURE_LAYOUTS, FstaError, parseConfig, type FeatureLayout, type FstaConfig, type PreprocessSpec } from '@fsta/core';
import type { OnnxModel } from './types.js';

/**
 * The fsta release that writes the metadata. Kept equal to packages/onnx/package.json's
 * version by a test (this package imports no JSON, so that it bundles anywhere).
 */
export const FSTA_VERSION = '0.1.0';

/** Prefix of every metadata_props key fsta writes. */
const PREFIX = 'fsta.';

/** A stage as the patch used it: its name (C4, C5, …) and the tensor it is taken on. */
export interface PatchedStage {
  name: string;
  tensor: string;
  /** Set for a stage that is not channels first (a Swin map 'nhwc', ViT tokens 'nlc'), with the tokens FS left out. */
  layout?: { layout: FeatureLayout; prefixTokens: number };
}

/**
 * What a patched model records about its own patch, in ModelProto.metadata_props: enough for
 * any runtime to feed and read it (preprocessing, outputs, threshold) and for fsta to run it
 * again without a config (`createDetector` on the patched file).
 */
export interface PatchMetadata {
  /** The fsta release that patched the model. */
  version: string;
  /** The full config the patch was made with (threshold, target TPR and provenance included). */
  config: FstaConfig;
  fsStage: PatchedStage;
  taStage: PatchedStage | null;
  /** The classifier head's tensors and its final layer's initializers, where one was found. */
  head: { penultimate: string; logits: string; weight: string; bias: string | null } | null;
  /** The image input, and how images are made into it; null when fsta did not know (stages detected automatically). */
  input: string | null;
  preprocess: PreprocessSpec | null;
  /** Where the stages came from: 'backbone resnet50', 'manifest F.json', 'detected automatically'. */
  source: string;
  /** The outputs the patch added, in order. */
  outputs: string[];
}

/** The metadata_props entries for a patch: `fsta.config` etc. as JSON for programs, flat keys for people. */
export function metadataEntries(m: PatchMetadata): { key: string; value: string }[] {
  const c = m.config;
  const p = m.preprocess;
  const flat: [string, string | null][] = [
    ['version', m.version],
    ['config', JSON.stringify(c)],
    ['source', m.source],
    ['fs_stage', m.fsStage.name],
    ['fs_tensor', m.fsStage.tensor],
    ['ta_stage', m.taStage?.name ?? 'none'],
    ['ta_tensor', m.taStage?.tensor ?? 'none'],
    ...(m.fsStage.layout ? [['fs_layout', JSON.stringify(m.fsStage.layout)] as [string, string]] : []),
    ...(m.taStage?.layout ? [['ta_layout', JSON.stringify(m.taStage.layout)] as [string, string]] : []),
    ['k', String(c.k)],
    ['feature_score', c.featureScore],
    ['classifier', c.classifier ?? 'none'],
    ['lambda', String(c.lambda)],
    ['threshold', c.threshold === null ? 'none' : String(c.threshold)],
    ['target_tpr', c.targetTpr === null ? 'none' : String(c.targetTpr)],
    ['verdict', m.outputs.includes('fsta/verdict') ? 'fsta/verdict: bool [N], true = in-distribution (fsta/score >= threshold)' : 'none (the config has no threshold)'],
    ['outputs', m.outputs.join(',')],
    ['head', m.head ? JSON.stringify(m.head) : 'none'],
    ['input', m.input ?? 'unknown'],
    ['preprocess', p ? JSON.stringify(p) : 'unknown'],
    ['provenance', JSON.stringify(c.provenance ?? {})],
  ];
  return flat.map(([k, v]) => ({ key: PREFIX + k, value: v ?? '' }));
}

/** Sets the patch's metadata on `model` (in place), replacing any fsta.* entry and keeping the others. */
export function setPatchMetadata(model: OnnxModel, m: PatchMetadata): void {
  const others = (model.metadataProps ?? []).filter((e) => !(e.key ?? '').startsWith(PREFIX));
  model.metadataProps = [...others, ...metadataEntries(m)];
}

const bad = (why: string) => new FstaError('BAD_METADATA', `the model's fsta metadata ${why}`, 'patch the original model again with `fsta patch` (the metadata was edited or written by another tool)');

function json(props: Map<string, string>, key: string): unknown {
  const text = props.get(PREFIX + key);
  if (text === undefined) throw bad(`has no "${PREFIX}${key}"`);
  try {
    return JSON.parse(text);
  } catch {
    throw bad(`"${PREFIX}${key}" is not JSON`);
  }
}

const isStage = (v: unknown): v is PatchedStage => typeof v === 'object' && v !== null && typeof (v as PatchedStage).name === 'string' && typeof (v as PatchedStage).tensor === 'string';

/** The patch's metadata, or null when the model carries none (not patched by fsta, or patched before fsta wrote metadata). */
export function readPatchMetadata(model: OnnxModel): PatchMetadata | null {
  const props = new Map<string, string>();
  for (const e of model.metadataProps ?? []) if (e.key?.startsWith(PREFIX)) props.set(e.key, e.value ?? '');
  if (props.size === 0) return null;
  const version = props.get(`${PREFIX}version`);
  if (version === undefined) throw bad(`has no "${PREFIX}version"`);
  let config: FstaConfig;
  try {
    config = parseConfig(json(props, 'config'));
  } catch (e) {
    throw e instanceof FstaError && e.code === 'BAD_CONFIG' ? bad(`"${PREFIX}config" is not a valid config (${e.message})`) : e;
  }
  const fsTensor = props.get(`${PREFIX}fs_tensor`);
  const taTensor = props.get(`${PREFIX}ta_tensor`);
  const layout = (key: string): PatchedStage['layout'] | undefined => {
    if (!props.has(PREFIX + key)) return undefined;
    const l = json(props, key) as PatchedStage['layout'];
    if (typeof l !== 'object' || l === null || !FEATURE_LAYOUTS.includes(l.layout) || !Number.isInteger(l.prefixTokens) || l.prefixTokens < 0) throw bad(`"${PREFIX}${key}" is not {layout, prefixTokens}`);
    return { layout: l.layout, prefixTokens: l.prefixTokens };
  };
  const [fsLayout, taLayout] = [layout('fs_layout'), layout('ta_layout')];
  const fsStage: PatchedStage = { name: config.fsStage, tensor: fsTensor ?? '', ...(fsLayout ? { layout: fsLayout } : {}) };
  const taStage: PatchedStage | null = config.taStage === null ? null : { name: config.taStage, tensor: taTensor ?? '', ...(taLayout ? { layout: taLayout } : {}) };
  if (!isStage(fsStage) || !fsStage.tensor || (taStage && !taStage.tensor)) throw bad('does not name the stage tensors');
  const head = props.get(`${PREFIX}head`) === 'none' ? null : (json(props, 'head') as PatchMetadata['head']);
  if (head !== null && (typeof head !== 'object' || typeof head.penultimate !== 'string' || typeof head.logits !== 'string' || typeof head.weight !== 'string')) throw bad(`"${PREFIX}head" is not {penultimate, logits, weight, bias}`);
  const preprocess = props.get(`${PREFIX}preprocess`) === 'unknown' ? null : (json(props, 'preprocess') as PreprocessSpec);
  if (preprocess !== null && (typeof preprocess !== 'object' || !Array.isArray(preprocess.size))) throw bad(`"${PREFIX}preprocess" is not a preprocessing spec`);
  const input = props.get(`${PREFIX}input`);
  return {
    version,
    config,
    fsStage,
    taStage,
    head,
    input: input === undefined || input === 'unknown' ? null : input,
    preprocess,
    source: props.get(`${PREFIX}source`) ?? 'unknown',
    outputs: (props.get(`${PREFIX}outputs`) ?? '').split(',').filter(Boolean),
  };
}

/** Lines for people (`fsta inspect`): every fsta.* entry, JSON values as written. */
export function describePatchMetadata(model: OnnxModel): string[] {
  return (model.metadataProps ?? []).filter((e) => e.key?.startsWith(PREFIX)).map((e) => `${e.key}: ${e.value ?? ''}`);
}
