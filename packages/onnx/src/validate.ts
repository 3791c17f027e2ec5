import { FstaError } from '@fsta/core';
import { defaultOpset, toNumber } from './proto.js';
import { inferShapes } from './shapes.js';
import { attributeGraphs, forEachTensor } from './tensors-anywhere.js';
import { DataType, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor } from './types.js';

export interface ModelLimits {
  /**
   * Largest tensor, in bytes, whose statically known shape a model may ask the runtime
   * to allocate (default 4 GiB). A `ConstantOfShape` of [100000, 100000, 10] is a valid
   * graph that makes onnxruntime try to allocate 400 GB.
   */
  maxTensorBytes?: number;
}

export const DEFAULT_MAX_TENSOR_BYTES = 4 * 2 ** 30;
/** onnxruntime guarantees ai.onnx opsets from 7 on; older ones fail on their first op. */
export const MIN_OPSET = 7;
/** The newest ai.onnx opset released (ONNX 1.20); a higher number is a corrupt or future model. */
export const MAX_OPSET = 25;
/** The newest IR version onnxruntime 1.30 reads. */
export const MAX_IR_VERSION = 13;

const ELEMENT_NAMES: Record<number, string> = { 0: 'undefined', 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 14: 'complex64', 15: 'complex128', 16: 'bfloat16' };
const BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2 };
const elementName = (t: number | undefined) => ELEMENT_NAMES[t ?? 0] ?? `type ${t}`;

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

/**
 * Checks that a decoded model is one onnxruntime can load and fsta can feed, so that
 * a bad model ends in an FstaError naming the problem instead of an onnxruntime
 * exception (or an attempt to allocate 64 GB):
 * - no tensor anywhere (attributes, subgraphs, sparse tensors) stores its data in an external file;
 * - the ai.onnx opset and the IR version are ones onnxruntime runs;
 * - every node input and graph output is produced by a node, an initializer or a graph input
 *   (an If/Loop/Scan body may also read its enclosing graphs);
 * - the graph inputs fsta feeds are float32;
 * - no tensor whose shape is statically known exceeds `maxTensorBytes`.
 */
export function validateModel(model: OnnxModel, limits: ModelLimits = {}): void {
  forEachTensor(model, (t, where) => {
    if (t.dataLocation === 1 || (t.externalData && t.externalData.length > 0)) {
      const loc = t.externalData?.find((e) => e.key === 'location')?.value;
      throw new FstaError(
        'EXTERNAL_DATA',
        `the tensor in ${where} stores its data in an external file${loc ? ` ("${loc}")` : ''}, which fsta does not read (onnxruntime would read it relative to the working directory)`,
        'load the model with its data in Python and re-save it as one file: onnx.save(onnx.load(path), out_path, save_as_external_data=False) (only possible under 2 GB)',
        { tensor: t.name ?? '', where },
      );
    }
    const dims = (t.dims ?? []).map(toNumber);
    const n = dims.reduce((p, d) => p * d, 1);
    if (!dims.every((d) => Number.isInteger(d) && d >= 0) || !Number.isFinite(n)) {
      throw new FstaError('CORRUPT_MODEL', `this is not a readable ONNX model: the tensor in ${where} has dims [${dims.join(', ')}]`, 'pass an .onnx file written by onnx.save or torch.onnx.export; re-export it if it was truncated or damaged in transfer');
    }
    const stored = storedElements(t);
    if (stored !== undefined && stored !== n) {
      throw new FstaError('CORRUPT_MODEL', `this is not a readable ONNX model: the tensor in ${where} has dims [${dims.join(', ')}] (${n} values) but stores ${stored}`, 'pass an .onnx file written by onnx.save or torch.onnx.export; re-export it if it was truncated or damaged in transfer');
    }
  });
  checkVersions(model);
  checkGraph(model.graph!, new Set(), 'the graph');
  checkInputTypes(model.graph!);
  checkTensorSizes(model, limits.maxTensorBytes ?? DEFAULT_MAX_TENSOR_BYTES);
}

/**
 * How many values a tensor record stores (raw bytes over the element size, or the
 * length of its typed field); undefined where that cannot be told (complex and
 * segmented tensors, unknown types).
 */
