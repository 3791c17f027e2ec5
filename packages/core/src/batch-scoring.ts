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
  /** How many decode() calls scoreInputs keeps going at once; default DECODE_CONCURRENCY. */
  decodeConcurrency?: number;
  /** One run of the patched model on a [n, C, H, W] batch; exposed features only when `options.include` asks. */
  run(data: Float32Array, shape: readonly number[], options?: ScoreOptions): Promise<Record<string, NamedOutput>>;
}

function inputList(inputs: ImageInput | readonly ImageInput[], s: Pick<BatchScorer, 'preprocess' | 'chw'>): readonly ImageInput[] {
  const list = Array.isArray(inputs) ? (inputs as readonly ImageInput[]) : [inputs as ImageInput];
  if (list.length === 0) throw new FstaError('EMPTY', 'score() was given no images', 'pass one image or an array of images');
  const [, H, W] = s.chw;
  const [sh, sw] = s.preprocess.size;
  if (sh !== H || sw !== W) throw new FstaError('BAD_PREPROCESS', `the preprocess size [${sh}, ${sw}] does not match the model input [${H}, ${W}]`, 'pass a preprocess spec (or backbone) made for this model');
  return list;
}

const needsDecode = (input: ImageInput) => !isRawTensorInput(input) && !isPixelInput(input);

/** One input → its normalized CHW sample(s); `decoded` is what `decode` gave for an input core cannot read itself. */
function samplesOf(input: ImageInput, i: number, s: Pick<BatchScorer, 'preprocess' | 'chw' | 'pixelOptions'>, decoded?: PixelInput): Float32Array[] {
  if (isRawTensorInput(input)) return rawTensorSamples(input, s.chw, i);
  return [preprocessPixels(decoded ?? (input as PixelInput), s.preprocess, i, s.pixelOptions)];
}

/** Inputs → one normalized CHW array per image (a raw tensor with a batch axis gives several). */
export async function collectSamples(inputs: ImageInput | readonly ImageInput[], s: Pick<BatchScorer, 'preprocess' | 'chw' | 'decode' | 'pixelOptions'>): Promise<Float32Array[]> {
  const list = inputList(inputs, s);
  const out: Float32Array[] = [];
  for (let i = 0; i < list.length; i++) out.push(...samplesOf(list[i]!, i, s, needsDecode(list[i]!) ? await s.decode(list[i]!, i) : undefined));
  return out;
}

/**
 * Decodes at a time in scoreInputs: a whole batch of 16, so that the next batch's decodes
 * are all queued before the model runs this one. onnxruntime-node's run() holds the main
 * thread; a decode can only start from the main thread, so with 4 at a time the thread
 * pool (sharp runs on libuv's 4 threads) finished those 4 and then idled for the rest of
 * the run (CIFAR ResNet-56 files → scores, 2 cores: 5–15% more images/s with 16).
 * It does not raise what is held: scoreInputs decodes at most one batch ahead however
 * many decodes may run at once.
 */
export const DECODE_CONCURRENCY = 16;

/** Runs at most `n` jobs at once, the rest in call order. */
function limiter(n: number): <R>(job: () => Promise<R>) => Promise<R> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (job) => {
    if (active >= n) await new Promise<void>((go) => waiting.push(go));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const quiet = <R>(p: Promise<R>): Promise<R> => {
  // Awaited later, in call order; until then a rejection is not unhandled.
  p.catch(() => undefined);
  return p;
};

/**
 * Inputs → scores, one model run per batch, decoding as it goes: while the model runs
 * one batch, the next batch's images decode (`decodeConcurrency` at a time, default
 * DECODE_CONCURRENCY), so decoding and inference overlap within one call and at most
 * about three batches of images are held however many inputs there are. An input that
 * cannot be read throws for the first such input in call order, as collectSamples does.
 */
export async function scoreInputs(inputs: ImageInput | readonly ImageInput[], s: BatchScorer, options?: ScoreOptions): Promise<ImageScore[]> {
  const list = inputList(inputs, s);
  const size = batchSizeOf(s);
  const limit = limiter(s.decodeConcurrency ?? DECODE_CONCURRENCY);
  const decodes: (Promise<PixelInput> | undefined)[] = [];
  let started = 0;
  const decodeUpTo = (end: number) => {
    for (; started < Math.min(end, list.length); started++) {
      const i = started, input = list[i]!;
      if (needsDecode(input)) decodes[i] = quiet(limit(() => s.decode(input, i)));
    }
  };
  const results: ImageScore[] = [];
  let running: Promise<void> = Promise.resolve();
  const launch = async (chunk: Float32Array[]) => {
    await running;
    running = quiet(runChunk(chunk, s, options).then((r) => void results.push(...r)));
  };
  let pending: Float32Array[] = [];
  for (let i = 0; i < list.length; i++) {
    // One batch ahead of the samples being gathered: those decode while the model runs.
    decodeUpTo(i + size + 1);
    const decoded = decodes[i];
    decodes[i] = undefined;
    pending.push(...samplesOf(list[i]!, i, s, decoded && (await decoded)));
    while (pending.length >= size) {
      await launch(pending.slice(0, size));
      pending = pending.slice(size);
    }
  }
  if (pending.length > 0) await launch(pending);
  await running;
  return results;
}

function batchSizeOf(s: Pick<BatchScorer, 'batchSize' | 'fixedBatch'>): number {
  if (!(Number.isInteger(s.batchSize) && s.batchSize >= 1)) throw new FstaError('BAD_BATCH_SIZE', `batchSize must be a positive integer, got ${s.batchSize}`, 'pass batchSize ≥ 1 (16 is a good default)');
  return s.fixedBatch ?? s.batchSize;
}

/** One model run on up to a batch of samples. */
async function runChunk(chunk: readonly Float32Array[], s: Pick<BatchScorer, 'config' | 'chw' | 'run' | 'extraKs' | 'fixedBatch'>, options?: ScoreOptions): Promise<ImageScore[]> {
  const fixed = s.fixedBatch ?? null;
  // A model exported with a fixed batch takes exactly that many images: pad with blank ones, keep the real ones' results.
  const padded = fixed !== null && chunk.length < fixed ? [...chunk, ...Array.from({ length: fixed - chunk.length }, () => new Float32Array(chunk[0]!.length))] : chunk;
  const batch = stackBatch(padded, s.chw);
  return scoresFromOutputs(await s.run(batch.data, batch.shape, options), s.config, padded.length, s.extraKs ?? 0).slice(0, chunk.length);
}

/** Scores samples in batches of `batchSize`, one model run per batch. */
export async function scoreSamples(samples: readonly Float32Array[], s: Pick<BatchScorer, 'config' | 'chw' | 'batchSize' | 'run' | 'extraKs' | 'fixedBatch'>, options?: ScoreOptions): Promise<ImageScore[]> {
  const size = batchSizeOf(s);
  const results: ImageScore[] = [];
  for (let start = 0; start < samples.length; start += size) results.push(...(await runChunk(samples.slice(start, start + size), s, options)));
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
