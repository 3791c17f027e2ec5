// @ts-check
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = new URL('../../../shared/', import.meta.url).pathname;

/** Sorted files: `perClass` from each class folder, or the first `n` of a flat folder. */
/** @param {string} set @param {number} n */
export function imageList(set, n) {
  const dir = join(SHARED, 'data', set);
  if (set === 'imagenet-val-1k') return readdirSync(dir).sort().slice(0, n).map((f) => join(dir, f));
  const classes = readdirSync(dir).sort();
  const per = Math.ceil(n / classes.length);
  return classes.flatMap((c) => readdirSync(join(dir, c)).sort().slice(0, per).map((f) => join(dir, c, f))).slice(0, n);
}

