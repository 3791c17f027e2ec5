import type { NamedTensorMap, Tensor } from '@tensorflow/tfjs-core';
import { FstaError } from '@fsta/core';

/**
 * The parts of a tfjs GraphModel / LayersModel this adapter uses, typed structurally
 * so that neither @tensorflow/tfjs-converter nor @tensorflow/tfjs-layers has to be
 * installed (or imported) unless the user's model needs it.
 */
export interface GraphModelLike {
  execute(inputs: NamedTensorMap, outputs: string[]): Tensor | Tensor[];
  readonly inputs: readonly { name: string; shape?: number[] }[];
  readonly outputs: readonly { name: string }[];
  readonly modelVersion: string;
  readonly weights?: Record<string, Tensor[]>;
  dispose(): void;
}

interface SymbolicTensorLike {
  readonly id: number;
  readonly name: string;
  readonly shape: readonly (number | null)[];
  readonly sourceLayer: LayerLike;
  readonly nodeIndex: number;
  readonly tensorIndex: number;
}
interface LayerLike {
  readonly name: string;
  readonly inboundNodes: readonly { inputTensors: SymbolicTensorLike[]; outputTensors: SymbolicTensorLike[] }[];
  apply(inputs: Tensor | Tensor[], kwargs?: unknown): unknown;
}
export interface LayersModelLike {
  getLayer(name: string): LayerLike;
  readonly layers: readonly LayerLike[];
  readonly inputs: readonly SymbolicTensorLike[];
  readonly outputs: readonly SymbolicTensorLike[];
  readonly outputNames: readonly string[];
  dispose(): unknown;
}

export const isGraphModel = (m: unknown): m is GraphModelLike =>
  typeof m === 'object' && m !== null && typeof (m as GraphModelLike).execute === 'function' && 'modelVersion' in m && !('getLayer' in m);
export const isLayersModel = (m: unknown): m is LayersModelLike =>
  typeof m === 'object' && m !== null && typeof (m as LayersModelLike).getLayer === 'function' && Array.isArray((m as LayersModelLike).layers);

export interface StageNames {
  fs: string;
  ta: string | null;
  /** Where the thresholded TA tensor is fed back in; the TA stage itself unless given. */
  taInput: string | null;
  logits: string | null;
  /** More tensors the forward pass returns (more TA stages, exposed stages), graph models only. */
  more?: readonly string[];
}

/** One forward pass's tensors, in the model's own layout. */
export interface Forward {
  own: Record<string, Tensor>;
  fs: Tensor;
  ta: Tensor | null;
  logits: Tensor | null;
  /** The `more` tensors by name. */
  more: Record<string, Tensor>;
}

/** Runs a model so that its stage tensors come out of the same pass as its outputs. */
export interface StageRunner {
  /** Model input shape, batch first; -1 where dynamic. */
  readonly inputShape: readonly number[];
  forward(x: Tensor): Forward;
  /** The network again from the TA stage (or from tensor `at`), fed `ta`, up to the FS stage; `x` feeds any branch that bypasses it. */
  tail(ta: Tensor, x: Tensor, at?: string): Tensor;
}

const asArray = (t: Tensor | Tensor[]): Tensor[] => (Array.isArray(t) ? t : [t]);

export function graphRunner(model: GraphModelLike, names: StageNames, inputName?: string): StageRunner {
  if (model.inputs.length !== 1 && !inputName) {
    throw new FstaError('BAD_MODEL', `the graph model has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')})`, 'pass inputName to say which one takes the image');
  }
  const input = model.inputs.find((i) => i.name === (inputName ?? model.inputs[0]!.name));
  if (!input) throw new FstaError('BAD_MODEL', `the graph model has no input "${inputName}" (it has ${model.inputs.map((i) => i.name).join(', ')})`, 'pass one of its input names');
  const ownNames = model.outputs.map((o) => o.name);
  const wanted = [...new Set([...ownNames, names.fs, ...(names.ta ? [names.ta] : []), ...(names.logits ? [names.logits] : []), ...(names.more ?? [])])];
  const run = (feeds: NamedTensorMap, outs: string[]): Tensor[] => {
    try {
      return asArray(model.execute(feeds, outs));
    } catch (e) {
      throw new FstaError('MODEL_RUN', `the graph model failed to compute [${outs.join(', ')}] (${(e as Error).message})`, 'check the stage node names (they must be node names of model.json, e.g. "tower_0/MobilenetV3/expanded_conv_14/add") and the input shape');
    }
  };
  return {
    inputShape: (input.shape ?? [-1, -1, -1, -1]).map((d) => (d === null || d === undefined || d < 0 ? -1 : d)),
    forward(x) {
      const got = run({ [input.name]: x }, wanted);
      const byName = new Map(wanted.map((n, i) => [n, got[i]!]));
      return {
        own: Object.fromEntries(ownNames.map((n) => [n, byName.get(n)!])),
        fs: byName.get(names.fs)!,
        ta: names.ta ? byName.get(names.ta)! : null,
        logits: names.logits ? byName.get(names.logits)! : null,
        more: Object.fromEntries((names.more ?? []).map((n) => [n, byName.get(n)!])),
      };
    },
    tail(ta, x, at) {
      return run({ [input.name]: x, [at ?? names.taInput ?? names.ta!]: ta }, [names.fs])[0]!;
    },
  };
}

