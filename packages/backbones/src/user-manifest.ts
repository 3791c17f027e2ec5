import { FEATURE_LAYOUTS, FstaError, type FeatureLayout } from '@fsta/core';
import type { GraphView } from './graph.js';
import { indexGraph, initializerBehind, isChannelsLast, isPermutedTokens, shapeOf } from './graph.js';
import { knownTokenLayout } from './tokens.js';
import type { Preprocess, StageDefaults, StageName } from './manifest.js';
import { STAGE_NAMES } from './manifest.js';
import type { ResolvedStage, StageMap } from './stages.js';
import { describeStage } from './stages.js';

/**
 * A manifest a user writes (or `fsta inspect --write-manifest` writes) for one model:
 * stages and head by tensor name, and how the model wants its images. The format of
 * apps/cli/assets/demo/demo.json; the CLI's --manifest and createDetector's `manifest`
 * take it unchanged.
 */
export interface UserManifest {
  readonly name: string;
  /** Where it came from, for messages: a file path or 'manifest object'. */
  readonly source: string;
  readonly input?: string;
  readonly output?: string;
  readonly preprocess: Preprocess;
  /** Stage name → tensor name. */
  readonly stages: Readonly<Partial<Record<StageName, string>>>;
  /**
   * Stage name → layout, where the manifest says ("layout": "nhwc" | "nlc" …, "prefixTokens"
   * for the class tokens of an "nlc" sequence). Without it a stage is channels first, unless a
   * known token trunk (ViT, Swin) says otherwise; a channels-last tensor of unknown layout is refused.
   */
  readonly layouts?: Readonly<Partial<Record<StageName, { readonly layout: FeatureLayout; readonly prefixTokens: number }>>>;
  readonly head: { readonly penultimate: string; readonly weight: string; readonly bias: string | null } | null;
  readonly defaults?: Partial<StageDefaults>;
  readonly classes?: readonly string[];
}

const FORMAT = 'write it like apps/cli/assets/demo/demo.json: {"preprocess": {size, crop, mean, std}, "stages": {"C4": {"tensor": …}, "C5": {"tensor": …}}, "head": {penultimate, weight, bias}}';

const bad = (source: string, why: string) => new FstaError('BAD_MANIFEST', `manifest ${source} ${why}`, FORMAT, { source });

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function numbers(v: unknown, n: number, source: string, field: string, check: (x: number) => boolean, what: string): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && check(x))) {
    throw bad(source, `has preprocess.${field} ${JSON.stringify(v)?.slice(0, 80) ?? String(v)}; expected ${n} ${what}`);
  }
  return v as number[];
}

/** The largest network input side a manifest may ask for: a guard against a typo costing gigabytes before the first image. */
export const MAX_INPUT_SIDE = 4096;

function parsePreprocess(v: unknown, source: string): Preprocess {
  if (!isObject(v)) throw bad(source, 'has no "preprocess" object');
  const side = (x: number) => Number.isInteger(x) && x >= 1 && x <= MAX_INPUT_SIDE;
  const size = numbers(v.size, 2, source, 'size', side, `integers in [1, ${MAX_INPUT_SIDE}] ([height, width])`);
  const crop = v.crop ?? (v.resizeShorter !== undefined ? 'center' : 'none');
  if (crop !== 'center' && crop !== 'none') throw bad(source, `has preprocess.crop ${JSON.stringify(crop)}; expected "center" or "none"`);
  let resizeShorter: number | undefined;
  if (v.resizeShorter !== undefined) {
    if (typeof v.resizeShorter !== 'number' || !side(v.resizeShorter)) throw bad(source, `has preprocess.resizeShorter ${JSON.stringify(v.resizeShorter)}; expected an integer in [1, ${MAX_INPUT_SIDE}]`);
    if (crop === 'none') throw bad(source, 'has preprocess.resizeShorter with crop "none"; the result would not have the network size');
    resizeShorter = v.resizeShorter;
  }
  const mean = numbers(v.mean, 3, source, 'mean', () => true, 'finite numbers (one per RGB channel)');
  const std = numbers(v.std, 3, source, 'std', (x) => x > 0, 'positive numbers (one per RGB channel)');
  if (v.layout !== undefined && v.layout !== 'NCHW') throw bad(source, `has preprocess.layout ${JSON.stringify(v.layout)}; only "NCHW" is supported`);
  if (v.range !== undefined && !(Array.isArray(v.range) && v.range[0] === 0 && v.range[1] === 1)) throw bad(source, `has preprocess.range ${JSON.stringify(v.range)}; only [0, 1] is supported`);
  return {
    size: [size[0]!, size[1]!], ...(resizeShorter !== undefined ? { resizeShorter } : {}), crop,
    mean: [mean[0]!, mean[1]!, mean[2]!], std: [std[0]!, std[1]!, std[2]!], layout: 'NCHW', range: [0, 1],
  };
}

