// @ts-check
// The PyTorch reference (tools/bench-torch.py) run on a file list, and the
// image-by-image comparison of fsta's scores with its scores.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './models.mjs';
import { maxDiff } from './stats.mjs';

const PYTHON = process.env.FSTA_PYTHON ?? '/usr/bin/python3';

/**
 * @param {string} model bench-torch.py's --model
 * @param {string[]} files
 * @param {{ workers?: number, k: number, batch?: number, tag: string, latency?: boolean, warmup?: number }} opts
 *   latency: batch 1, each image timed alone (bench-torch.py --latency)
 */
export function torchReference(model, files, { workers = 0, k, batch = 16, tag, latency = false, warmup }) {
  const list = `/tmp/fsta-bench-${process.pid}-${tag}.txt`;
  const scores = `/tmp/fsta-bench-${process.pid}-${tag}.json`;
  writeFileSync(list, files.join('\n') + '\n');
  const args = [join(ROOT, 'tools/bench-torch.py'), '--model', model, '--images', list, '--batch', String(batch), '--threads', '2', '--workers', String(workers), '--k', String(k), '--scores', scores,
    ...(warmup !== undefined ? ['--warmup', String(warmup)] : []), ...(latency ? ['--latency'] : [])];
  try {
    const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`bench-torch.py ${args.slice(1).join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr ?? r.error?.message ?? '').slice(-2000)}`);
    return JSON.parse(readFileSync(scores, 'utf8'));
  } finally {
    rmSync(list, { force: true });
    rmSync(scores, { force: true });
  }
}

/**
 * fsta's scores against the reference's, image by image (same files, same order).
 * @param {import('@fsta/core').ImageScore[]} fsta
 * @param {{ scores: Record<string, number[]> }} ref
 */
export function agreement(fsta, ref) {
  if (fsta.length !== ref.scores.fs?.length) throw new Error(`fsta scored ${fsta.length} images, the reference ${ref.scores.fs?.length}`);
  const top1 = fsta.filter((s, i) => argmax(s.outputs.logits?.data) === ref.scores.top1?.[i]).length / fsta.length;
  return {
    fs: maxDiff(fsta.map((s) => s.fs), /** @type {number[]} */ (ref.scores.fs)),
    fsTa: maxDiff(fsta.map((s) => /** @type {number} */ (s.fsTa)), /** @type {number[]} */ (ref.scores.fs_ta)),
    msp: maxDiff(fsta.map((s) => /** @type {number} */ (s.classifier.msp)), /** @type {number[]} */ (ref.scores.msp)),
    top1,
  };
}

/** @param {ArrayLike<number> | undefined} xs */
export function argmax(xs) {
  if (!xs) return -1;
  let j = 0;
  for (let i = 1; i < xs.length; i++) if (/** @type {number} */ (xs[i]) > /** @type {number} */ (xs[j])) j = i;
  return j;
}