export function layersRunner(model: LayersModelLike, names: StageNames): StageRunner {
  if (names.more?.length) throw new FstaError('NOT_SUPPORTED', 'more TA stages or exposed stages were asked of a LayersModel', 'use a GraphModel, or one TA stage');
  if (model.inputs.length !== 1) throw new FstaError('BAD_MODEL', `the layers model has ${model.inputs.length} inputs`, 'wrap it in a model with one image input');
  // Node 0 is where the layer was wired into this model; `layer.output` would throw
  // once a layer is reused elsewhere (a second inbound node).
  const layerOutput = (name: string, what: string): SymbolicTensorLike => {
    let layer: LayerLike;
    try {
      layer = model.getLayer(name);
    } catch {
      throw new FstaError('BAD_STAGE', `the layers model has no layer "${name}" for the ${what}`, `pass a layer name from model.layers (e.g. ${model.layers.slice(-4).map((l) => `"${l.name}"`).join(', ')})`);
    }
    const outs = layer.inboundNodes[0]?.outputTensors ?? [];
    if (outs.length !== 1) throw new FstaError('BAD_STAGE', `layer "${name}" (${what}) has ${outs.length} outputs`, 'pick a layer with a single output');
    return outs[0]!;
  };
  const fsT = layerOutput(names.fs, 'FS stage');
  const taT = names.ta ? layerOutput(names.ta, 'TA stage') : null;
  const feedT = names.taInput ? layerOutput(names.taInput, 'TA input') : taT;
  const logitsT = names.logits ? layerOutput(names.logits, 'logits') : null;
  const modelInput = model.inputs[0]!;
  const ownNames = [...model.outputNames];

  // tfjs-layers can feed only a model's own inputs, so both passes walk the recorded
  // graph back from the wanted tensors and apply each layer to concrete tensors, as
  // the LayersModel executor does; the tail pass starts from the fed TA tensor.
  const evaluate = (feeds: [SymbolicTensorLike, Tensor][], wanted: SymbolicTensorLike[]): Tensor[] => {
    const memo = new Map<number, Tensor>(feeds.map(([s, t]) => [s.id, t]));
    const build = (t: SymbolicTensorLike): Tensor => {
      const hit = memo.get(t.id);
      if (hit) return hit;
      const node = t.sourceLayer.inboundNodes[t.nodeIndex]!;
      const ins = node.inputTensors.map(build);
      const out = t.sourceLayer.apply(ins.length === 1 ? ins[0]! : ins) as Tensor | Tensor[];
      const value = Array.isArray(out) ? out[t.tensorIndex]! : out;
      memo.set(t.id, value);
      return value;
    };
    return wanted.map(build);
  };

  return {
    inputShape: modelInput.shape.map((d) => (d === null ? -1 : d)),
    forward(x) {
      const extra = [fsT, ...(taT ? [taT] : []), ...(logitsT ? [logitsT] : [])];
      const got = evaluate([[modelInput, x]], [...model.outputs, ...extra]);
      const own = got.slice(0, model.outputs.length);
      const [fs, ...rest] = got.slice(model.outputs.length);
      return {
        own: Object.fromEntries(own.map((t, i) => [ownNames[i]!, t])),
        fs: fs!,
        ta: taT ? rest.shift()! : null,
        logits: logitsT ? rest.shift()! : null,
        more: {},
      };
    },
    tail(ta, x) {
      return evaluate([[modelInput, x], [feedT!, ta]], [fsT])[0]!;
    },
  };
}
