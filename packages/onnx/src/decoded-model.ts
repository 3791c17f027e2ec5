import { FstaError } from '@fsta/core';
import { decodeModel } from './proto.js';
import { modelFingerprint } from './fingerprint.js';
import { validateModel, type ModelLimits } from './validate.js';
import type { OnnxModel } from './types.js';

/**
 * ONNX bytes decoded (and validated) once, for a caller that needs the graph itself and then
 * opens a detector on the same model (the CLI: stages, default k, fingerprint, detectors).
 * `prepareDetectorModel` and the adapters' `createDetector` take it in place of the bytes and
 * decode nothing again. Make one with `decodedModel`; treat it as read-only (patching clones).
 */
export interface DecodedModel {
  /** The file as read: a model `fsta patch` wrote is run from these bytes as they are. */
  readonly bytes: Uint8Array;
  readonly model: OnnxModel;
  /** `modelFingerprint(model)`: what `fsta calibrate` records and `checkConfigModel` compares. */
  readonly fingerprint: string;
}

// Only decodedModel() makes them: a hand-made { bytes, model } pair could disagree (run one model, read another's stages).
const made = new WeakSet<object>();

/** Decodes and validates ONNX bytes once (`decodeModel`), keeping the bytes and fingerprint beside the model. */
export function decodedModel(bytes: Uint8Array, limits: ModelLimits = {}): DecodedModel {
  const model = decodeModel(bytes, limits);
  const decoded: DecodedModel = Object.freeze({ bytes, model, fingerprint: modelFingerprint(model) });
  made.add(decoded);
  return decoded;
}

export const isDecodedModel = (x: unknown): x is DecodedModel => typeof x === 'object' && x !== null && made.has(x);

/**
 * The decoded model of ONNX bytes or of a `decodedModel` result. A decoded model was
 * validated with the limits it was decoded with; other `limits` are checked again here.
 */
export function asDecodedModel(source: Uint8Array | DecodedModel, limits: ModelLimits = {}): DecodedModel {
  if (source instanceof Uint8Array) return decodedModel(source, limits);
  if (!isDecodedModel(source)) throw new FstaError('BAD_INPUT', `the model is a ${Object.prototype.toString.call(source)}, neither ONNX bytes nor a decodedModel() result`, 'pass the model file\'s bytes (a Uint8Array), or what decodedModel(bytes) from @fsta/onnx returned');
  if (limits.maxTensorBytes !== undefined) validateModel(source.model, limits);
  return source;
}
