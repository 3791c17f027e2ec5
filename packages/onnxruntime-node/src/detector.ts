import * as ort from 'onnxruntime-node';
import { FstaError, maxImagePixels, type DetectorSettings, type FstaConfig, type ImageInput, type PixelOptions, type PreprocessSpec } from '@fsta/core';
import { parseUserManifest } from '@fsta/backbones';
import { isDecodedModel, ortDetector, prepareDetectorModel, type DecodedModel, type DetectorModelOptions, type OnnxDetector } from '@fsta/onnx';
import { decodeImage, type ColorManagement } from './decode-image.js';
import { openSession, type NodeExecutionProvider } from './session.js';
import { MAX_JSON_BYTES, MAX_MODEL_BYTES, readRegularFile } from './read-file.js';

export interface NodeDetectorOptions extends Omit<DetectorSettings, 'config'>, Pick<DetectorModelOptions, 'ks' | 'expose'> {
  /**
   * An ONNX model: file path, bytes, or what @fsta/onnx `decodedModel(bytes)` returned
   * (for a caller that decoded the model already, e.g. to find its stages: it is not decoded again).
   */
  model: string | Uint8Array | DecodedModel;
  /** Stages, head and preprocessing by tensor name: a manifest object, its JSON text, or the path of its JSON file (format: docs/backbones.md). */
  manifest?: object | string;
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
  /**
   * Embedded ICC profiles: 'ignore' (default) uses the stored pixel values, as PIL's
   * convert('RGB') and so torchvision do; 'srgb' converts through the profile.
   */
  colorManagement?: ColorManagement;
  /** Where transparent pixels are composited; default white. */
  background?: PixelOptions['background'];
  /**
   * CPU threads onnxruntime uses within one run. Default: the physical cores this process may
   * use (Linux CPU topology), elsewhere onnxruntime's own choice.
   */
  intraOpNumThreads?: number;
  /** Receives the one line about provider fallback and the stage warnings (TA on a signed tensor); default console.warn. */
  logger?: (line: string) => void;
}

const unreadable = (what: string, path: string, e: unknown, fix: string) =>
  new FstaError(what === 'model' ? 'BAD_MODEL' : 'BAD_CONFIG', `${what} file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, fix);

async function readConfig(c: FstaConfig | string | undefined): Promise<FstaConfig | string | undefined> {
  if (typeof c !== 'string' || c.trimStart().startsWith('{')) return c;
  try { return (await readRegularFile(c, { maxBytes: MAX_JSON_BYTES, what: 'config' })).toString('utf8'); } catch (e) { throw e instanceof FstaError ? e : unreadable('config', c, e, 'pass the path of the JSON written by `fsta calibrate`, or the config object'); }
}

async function readManifest(m: object | string | undefined) {
  if (m === undefined) return undefined;
  if (typeof m !== 'string' || m.trimStart().startsWith('{')) return parseUserManifest(m);
  let text: string;
  try { text = (await readRegularFile(m, { maxBytes: MAX_JSON_BYTES, what: 'manifest' })).toString('utf8'); } catch (e) { throw e instanceof FstaError ? e : new FstaError('BAD_MANIFEST', `manifest file ${m} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, 'pass the path of a manifest JSON (`fsta inspect MODEL --write-manifest F.json` writes one), or the manifest object'); }
  return parseUserManifest(text, m);
}

/** A detector on onnxruntime-node: one session on the patched model, one run per batch. */
export async function createDetector(options: NodeDetectorOptions): Promise<OnnxDetector> {
  const maxPixels = maxImagePixels(options.maxImagePixels);
  const threads = options.intraOpNumThreads;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) throw new FstaError('BAD_OPTION', `intraOpNumThreads must be a whole number ≥ 1, got ${String(threads)}`, 'leave it out (the physical cores) or pass e.g. intraOpNumThreads: 2');
  let source: Uint8Array | DecodedModel;
  if (typeof options.model === 'string') {
    try { source = await readRegularFile(options.model, { maxBytes: MAX_MODEL_BYTES, what: 'model' }); } catch (e) { throw e instanceof FstaError ? e : unreadable('model', options.model, e, 'pass the path of an .onnx file, or its bytes'); }
  } else if (options.model instanceof Uint8Array || isDecodedModel(options.model)) source = options.model;
  else throw new FstaError('BAD_MODEL', `model is a ${Object.prototype.toString.call(options.model)}, not a path, bytes or a decoded model`, "pass the .onnx file's path, its bytes (a Buffer/Uint8Array), or decodedModel(bytes) from @fsta/onnx");
  const { manifest, config, ...rest } = options;
  const parsed = await readManifest(manifest);
  const prepared = prepareDetectorModel(source, { ...rest, config: await readConfig(config), ...(parsed ? { manifest: parsed } : {}) });
  const log = options.logger ?? ((l: string) => console.warn(l));
  for (const w of prepared.warnings) log(`@fsta/onnxruntime-node: ${w}`);
  const { session, provider } = await openSession(prepared.bytes, options.executionProviders ?? ['cuda', 'cpu'], log, threads);
  const decodeOptions = { colorManagement: options.colorManagement ?? 'ignore' } as const;
  return ortDetector({
    prepared,
    session,
    tensor: (data: Float32Array, shape: readonly number[]) => new ort.Tensor('float32', data, shape),
    runtime: `onnxruntime-node/${provider}`,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    pixelOptions: { background: options.background ?? 'white' },
    decode: (input: ImageInput, index: number) => {
      if (typeof input === 'string' || input instanceof Uint8Array || input instanceof ArrayBuffer) return decodeImage(input, index, maxPixels, decodeOptions);
      throw new FstaError('BAD_INPUT', `image ${index} is a ${(input as object)?.constructor?.name ?? typeof input}, which @fsta/onnxruntime-node cannot take`, 'pass a file path, encoded bytes (Buffer/Uint8Array), { data, width, height } pixels or a raw Float32Array tensor');
    },
  });
}
