// @ts-check
// Issue 16, the serving case: p50 and p99 latency of one score() call on one JPEG,
// decode included, against PyTorch doing the same (bench-torch.py --latency: batch 1,
// PIL decode, transforms, forward and scores per image) on the same files.
import { createDetector } from '@fsta/onnxruntime-node';
import { imageList } from './images.mjs';
import { latencySummary } from './stats.mjs';
import { agreement, torchReference } from './torch-reference.mjs';

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * `warmup` calls on the first files, then one score(path) per file, one at a time,
 * each timed from the call to its result.
 * @param {string} modelPath @param {string} backbone @param {string[]} files @param {number} warmup
 */
export async function fstaLatencies(modelPath, backbone, files, warmup) {
  const det = await createDetector({ model: modelPath, backbone, executionProviders: ['cpu'] });
  try {
    for (const f of files.slice(0, warmup)) await det.score(f);
    /** @type {number[]} */
    const ms = [];
    /** @type {import('@fsta/core').ImageScore[]} */
    const scores = [];
    for (const f of files) {
      const t = now();
      const [s] = await det.score(f);
      ms.push(now() - t);
      scores.push(/** @type {import('@fsta/core').ImageScore} */ (s));
    }
    return { ms, scores };
  } finally {
    await det.dispose();
  }
}

/** @param {{ id: string, backbone: string, set: string, n: number, path: string, k: number, warmup: number }} m */
export async function latencySection({ id, backbone, set, n, path, k, warmup }) {
  const files = imageList(set, n);
  const torch = torchReference(id, files, { k, tag: `${id}-latency`, latency: true, warmup });
  const fsta = await fstaLatencies(path, backbone, files, warmup);
  const f = latencySummary(fsta.ms);
  const t = latencySummary(torch.latencies_ms);
  return {
    model: id, set, calls: files.length, warmup,
    fsta: f,
    torch: t,
    // Above 1: fsta answers faster than PyTorch.
    speedupP50: t.p50 / f.p50,
    speedupP99: t.p99 / f.p99,
    agree: agreement(fsta.scores, torch),
    torchCommand: torch.command,
  };
}
