// @ts-check
// Section 3 of issue 7: JPEG files to scores, images/s, fsta against the PyTorch
// reference pipeline (tools/bench-torch.py) on the same files, with the scores
// compared image by image.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDetector } from '@fsta/onnxruntime-node';
import { ROOT } from './models.mjs';
export { imageList } from './images.mjs';
import { imageList } from './images.mjs';

const PYTHON = process.env.FSTA_PYTHON ?? '/usr/bin/python3';

function torchReference(model, files, { workers, k, batch, tag }) {
  const list = `/tmp/fsta-bench-${process.pid}-${tag}.txt`;
  const scores = `/tmp/fsta-bench-${process.pid}-${tag}.json`;
  writeFileSync(list, files.join('\n') + '\n');
  const args = [join(ROOT, 'tools/bench-torch.py'), '--model', model, '--images', list, '--batch', String(batch), '--threads', '2', '--workers', String(workers), '--k', String(k), '--scores', scores];
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bench-torch.py failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(readFileSync(scores, 'utf8'));
}

/**
 * fsta as a user would run it: createDetector on the unpatched model, file paths
 * in; `inFlight` score() calls of one batch each are kept going, so sharp decodes
 * the next batch while onnxruntime runs this one.
 */
async function fstaPipeline(modelPath, backbone, files, { batch, inFlight, warmup }) {
  const det = await createDetector({ model: modelPath, backbone, executionProviders: ['cpu'], batchSize: batch });
  await det.score(files.slice(0, warmup));
  const chunks = [];
  for (let i = 0; i < files.length; i += batch) chunks.push(files.slice(i, i + batch));
  const results = new Array(chunks.length);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < chunks.length) {
      const j = next++;
      results[j] = await det.score(chunks[j]);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await det.dispose();
  return { seconds, imagesPerS: files.length / seconds, scores: results.flat() };
}

/** Largest |a − b| / max(1e-6, |b|) and largest |a − b| over images. */
function agreement(fsta, ref, key, refKey) {
  let rel = 0;
  let abs = 0;
  fsta.forEach((s, i) => {
    const a = key === 'msp' ? s.classifier.msp : s[key];
    const b = ref.scores[refKey][i];
    abs = Math.max(abs, Math.abs(a - b));
    rel = Math.max(rel, Math.abs(a - b) / Math.max(1e-6, Math.abs(b)));
  });
  return { rel, abs };
}

export async function endToEndSection({ id, backbone, set, n, path, k }) {
  const files = imageList(set, n);
  const batch = 16;
  const refs = [0, 1].map((workers) => torchReference(id, files, { workers, k, batch, tag: `${id}-w${workers}` }));
  const best = refs.reduce((a, b) => (b.images_per_s > a.images_per_s ? b : a));
  const fsta = await fstaPipeline(path, backbone, files, { batch, inFlight: 2, warmup: 32 });
  const top1 = fsta.scores.filter((s, i) => argmax(s.outputs.logits?.data) === best.scores.top1[i]).length / files.length;
  return {
    model: id, set, images: files.length,
    fstaImagesPerS: fsta.imagesPerS,
    torch: refs.map((r) => ({ workers: r.workers, imagesPerS: r.images_per_s })),
    torchBest: best.images_per_s,
    speedup: fsta.imagesPerS / best.images_per_s,
    agree: { fs: agreement(fsta.scores, best, 'fs', 'fs'), fsTa: agreement(fsta.scores, best, 'fsTa', 'fs_ta'), msp: agreement(fsta.scores, best, 'msp', 'msp'), top1 },
    torchCommand: best.command,
  };
}

/** @param {ArrayLike<number> | undefined} xs */
function argmax(xs) {
  if (!xs) return -1;
  let j = 0;
  for (let i = 1; i < xs.length; i++) if (/** @type {number} */ (xs[i]) > /** @type {number} */ (xs[j])) j = i;
  return j;
}