/** Checks a parsed manifest JSON (object or text) and returns it typed; every problem is one BAD_MANIFEST naming the field. */
export function parseUserManifest(json: unknown, source = 'manifest object'): UserManifest {
  let m = json;
  if (typeof m === 'string') {
    try { m = JSON.parse(m); } catch (e) { throw bad(source, `is not valid JSON (${(e as Error).message})`); }
  }
  if (!isObject(m)) throw bad(source, `is ${Array.isArray(m) ? 'a JSON array' : `JSON ${typeof m}`}, not a manifest object`);
  if (isObject(m.settings) && isObject(m.results)) throw bad(source, 'is an fsta eval results file, not a manifest');
  if (typeof m.threshold !== 'undefined' && typeof m.fsStage === 'string') throw bad(source, 'is an fsta config (from fsta calibrate), not a manifest; pass it with --config');
  if (!isObject(m.stages)) throw bad(source, 'has no "stages" object');
  const stages: Partial<Record<StageName, string>> = {};
  const layouts: Partial<Record<StageName, { layout: FeatureLayout; prefixTokens: number }>> = {};
  for (const [name, v] of Object.entries(m.stages)) {
    if (!(STAGE_NAMES as readonly string[]).includes(name)) throw bad(source, `has a stage "${name}"; stage names are ${STAGE_NAMES.join(', ')}`);
    const tensor = typeof v === 'string' ? v : isObject(v) ? v.tensor : undefined;
    if (typeof tensor !== 'string' || tensor === '') throw bad(source, `has stage "${name}" without a tensor name`);
    stages[name as StageName] = tensor;
    if (isObject(v) && (v.layout !== undefined || v.prefixTokens !== undefined)) {
      const layout = v.layout ?? 'nlc';
      if (!FEATURE_LAYOUTS.includes(layout as FeatureLayout)) throw bad(source, `has stage "${name}" with layout ${JSON.stringify(layout)}; expected one of ${FEATURE_LAYOUTS.join(', ')}`);
      const prefixTokens = v.prefixTokens ?? 0;
      if (typeof prefixTokens !== 'number' || !Number.isInteger(prefixTokens) || prefixTokens < 0 || (prefixTokens > 0 && layout !== 'nlc')) throw bad(source, `has stage "${name}" with prefixTokens ${JSON.stringify(prefixTokens)}; expected a whole number ≥ 0, above 0 only with layout "nlc"`);
      layouts[name as StageName] = { layout: layout as FeatureLayout, prefixTokens };
    }
  }
  if (Object.keys(stages).length === 0) throw bad(source, 'has an empty "stages" object; name at least the FS stage (C5)');
  let head: UserManifest['head'] = null;
  if (m.head !== undefined && m.head !== null) {
    const h = m.head;
    if (!isObject(h) || typeof h.penultimate !== 'string' || typeof h.weight !== 'string') throw bad(source, 'has a "head" without penultimate and weight tensor names');
    if (h.bias !== undefined && h.bias !== null && typeof h.bias !== 'string') throw bad(source, 'has a head bias that is not a tensor name');
    head = { penultimate: h.penultimate, weight: h.weight, bias: typeof h.bias === 'string' ? h.bias : null };
  }
  const out: { -readonly [K in keyof UserManifest]: UserManifest[K] } = {
    name: typeof m.name === 'string' ? m.name : 'user manifest',
    source,
    preprocess: parsePreprocess(m.preprocess, source),
    stages,
    ...(Object.keys(layouts).length ? { layouts } : {}),
    head,
  };
  if (m.input !== undefined) { if (typeof m.input !== 'string') throw bad(source, 'has an "input" that is not a tensor name'); out.input = m.input; }
  if (m.output !== undefined) { if (typeof m.output !== 'string') throw bad(source, 'has an "output" that is not a tensor name'); out.output = m.output; }
  if (isObject(m.defaults)) {
    const d = m.defaults;
    const defaults: { fsStage?: StageName; taStage?: StageName | null; k?: number } = {};
    if (typeof d.fsStage === 'string') defaults.fsStage = d.fsStage as StageName;
    if (typeof d.taStage === 'string' || d.taStage === null) defaults.taStage = d.taStage as StageName | null;
    if (typeof d.k === 'number') {
      if (!(Number.isFinite(d.k) && d.k >= 0)) throw bad(source, `has defaults.k ${d.k}; expected a number ≥ 0`);
      defaults.k = d.k;
    }
    out.defaults = defaults;
  }
  if (Array.isArray(m.classes)) out.classes = m.classes.map(String);
  return out;
}