function storedElements(t: OnnxTensor): number | undefined {
  const dt = t.dataType ?? 0;
  if (t.segment || dt === 14 || dt === 15 || (BYTES[dt] === undefined && dt !== DataType.STRING)) return undefined;
  if (t.rawData && t.rawData.length > 0) return dt === DataType.STRING ? undefined : t.rawData.length / BYTES[dt]!;
  // The typed field the ONNX spec stores this type in (what onnxruntime reads).
  const field = dt === DataType.FLOAT ? t.floatData : dt === DataType.INT64 ? t.int64Data : dt === DataType.DOUBLE ? t.doubleData
    : dt === DataType.UINT64 || dt === DataType.UINT32 ? t.uint64Data : dt === DataType.STRING ? t.stringData : t.int32Data;
  return field?.length ?? 0;
}

function checkVersions(model: OnnxModel): void {
  const opset = defaultOpset(model);
  if (opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new FstaError('UNSUPPORTED_OPSET', `the model imports ai.onnx opset ${opset}; onnxruntime runs opsets ${MIN_OPSET} to ${MAX_OPSET}`, `re-export the model with an opset between 13 and ${MAX_OPSET} (torch.onnx.export(..., opset_version=17))`);
  }
  const imported = new Set([...(model.opsetImport ?? []).map((o) => o.domain ?? ''), ...((model.functions as { domain?: string }[] | undefined) ?? []).map((f) => f.domain ?? '')]);
  const unimported = (nodes: readonly OnnxNode[] | undefined): OnnxNode | undefined => {
    for (const n of nodes ?? []) {
      const d = n.domain ?? '';
      if (d !== '' && d !== 'ai.onnx' && !imported.has(d)) return n;
      for (const a of n.attribute ?? []) for (const g of attributeGraphs(a)) { const inner = unimported(g.node); if (inner) return inner; }
    }
    return undefined;
  };
  const orphan = unimported(model.graph?.node);
  if (orphan) {
    throw new FstaError('UNSUPPORTED_OPSET', `node "${orphan.name ?? ''}" (${orphan.opType}) is in domain "${orphan.domain}", which the model does not import (opset_import has ${[...imported].map((d) => `"${d}"`).join(', ')})`, 're-export the model; a custom op needs its domain in opset_import and a runtime that implements it');
  }
  const ir = toNumber(model.irVersion);
  if (ir > MAX_IR_VERSION) {
    throw new FstaError('UNSUPPORTED_IR_VERSION', `the model has ONNX IR version ${ir}; onnxruntime reads up to ${MAX_IR_VERSION}`, 're-save the model with an older onnx package (onnx.save after onnx.load), or export it again');
  }
}

/** Names a node or graph output reads that nothing in scope defines. */
function checkGraph(g: OnnxGraph, outer: ReadonlySet<string>, what: string): void {
  const known = new Set(outer);
  for (const v of g.input ?? []) if (v.name) known.add(v.name);
  for (const t of g.initializer ?? []) if (t.name) known.add(t.name);
  for (const s of (g.sparseInitializer as { values?: { name?: string } }[] | undefined) ?? []) if (s.values?.name) known.add(s.values.name);
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) known.add(o);
  const label = (n: OnnxNode, i: number) => `node "${n.name || `#${i}`}" (${n.opType})`;
  for (const [i, n] of (g.node ?? []).entries()) {
    for (const x of n.input ?? []) {
      if (x && !known.has(x)) {
        throw new FstaError('MISSING_TENSOR', `${label(n, i)} in ${what} reads "${x}", which no node, initializer or graph input produces`, 're-export the model; if it was edited by hand, feed every node input (onnx.checker.check_model(model, full_check=True) finds these)', { tensor: x });
      }
    }
    for (const a of n.attribute ?? []) for (const sub of attributeGraphs(a)) checkGraph(sub, known, `subgraph "${a.name}" of ${label(n, i)}`);
  }
  for (const o of g.output ?? []) {
    if (o.name && !known.has(o.name)) {
      throw new FstaError('MISSING_TENSOR', `output "${o.name}" of ${what} is not produced by any node, initializer or graph input`, 're-export the model; if it was edited by hand, remove the output or add the node that computes it', { tensor: o.name });
    }
  }
}

