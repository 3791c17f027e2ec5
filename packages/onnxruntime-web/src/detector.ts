import * as ort from 'onnxruntime-web';
import { FstaError, maxImagePixels, type DetectorSettings, type PixelOptions, type PreprocessSpec } from '@fsta/core';
import { parseUserManifest } from '@fsta/backbones';
import { isDecodedModel, ortDetector, prepareDetectorModel, type DecodedModel, type DetectorModelOptions, type OnnxDetector } from '@fsta/onnx';
import { decodeImage } from './decode-image.js';
import { defaultProviders, openSession, type WebExecutionProvider } from './session.js';

export interface WebDetectorOptions extends DetectorSettings, Pick<DetectorModelOptions, 'ks' | 'expose'> {
  /** Stages, head and preprocessing by tensor name: a manifest object or its JSON text (format: docs/backbones.md). */
  manifest?: object | string;
  /**
   * An ONNX model: bytes, a URL to fetch (browsers; in Node pass the bytes), or what
   * @fsta/onnx `decodedModel(bytes)` returned (a model the page decoded already is not decoded again).
   */
  model: Uint8Array | ArrayBuffer | string | DecodedModel;
  /** Tried in order; default ['webgpu', 'wasm'] in browsers with WebGPU, ['wasm'] elsewhere. */
  executionProviders?: WebExecutionProvider[];
  /** Images per session run; default 16. */
  batchSize?: number;
  /** Overrides the backbone manifest's preprocessing (required when the backbone is detected automatically). */
  preprocess?: PreprocessSpec;
  /**
   * Encoded images above this many pixels are refused before decoding (from the header of a
   * PNG, JPEG, GIF, WebP or BMP; other formats before the decoded bitmap is copied); default 100 million.
   */
  maxImagePixels?: number;
  /** Where transparent pixels are composited; default white (the same as @fsta/onnxruntime-node). */
  background?: PixelOptions['background'];
  /** Receives the one line about provider fallback and the stage warnings (TA on a signed tensor); default console.warn. */
  logger?: (line: string) => void;
}

async function modelBytes(model: WebDetectorOptions['model']): Promise<Uint8Array | DecodedModel> {
  if (model instanceof Uint8Array || isDecodedModel(model)) return model;
  if (model instanceof ArrayBuffer) return new Uint8Array(model);
  const res = await fetch(model).catch((e: Error) => { throw new FstaError('BAD_MODEL', `model ${model} could not be fetched (${e.message})`, 'pass a reachable URL, or the model bytes (in Node: readFileSync(path))'); });
  if (!res.ok) throw new FstaError('BAD_MODEL', `model ${model} could not be fetched (HTTP ${res.status})`, 'pass a reachable URL, or the model bytes');
  return new Uint8Array(await res.arrayBuffer());
}

/** A detector on onnxruntime-web (WebGPU or WASM): one session on the patched model, one run per batch. */
export async function createDetector(options: WebDetectorOptions): Promise<OnnxDetector> {
  const maxPixels = maxImagePixels(options.maxImagePixels);
  const { manifest, ...rest } = options;
  const prepared = prepareDetectorModel(await modelBytes(options.model), { ...rest, ...(manifest !== undefined ? { manifest: parseUserManifest(manifest) } : {}) });
  const log = options.logger ?? ((l: string) => console.warn(l));
  for (const w of prepared.warnings) log(`@fsta/onnxruntime-web: ${w}`);
  const { session, provider } = await openSession(prepared.bytes, options.executionProviders ?? defaultProviders(), log);
  return ortDetector({
    prepared,
    session,
    tensor: (data: Float32Array, shape: readonly number[]) => new ort.Tensor('float32', data, shape),
    runtime: `onnxruntime-web/${provider}`,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    pixelOptions: { background: options.background ?? 'white' },
    decode: (input, index) => decodeImage(input, index, maxPixels),
  });
}
