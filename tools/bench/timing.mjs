// @ts-check
// Side-by-side timing on a noisy machine: every repetition times each variant once,
// in an order that rotates each repetition (A B C, B C A, …), so drift and
// background load hit all variants alike; each timed block starts after one untimed run
// of its variant; ratios are taken within a repetition and summarised by their median.

import { median, percentile } from './stats.mjs';
export { median };

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * @param {{ name: string, run: () => Promise<unknown> }[]} variants the first is the baseline
 * @param {{ reps: number, warmup?: number, minBlockMs?: number }} opts each timed block repeats
 *   run() enough times to last about minBlockMs, so short runs are not timer noise
 * @returns {Promise<{ name: string, msPerRun: number, ratio: number, ratioLo: number, ratioHi: number }[]>}
 *   ratio: median over repetitions of time(variant) / time(baseline); Lo/Hi: the quartiles
 */
export async function interleaved(variants, { reps, warmup = 3, minBlockMs = 150 }) {
  let inner = 1;
  for (const v of variants) {
    for (let i = 0; i < warmup; i++) await v.run();
    const t0 = now();
    await v.run();
    inner = Math.max(inner, Math.ceil(minBlockMs / Math.max(0.01, now() - t0)));
  }
  /** @type {number[][]} */
  const times = variants.map(() => []);
  for (let r = 0; r < reps; r++) {
    for (let j = 0; j < variants.length; j++) {
      const v = (j + r) % variants.length;
      // One untimed run first: the rotation keeps each variant after the same neighbour, so
      // whatever the previous block leaves behind (onnxruntime threads still spinning, caches
      // full of another model's weights) would bias the same ratios every repetition.
      await /** @type {{ run: () => Promise<unknown> }} */ (variants[v]).run();
      const t0 = now();
      for (let i = 0; i < inner; i++) await /** @type {{ run: () => Promise<unknown> }} */ (variants[v]).run();
      /** @type {number[]} */ (times[v]).push((now() - t0) / inner);
    }
  }
  const base = /** @type {number[]} */ (times[0]);
  return variants.map((v, j) => {
    const ratios = /** @type {number[]} */ (times[j]).map((t, r) => t / /** @type {number} */ (base[r]));
    return { name: v.name, msPerRun: median(/** @type {number[]} */ (times[j])), ratio: median(ratios), ratioLo: percentile(ratios, 0.25), ratioHi: percentile(ratios, 0.75) };
  });
}
