import protobuf from 'protobufjs/light.js';
import Long from 'long';
import { FstaError } from '@fsta/core';
import { onnxProtoJson } from './onnx-proto.generated.js';
import type { Int64, OnnxModel } from './types.js';
import { validateModel, type ModelLimits } from './validate.js';

// Set Long explicitly: protobufjs finds it with a dynamic require, which bundlers and
// browsers do not have; without it int64 values (Slice's INT64_MAX ends) lose bits.
protobuf.util.Long = Long as unknown as typeof protobuf.util.Long;
protobuf.configure();

const root = protobuf.Root.fromJSON(onnxProtoJson as protobuf.INamespace);
/** The message type; tests use it to decode records that decodeModel refuses (not in the package index). */
export const ModelProto = root.lookupType('onnx.ModelProto');

/** An int64 field value as a JS number (exact up to 2^53; INT64_MAX becomes ~9.22e18). */
export function toNumber(v: Int64 | undefined | null): number {
  if (v === undefined || v === null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

const corrupt = (why: string) =>
  new FstaError('CORRUPT_MODEL', `this is not a readable ONNX model: ${why}`, 'pass an .onnx file written by onnx.save or torch.onnx.export; re-export it if it was truncated or damaged in transfer');

/** The version of the default ('' or 'ai.onnx') operator set the model imports. */
export function defaultOpset(model: OnnxModel): number {
  const imp = (model.opsetImport ?? []).find((o) => o.domain === undefined || o.domain === '' || o.domain === 'ai.onnx');
  if (!imp) throw new FstaError('NO_OPSET', 'the model imports no default-domain (ai.onnx) operator set', 're-export the model with an opset_version (13 or newer)');
  return toNumber(imp.version);
}

/**
 * Decodes ONNX bytes. Protobuf decoding of arbitrary bytes can "succeed", so the
 * result is checked for a graph, nodes, an opset and sane tensor records, then by
 * `validateModel`: models that onnxruntime would reject, read files for, or allocate
 * more than `limits.maxTensorBytes` for are refused with an FstaError.
 */
export function decodeModel(bytes: Uint8Array, limits: ModelLimits = {}): OnnxModel {
  if (!(bytes instanceof Uint8Array)) throw new FstaError('BAD_INPUT', `decodeModel needs a Uint8Array, got ${Object.prototype.toString.call(bytes)}`, 'read the file as bytes (fs.readFileSync or fetch(...).arrayBuffer())');
  if (bytes.length === 0) throw corrupt('the file is empty');
  let model: OnnxModel;
  try {
    // A plain Uint8Array view (not a Node Buffer) so that bytes fields decode to
    // zero-copy Uint8Array views whatever the caller passed.
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    model = ModelProto.toObject(ModelProto.decode(view), {}) as OnnxModel;
  } catch (e) {
    throw corrupt(`protobuf decoding failed (${(e as Error).message}); the file is truncated or not ONNX`);
  }
  validate(model);
  validateModel(model, limits);
  return model;
}

function validate(model: OnnxModel): void {
  const ir = toNumber(model.irVersion);
  if (!(ir >= 3 && ir <= 100)) throw corrupt(`ir_version is ${ir}`);
  const g = model.graph;
  if (!g) throw corrupt('it has no graph');
  if (!g.node || g.node.length === 0) throw corrupt('its graph has no nodes');
  if (!model.opsetImport || model.opsetImport.length === 0) throw corrupt('it imports no operator set');
  const opset = defaultOpset(model);
  if (!(opset >= 1 && opset <= 1000)) throw corrupt(`its default opset is ${opset}`);
  if (!g.output || g.output.length === 0) throw corrupt('its graph has no outputs');
  for (const [i, n] of g.node.entries()) {
    if (!n.opType) throw corrupt(`node ${i} has no op_type`);
    if (!n.output || n.output.length === 0) throw corrupt(`node ${i} (${n.opType}) has no outputs`);
  }
}

/** Encodes a model to ONNX bytes. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const err = ModelProto.verify(model as Record<string, unknown>);
  if (err) throw new FstaError('BAD_MODEL', `the model cannot be encoded: ${err}`, 'build nodes and tensors with the @fsta/onnx helpers');
  return ModelProto.encode(model as Record<string, unknown>).finish();
}

/** A deep copy (patching never mutates the caller's model). */
export function cloneModel(model: OnnxModel): OnnxModel {
  return ModelProto.toObject(ModelProto.fromObject(model as Record<string, unknown>), {}) as OnnxModel;
}
