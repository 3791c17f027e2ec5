import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { FstaError, type Detector, type DetectorSettings, type FstaConfig, type ImageInput, type PixelOptions, type PreprocessSpec } from '@fsta/core';
import { ortDetector, prepareDetectorModel } from '@fsta/onnx';
import { DEFAULT_MAX_IMAGE_PIXELS, decodeImage } from './decode-image.js';
import { openSession, type NodeExecutionProvider } from './session.js';

export interface NodeDetectorOptions extends Omit<DetectorSettings, 'config'> {
  /** An ONNX model: file path or bytes. */
  model: string | Uint8Array;
  /** A calibrated config: object, JSON text, or path to the JSON file `fsta calibrate` wrote. */
  config?: FstaConfig | string;
  /** Tried in order; default ['cuda', 'cpu'] (CUDA when onnxruntime-node has it, else CPU with one log line). */
  executionProviders?: NodeExecutionProvider[];
  /** Images per session run; default 16. */
  batchSize?: number;
  /** Overrides the backbone manifest's preprocessing (required when the backbone is detected automatically). */
  preprocess?: PreprocessSpec;
  /** Encoded images above this many pixels are refused before decoding; default 100 million. */
  maxImagePixels?: number;
  /** Where transparent pixels are composited; default white. */
  background?: PixelOptions['background'];
  /** Receives the one line about provider fallback and the stage warnings (TA on a signed tensor); default console.warn. */
  logger?: (line: string) => void;
}

const unreadable = (what: string, path: string, e: unknown, fix: string) =>
  new FstaError(what === 'model' ? 'BAD_MODEL' : 'BAD_CONFIG', `${what} file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix);

async function readConfig(c: FstaConfig | string | undefined): Promise<FstaConfig | string | undefined> {
  if (typeof c !== 'string' || c.trimStart().startsWith('{')) return c;
  try { return await readFile(c, 'utf8'); } catch (e) { throw unreadable('config', c, e, 'pass the path of the JSON written by `fsta calibrate`, or the config object'); }
}

/** A detector on onnxruntime-node: one session on the patched model, one run per batch. */
export async function createDetector(options: NodeDetectorOptions): Promise<Detector> {
  let bytes: Uint8Array;
  if (typeof options.model === 'string') {
    try { bytes = await readFile(options.model); } catch (e) { throw unreadable('model', options.model, e, 'pass the path of an .onnx file, or its bytes'); }
  } else bytes = options.model;
  const prepared = prepareDetectorModel(bytes, { ...options, config: await readConfig(options.config) });
  const log = options.logger ?? ((l: string) => console.warn(l));
  for (const w of prepared.warnings) log(`@fsta/onnxruntime-node: ${w}`);
  const { session, provider } = await openSession(prepared.bytes, options.executionProviders ?? ['cuda', 'cpu'], log);
  const maxPixels = options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  return ortDetector({
    prepared,
    session,
    tensor: (data: Float32Array, shape: readonly number[]) => new ort.Tensor('float32', data, shape),
    runtime: `onnxruntime-node/${provider}`,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    pixelOptions: { background: options.background ?? 'white' },
    decode: (input: ImageInput, index: number) => {
      if (typeof input === 'string' || input instanceof Uint8Array || input instanceof ArrayBuffer) return decodeImage(input, index, maxPixels);
      throw new FstaError('BAD_INPUT', `image ${index} is a ${(input as object)?.constructor?.name ?? typeof input}, which @fsta/onnxruntime-node cannot take`, 'pass a file path, encoded bytes (Buffer/Uint8Array), { data, width, height } pixels or a raw Float32Array tensor');
    },
  });
}
