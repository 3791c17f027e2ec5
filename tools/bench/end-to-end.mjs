// @ts-check
// Section 3 of issue 7 (and issue 16's "faster end to end"): JPEG files to scores,
// images/s, fsta against the PyTorch reference pipeline (tools/bench-torch.py) on the
// same files, with the scores compared image by image.
import { createDetector } from '@fsta/onnxruntime-node';
import { imageList } from './images.mjs';
import { agreement, torchReference } from './torch-reference.mjs';

const now = () => performance.now();

/**
 * fsta as a user would run it: createDetector on the unpatched model, file paths
 * in; `inFlight` score() calls of one batch each are kept going, so with 2 sharp
 * decodes the next batch while onnxruntime runs this one.
 * @param {string} modelPath @param {string} backbone @param {string[]} files
 * @param {{ batch: number, inFlight: number, warmup: number }} opts
 */
export async function fstaPipeline(modelPath, backbone, files, { batch, inFlight, warmup }) {
  const t0 = now();
  const det = await createDetector({ model: modelPath, backbone, executionProviders: ['cpu'], batchSize: batch });
  const openSeconds = (now() - t0) / 1000;
  await det.score(files.slice(0, warmup));
  /** @type {string[][]} */
  const chunks = [];
  for (let i = 0; i < files.length; i += batch) chunks.push(files.slice(i, i + batch));
  /** @type {import('@fsta/core').ImageScore[][]} */
  const results = new Array(chunks.length);
  let next = 0;
  const t1 = now();
  const worker = async () => {
    while (next < chunks.length) {
      const j = next++;
      results[j] = await det.score(/** @type {string[]} */ (chunks[j]));
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (now() - t1) / 1000;
  await det.dispose();
  return { openSeconds, seconds, imagesPerS: files.length / seconds, scores: results.flat() };
}

/** @param {{ id: string, backbone: string, set: string, n: number, path: string, k: number }} m */
export async function endToEndSection({ id, backbone, set, n, path, k }) {
  const files = imageList(set, n);
  const batch = 16;
  const refs = [0, 1].map((workers) => torchReference(id, files, { workers, k, batch, tag: `${id}-w${workers}` }));
  const best = refs.reduce((a, b) => (b.images_per_s > a.images_per_s ? b : a));
  const fsta = await fstaPipeline(path, backbone, files, { batch, inFlight: 2, warmup: 32 });
  return {
    model: id, set, images: files.length,
    fstaImagesPerS: fsta.imagesPerS,
    torch: refs.map((r) => ({ workers: r.workers, imagesPerS: r.images_per_s })),
    torchBest: best.images_per_s,
    speedup: fsta.imagesPerS / best.images_per_s,
    agree: agreement(fsta.scores, best),
    torchCommand: best.command,
  };
}
