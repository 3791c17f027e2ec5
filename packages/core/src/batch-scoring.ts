import type { FstaConfig } from './config.js';
import type { ImageInput, ImageScore, PixelInput, ScoreOptions } from './detector.js';
import { FstaError } from './errors.js';
import type { NamedOutput } from './patched-outputs.js';
import { scoresFromOutputs } from './patched-outputs.js';
import type { PixelOptions, PreprocessSpec } from './preprocess.js';
import { isPixelInput, isRawTensorInput, preprocessPixels, rawTensorSamples, stackBatch } from './preprocess.js';

/** What an adapter supplies: how to run one NCHW batch, and how to decode runtime-specific inputs. */
export interface BatchScorer {
  config: FstaConfig;
  preprocess: PreprocessSpec;
  /** Network input [C, H, W]. */
  chw: readonly [number, number, number];
  batchSize: number;
  /** How many more k than the config's the patched model scores (its 'fsta/fs_ta/<i>' outputs). */
  extraKs?: number;
  /** The batch the model was exported with, when fixed (no dynamic axis): every run gets exactly this many, zero-padded. */
  fixedBatch?: number | null;
  pixelOptions?: PixelOptions;
  /** Decodes a path, encoded bytes or ImageBitmap to pixels; `index` is its position in the call. */
  decode(input: ImageInput, index: number): Promise<PixelInput>;
  /** One run of the patched model on a [n, C, H, W] batch; exposed features only when `options.include` asks. */
  run(data: Float32Array, shape: readonly number[], options?: ScoreOptions): Promise<Record<string, NamedOutput>>;
}

/** Inputs → one normalized CHW array per image (a raw tensor with a batch axis gives several). */
export async function collectSamples(inputs: ImageInput | readonly ImageInput[], s: Pick<BatchScorer, 'preprocess' | 'chw' | 'decode' | 'pixelOptions'>): Promise<Float32Array[]> {
  const list = Array.isArray(inputs) ? (inputs as readonly ImageInput[]) : [inputs as ImageInput];
  if (list.length === 0) throw new FstaError('EMPTY', 'score() was given no images', 'pass one image or an array of images');
  const [, H, W] = s.chw;
  const [sh, sw] = s.preprocess.size;
  if (sh !== H || sw !== W) throw new FstaError('BAD_PREPROCESS', `the preprocess size [${sh}, ${sw}] does not match the model input [${H}, ${W}]`, 'pass a preprocess spec (or backbone) made for this model');
  const out: Float32Array[] = [];
  for (let i = 0; i < list.length; i++) {
    const input = list[i]!;
    if (isRawTensorInput(input)) out.push(...rawTensorSamples(input, s.chw, i));
    else if (isPixelInput(input)) out.push(preprocessPixels(input, s.preprocess, i, s.pixelOptions));
    else out.push(preprocessPixels(await s.decode(input, i), s.preprocess, i, s.pixelOptions));
  }
  return out;
}

/** Scores samples in batches of `batchSize`, one model run per batch. */
export async function scoreSamples(samples: readonly Float32Array[], s: Pick<BatchScorer, 'config' | 'chw' | 'batchSize' | 'run' | 'extraKs' | 'fixedBatch'>, options?: ScoreOptions): Promise<ImageScore[]> {
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1)) throw new FstaError('BAD_BATCH_SIZE', `batchSize must be a positive integer, got ${s.batchSize}`, 'pass batchSize ≥ 1 (16 is a good default)');
  const fixed = s.fixedBatch ?? null;
  const size = fixed ?? s.batchSize;
  const results: ImageScore[] = [];
  for (let start = 0; start < samples.length; start += size) {
    const chunk = samples.slice(start, start + size);
    // A model exported with a fixed batch takes exactly that many images: pad with blank ones, keep the real ones' results.
    const padded = fixed !== null && chunk.length < fixed ? [...chunk, ...Array.from({ length: fixed - chunk.length }, () => new Float32Array(chunk[0]!.length))] : chunk;
    const batch = stackBatch(padded, s.chw);
    results.push(...scoresFromOutputs(await s.run(batch.data, batch.shape, options), s.config, padded.length, s.extraKs ?? 0).slice(0, chunk.length));
  }
  return results;
}

/**
 * Serializes async work: runtimes differ in whether one session may run
 * concurrently, so adapters queue runs and concurrent score() calls stay correct.
 */
export function serialQueue(): <R>(job: () => Promise<R>) => Promise<R> {
  let tail: Promise<unknown> = Promise.resolve();
  return (job) => {
    const next = tail.then(job, job);
    tail = next.catch(() => undefined);
    return next;
  };
}