/** A stage tensor of the manifest, checked against the graph. */
function stageOf(graph: GraphView, m: UserManifest, stage: StageName, tensor: string): ResolvedStage {
  const node = indexGraph(graph).producer.get(tensor);
  if (!node) throw new FstaError('BACKBONE_MISMATCH', `manifest ${m.source} names "${tensor}" as stage ${stage}, but no node of this model produces it`, 'check that the manifest was written for this model (`fsta inspect MODEL` lists its stage tensors)', { source: m.source, stage, tensor });
  const d = describeStage(graph, tensor, node.name);
  const declared = m.layouts?.[stage];
  const known = knownTokenLayout(graph, tensor);
  if (declared && known && (declared.layout !== known.layout || declared.prefixTokens !== known.prefixTokens)) {
    throw new FstaError('BACKBONE_MISMATCH', `manifest ${m.source} gives stage ${stage} ("${tensor}") layout "${declared.layout}" with ${declared.prefixTokens} prefix tokens, but it is a block output of a ${known.layout} token trunk with ${known.prefixTokens}`, 'set the stage\'s "layout" (and "prefixTokens") to what the tensor holds, or drop it where fsta knows the layout (`fsta inspect MODEL` prints it)', { source: m.source, stage, tensor });
  }
  const rank = d.shape.length;
  if (declared && graph.shapes.has(tensor) && rank !== (declared.layout === 'nchw' || declared.layout === 'nhwc' ? 4 : 3)) {
    throw new FstaError('BACKBONE_MISMATCH', `manifest ${m.source} gives stage ${stage} ("${tensor}", shape [${d.shape.join(', ')}]) layout "${declared.layout}", which has another rank`, 'set the stage\'s "layout" (and "prefixTokens") to what the tensor holds, or drop it where fsta knows the layout (`fsta inspect MODEL` prints it)', { source: m.source, stage, tensor });
  }
  // Never silently wrong: a permuted tensor read as channels first would give another FS.
  if (!declared && !known && ((rank === 4 && isChannelsLast(graph, tensor)) || (rank === 3 && isPermutedTokens(graph, tensor)))) {
    throw new FstaError('BACKBONE_MISMATCH', `manifest ${m.source} names "${tensor}" as stage ${stage}, but it is ${rank === 4 ? 'channels-last (behind a Transpose [0, 2, 3, 1])' : 'a token tensor behind a Transpose (e.g. (N, L, C))'} and the manifest gives no layout`, 'set the stage\'s "layout" (and "prefixTokens") to what the tensor holds, or drop it where fsta knows the layout (`fsta inspect MODEL` prints it)', { source: m.source, stage, tensor });
  }
  return declared ? describeStage(graph, tensor, node.name, declared) : d;
}

/** The manifest's stages, head and defaults, resolved against one graph. */
export function resolveUserManifest(graph: GraphView, m: UserManifest) {
  const stages: Partial<Record<StageName, ResolvedStage>> = {};
  for (const s of STAGE_NAMES) if (m.stages[s]) stages[s] = stageOf(graph, m, s, m.stages[s]!);
  let head = null;
  if (m.head) {
    const { penultimate, weight, bias } = m.head;
    const gemm = graph.nodes.find((n) => n.inputs[0] === penultimate && n.inputs[1] !== undefined && (n.inputs[1] === weight || initializerBehind(graph, n.inputs[1]!) === weight));
    if (!gemm) throw new FstaError('BACKBONE_MISMATCH', `manifest ${m.source} names a head (penultimate "${penultimate}", weight "${weight}") that no node of this model computes`, 'point head.penultimate and head.weight at the inputs of the final Gemm (nn.Linear), or drop the head', { source: m.source });
    const logits = m.output ?? gemm.outputs[0]!;
    if (!graph.outputs.includes(logits)) throw new FstaError('BACKBONE_MISMATCH', `manifest ${m.source}: the head's output "${logits}" is not a model output`, 'set "output" to the logits output of the model', { source: m.source });
    head = {
      penultimate, weight: gemm.inputs[1]!, bias: bias ?? (gemm.inputs[2] || null),
      weightInitializer: initializerBehind(graph, gemm.inputs[1]!), biasInitializer: gemm.inputs[2] ? initializerBehind(graph, gemm.inputs[2]) : null,
      weightShape: shapeOf(graph, gemm.inputs[1]!) ?? [], logits,
    };
  }
  const named = STAGE_NAMES.filter((s) => stages[s]);
  const fsStage = m.defaults?.fsStage ?? (stages.C5 ? 'C5' : named.at(-1)!);
  const before = named.filter((s) => s < fsStage);
  const taStage = m.defaults?.taStage !== undefined ? m.defaults.taStage : (stages.C4 && fsStage === 'C5' ? 'C4' : before.at(-1) ?? null);
  const defaults: StageDefaults = { fsStage, taStage, k: m.defaults?.k ?? 0.5 };
  return { stages: stages as StageMap, head, defaults };
}
