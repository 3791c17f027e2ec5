import { FstaError, preprocessPixels, stackBatch } from '@fsta/core';
import { FeatureRunner } from './runner.js';
import type { BatchOutputs } from './runner.js';
import type { ImageItem } from '../images.js';
import { decodeImage } from '../decode.js';

/** Per-image values of one image set, everything the methods are computed from. */
export interface Collected {
  files: string[];
  labels: number[];
  numClasses: number;
  logits: Float32Array;
  penultimate: Float32Array | null;
  penultimateDim: number;
  fs: Float64Array;
  /** FS+TA per k, in the order of `ks`. */
  fsTa: Float64Array[];
  failed: { path: string; reason: string }[];
  /** A strided sample of TA-stage activations, for k as a percentile of ID activations. */
  taSample: Float64Array | null;
}

export type Source = { kind: 'files'; items: ImageItem[] } | { kind: 'tensor'; data: Float32Array; n: number; name: string };

export interface CollectOptions {
  ks: readonly number[];
  batch: number;
  onProgress?: (n: number) => void;
  onFailure?: (path: string, reason: string) => void;
  /** Keep about this many TA-stage activation values (0: none). */
  taSampleSize?: number;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Runs every image of a source through the model in batches. A file that fails to decode is recorded and skipped. */
export async function collect(runner: FeatureRunner, source: Source, opts: CollectOptions): Promise<Collected> {
  const per = runner.chw[0] * runner.chw[1] * runner.chw[2];
  const files: string[] = [], labels: number[] = [], failed: Collected['failed'] = [];
  const logits: Float32Array[] = [], pen: Float32Array[] = [], fs: number[] = [], taParts: number[][] = [];
  const fsTa = opts.ks.map(() => [] as number[]);
  let numClasses = 0, penDim = 0;
  const total = source.kind === 'files' ? source.items.length : source.n;
  const run = async (data: Float32Array, n: number) => {
    const b: BatchOutputs = await runner.run(data, n);
    numClasses = b.numClasses;
    logits.push(b.logits.slice());
    if (b.penultimate) { pen.push(b.penultimate.slice()); penDim = b.penultimate.length / n; }
    fs.push(...FeatureRunner.fs(b.fsMap));
    for (let j = 0; j < opts.ks.length; j++) fsTa[j]!.push(...(await runner.fsTa(b, opts.ks[j]!)));
    if (opts.taSampleSize && b.taMap) {
      const want = Math.ceil((opts.taSampleSize * n) / total);
      const step = Math.max(1, Math.floor(b.taMap.data.length / want));
      const s: number[] = [];
      for (let i = 0; i < b.taMap.data.length; i += step) s.push(b.taMap.data[i]!);
      taParts.push(s);
    }
  };
  for (let start = 0; start < total; start += opts.batch) {
    const end = Math.min(total, start + opts.batch);
    if (source.kind === 'tensor') {
      await run(source.data.subarray(start * per, end * per), end - start);
      for (let i = start; i < end; i++) { files.push(`${source.name}#${i}`); labels.push(-1); }
    } else {
      const ok: Float32Array[] = [];
      for (const item of source.items.slice(start, end)) {
        try {
          ok.push(preprocessPixels(await decodeImage(item.path), runner.spec.preprocess, files.length + ok.length));
          files.push(item.path);
          labels.push(item.label);
        } catch (e) {
          const reason = e instanceof FstaError ? e.message : String(e);
          failed.push({ path: item.path, reason });
          opts.onFailure?.(item.path, reason);
        }
      }
      if (ok.length) {
        const b = stackBatch(ok, runner.chw);
        await run(b.data, ok.length);
      }
    }
    opts.onProgress?.(end - start);
  }
  return {
    files, labels, numClasses, failed,
    logits: concat(logits),
    penultimate: pen.length ? concat(pen) : null,
    penultimateDim: penDim,
    fs: Float64Array.from(fs),
    fsTa: fsTa.map((a) => Float64Array.from(a)),
    taSample: taParts.length ? Float64Array.from(taParts.flat()) : null,
  };
}
