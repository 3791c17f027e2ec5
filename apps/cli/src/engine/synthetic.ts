import { CALIBRATION_DEFAULTS, SYNTHETIC_SET_KINDS, spreadPicks, syntheticSet } from '@fsta/core';
import type { SyntheticSetKind } from '@fsta/core';
import type { Engine } from './open-detector.js';

/** Synthetic OOD sets calibration can rank TA settings by (core's); none is made from OOD test data. */
export const SYNTHETIC_KINDS = SYNTHETIC_SET_KINDS;
export type SyntheticKind = SyntheticSetKind;

export interface SyntheticSet {
  name: SyntheticKind;
  data: Float32Array;
  n: number;
}

/**
 * Preprocessed synthetic OOD images by core's `syntheticSet`, as the web page makes them:
 * noise, or up to `count` evenly spread ID validation images (`idFiles`, the ones that were
 * read) transformed. Only the picked images are decoded again, once for every set.
 */
export async function syntheticSets(kinds: readonly SyntheticKind[], count: number, engine: Engine, idFiles: readonly string[]): Promise<{ sets: SyntheticSet[]; description: string }> {
  const { detector } = engine;
  const fromId = kinds.some((k) => k !== 'gaussian' && k !== 'uniform');
  // core picks evenly spread images among those it is given; handing it exactly its picks (in order) gives the same images.
  const picks = fromId ? spreadPicks(idFiles.length, count) : [];
  const images: Float32Array[] = [];
  for (const i of picks) images.push(await detector.prepare(idFiles[i]!, i));
  const sets = kinds.map((kind, j) => syntheticSet(kind, j, count, detector.chw, detector.preprocess, images, CALIBRATION_DEFAULTS.jigsawGrid));
  return { sets: sets.map(({ name, data, n }) => ({ name, data, n })), description: sets.map((s) => s.description).join('; ') };
}