/** fsta feeds one float32 image tensor; any other input type fails inside the runtime. */
function checkInputTypes(g: OnnxGraph): void {
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  for (const v of g.input ?? []) {
    if (!v.name || inits.has(v.name) || !v.type) continue;
    const tt = v.type.tensorType;
    const kind = tt ? elementName(tt.elemType) : Object.keys(v.type).find((k) => k.endsWith('Type')) ?? 'not a tensor';
    if (!tt || (tt.elemType !== undefined && tt.elemType !== DataType.FLOAT)) {
      throw new FstaError('BAD_INPUT_TYPE', `the model input "${v.name}" is ${kind}; fsta feeds float32 images`, 'export the model with a float32 NCHW image input: do the uint8 → float conversion and normalization outside the graph (fsta applies the manifest\'s mean and std)', { input: v.name });
    }
  }
}

/**
 * Statically known tensor sizes (shape inference on each graph and subgraph; symbolic
 * batch axes are not counted) against the cap, in bytes of the tensor's element type
 * where it is known (Cast's `to`, ConstantOfShape's value), else 4.
 */
function checkTensorSizes(model: OnnxModel, maxBytes: number, g: OnnxGraph = model.graph!, scope = ''): void {
  // A subgraph is inferred on its own: tensors it reads from outside have unknown shapes.
  const shapes = inferShapes(g === model.graph ? model : { ...model, graph: g });
  const declared = new Map<string, number>();
  for (const v of [...(g.valueInfo ?? []), ...(g.output ?? [])]) if (v.name && v.type?.tensorType?.elemType) declared.set(v.name, v.type.tensorType.elemType);
  const inits = new Map((g.initializer ?? []).filter((t) => t.name).map((t) => [t.name!, t.dataType ?? DataType.FLOAT]));
  for (const [i, n] of (g.node ?? []).entries()) {
    const label = `node "${n.name || `#${i}`}" (${n.opType})`;
    for (const o of n.output ?? []) {
      const s = o ? shapes.get(o) : undefined;
      if (!s || !s.every((d): d is number => typeof d === 'number')) continue;
      const elements = s.reduce((a, b) => a * Math.max(b, 0), 1);
      const bytes = elements * (BYTES[elementType(n, o, declared, inits)] ?? 4);
      if (bytes > maxBytes) {
        throw new FstaError('TENSOR_TOO_LARGE', `${label}${scope} makes tensor "${o}" of shape [${s.join(', ')}]: ${gib(bytes)}, over the ${gib(maxBytes)} a tensor may take`, 'this is not a model to run: re-export it, checking the shape that node is given; if the tensor really is meant to be that large, raise the limit (decodeModel(bytes, { maxTensorBytes }))', { node: n.name ?? '', tensor: o });
      }
    }
    for (const a of n.attribute ?? []) for (const sub of attributeGraphs(a)) checkTensorSizes(model, maxBytes, sub, ` in subgraph "${a.name}" of ${label}${scope}`);
  }
}

const SAME_TYPE_OPS = new Set(['Range', 'Expand', 'Tile', 'Reshape', 'Identity', 'Concat', 'Pad', 'Transpose']);

function elementType(n: OnnxNode, out: string, declared: ReadonlyMap<string, number>, inits: ReadonlyMap<string, number>): number {
  const d = declared.get(out);
  if (d !== undefined) return d;
  const attr = (name: string) => (n.attribute ?? []).find((a) => a.name === name);
  if (n.opType === 'Cast') return toNumber(attr('to')?.i);
  // Ops whose output has their first input's type, when that input is a stored tensor.
  if (SAME_TYPE_OPS.has(n.opType ?? '') && n.input?.[0]) return inits.get(n.input[0]) ?? DataType.FLOAT;
  if (n.opType === 'ConstantOfShape') return attr('value')?.t?.dataType ?? DataType.FLOAT;
  return DataType.FLOAT;
}
