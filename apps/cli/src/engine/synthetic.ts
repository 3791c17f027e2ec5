import { jigsawImages, noiseImages, stackBatch } from '@fsta/core';
import type { Engine } from './open-detector.js';
import { spreadPicks } from './sample-maps.js';

/** Synthetic OOD sets calibration can rank TA settings by; none is made from OOD test data. */
export const SYNTHETIC_KINDS = ['gaussian', 'uniform', 'jigsaw'] as const;
export type SyntheticKind = (typeof SYNTHETIC_KINDS)[number];

/** Patches per side for jigsaw: 4x4 as in the self-supervised jigsaw literature; 8x8 px on CIFAR. */
export const JIGSAW_GRID = 4;

export interface SyntheticSet {
  name: SyntheticKind;
  data: Float32Array;
  n: number;
}

/**
 * Preprocessed synthetic OOD images: noise from core's `noiseImages` (seed 1 + position in
 * `kinds`), and jigsaw from up to `count` evenly spread ID validation images (`idFiles`, the
 * ones that were read) through core's `jigsawImages` (same seed rule).
 */
export async function syntheticSets(kinds: readonly SyntheticKind[], count: number, engine: Engine, idFiles: readonly string[]): Promise<{ sets: SyntheticSet[]; description: string }> {
  const { detector } = engine;
  const { mean, std } = detector.preprocess;
  const sets: SyntheticSet[] = [];
  const described: string[] = [];
  for (const [j, kind] of kinds.entries()) {
    const seed = 1 + j;
    if (kind === 'jigsaw') {
      const picks = spreadPicks(idFiles.length, count);
      const images: Float32Array[] = [];
      for (const i of picks) images.push(await detector.prepare(idFiles[i]!, i));
      const stacked = stackBatch(images, detector.chw);
      const { data } = jigsawImages(stacked.data, [images.length, ...detector.chw], { grid: JIGSAW_GRID, seed });
      sets.push({ name: kind, data, n: images.length });
      described.push(`jigsaw x ${images.length} (${JIGSAW_GRID}x${JIGSAW_GRID} patches of evenly spread ID validation images, core jigsawImages seed ${seed})`);
    } else {
      sets.push({ name: kind, data: noiseImages(kind, count, detector.chw, { mean, std, seed }).data, n: count });
      described.push(`${kind} x ${count} (core noiseImages seed ${seed})`);
    }
  }
  return { sets, description: described.join('; ') };
}
