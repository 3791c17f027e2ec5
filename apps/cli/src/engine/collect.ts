import { FstaError, stackBatch, taSampleOfBatch } from '@fsta/core';
import type { ImageScore } from '@fsta/core';
import type { Engine } from './open-detector.js';
import type { ImageItem } from '../images.js';

/** Per-image values of one image set, everything the methods are computed from. */
export interface Collected {
  files: string[];
  labels: number[];
  numClasses: number;
  logits: Float32Array;
  penultimate: Float32Array | null;
  penultimateDim: number;
  fs: Float64Array;
  /** FS+TA per k, in the order of the engine's ks. */
  fsTa: Float64Array[];
  failed: { path: string; reason: string }[];
  /** A strided sample of each `sample.tensors` tensor's activations, for k as a percentile of ID activations. */
  samples: Record<string, Float64Array>;
  /** What the detector itself made of each image under the config it was opened with. */
  scored: Pick<ImageScore, 'score' | 'verdict' | 'classifier'>[];
}

export type Source = { kind: 'files'; items: ImageItem[] } | { kind: 'tensor'; data: Float32Array; n: number; name: string };

export interface CollectOptions {
  onProgress?: (n: number) => void;
  onFailure?: (path: string, reason: string) => void;
  /** Keep about `size` activation values of each of these tensors (exposed by the engine). */
  sample?: { size: number; tensors: readonly string[] };
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Images decoded and preprocessed by the detector (its one decode path), failures kept with their reasons. */
async function prepareAll(engine: Engine, items: readonly ImageItem[]): Promise<{ item: ImageItem; sample?: Float32Array; reason?: string }[]> {
  return Promise.all(items.map(async (item, i) => {
    try {
      return { item, sample: await engine.detector.prepare(item.path, i) };
    } catch (e) {
      return { item, reason: e instanceof FstaError ? e.message : String(e) };
    }
  }));
}

/**
 * Runs every image of a source through the detector in batches: the next batch is
 * decoded while the current one runs. A file that fails to decode is recorded and skipped.
 */
export async function collect(engine: Engine, source: Source, opts: CollectOptions = {}): Promise<Collected> {
  const { detector, batch } = engine;
  const chw = detector.chw;
  const per = chw[0] * chw[1] * chw[2];
  const files: string[] = [], labels: number[] = [], failed: Collected['failed'] = [], scored: Collected['scored'] = [];
  const logits: Float32Array[] = [], pen: Float32Array[] = [], fs: number[] = [];
  const parts: Record<string, number[][]> = Object.fromEntries((opts.sample?.tensors ?? []).map((t) => [t, []]));
  const nk = detector.ks.length;
  const fsTa = Array.from({ length: nk }, () => [] as number[]);
  let numClasses = 0, penDim = 0;
  const total = source.kind === 'files' ? source.items.length : source.n;
  const include = [...(engine.hasPenultimate ? ['penultimate' as const] : []), ...(opts.sample ? ['stages' as const] : [])];

  const take = (scores: ImageScore[]) => {
    const n = scores.length;
    for (const s of scores) {
      if (engine.logits !== null) {
        const l = s.outputs[engine.logits];
        if (!l || l.shape.length !== 2) throw new FstaError('BAD_MODEL', `the model output "${engine.logits}" is ${l ? `of shape [${l.shape.join(', ')}]` : 'missing'}, not (N, classes) logits`, 'name the logits output in the manifest ("output"), or leave it out for a model without class logits');
        numClasses = l.shape[1]!;
        logits.push(l.data);
      }
      if (s.features?.penultimate) { pen.push(s.features.penultimate); penDim = s.features.penultimate.length; }
      fs.push(s.fs);
      scored.push({ score: s.score, verdict: s.verdict, classifier: s.classifier });
      for (let j = 0; j < nk; j++) fsTa[j]!.push(s.fsTaByK![j]!);
    }
    for (const t of opts.sample?.tensors ?? []) {
      // core's rule (the web page takes the same values).
      const maps = scores.map((s) => s.features?.stages?.tensors?.[t]?.data);
      if (!maps.every((m) => m)) throw new FstaError('NOT_EXPOSED', `the engine does not expose "${t}"`, 'open the engine with that stage in sampleStages');
      parts[t]!.push(taSampleOfBatch(maps as Float32Array[], total, opts.sample!.size));
    }
  };
  const score = async (data: Float32Array, n: number) => take(await detector.score({ data, shape: [n, ...chw] }, { include }));

  if (source.kind === 'tensor') {
    for (let start = 0; start < total; start += batch) {
      const end = Math.min(total, start + batch);
      await score(source.data.subarray(start * per, end * per), end - start);
      for (let i = start; i < end; i++) { files.push(`${source.name}#${i}`); labels.push(-1); }
      opts.onProgress?.(end - start);
    }
  } else {
    const chunks: ImageItem[][] = [];
    for (let start = 0; start < total; start += batch) chunks.push(source.items.slice(start, start + batch));
    let next = chunks.length ? prepareAll(engine, chunks[0]!) : null;
    for (let c = 0; c < chunks.length; c++) {
      const prepared = await next!;
      next = c + 1 < chunks.length ? prepareAll(engine, chunks[c + 1]!) : null;
      const ok: Float32Array[] = [];
      for (const p of prepared) {
        if (p.sample) { ok.push(p.sample); files.push(p.item.path); labels.push(p.item.label); }
        else { failed.push({ path: p.item.path, reason: p.reason! }); opts.onFailure?.(p.item.path, p.reason!); }
      }
      if (ok.length) await score(stackBatch(ok, chw).data, ok.length);
      opts.onProgress?.(chunks[c]!.length);
    }
  }
  return {
    files, labels, numClasses, failed, scored,
    logits: concat(logits),
    penultimate: pen.length ? concat(pen) : null,
    penultimateDim: penDim,
    fs: Float64Array.from(fs),
    fsTa: fsTa.map((a) => Float64Array.from(a)),
    samples: Object.fromEntries(Object.entries(parts).map(([t, p]) => [t, Float64Array.from(p.flat())])),
  };
}
