import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FstaError } from '@fsta/core';
import { fileKind } from '@fsta/onnxruntime-node/read-file';
import type { Io } from './io.js';
import { printable } from './printable.js';

export type LabelMode = 'folder' | 'sorted' | 'none';

export interface ImageItem {
  path: string;
  /** Class index, or -1 when the set has no labels. */
  label: number;
}

export interface ImageSet {
  dir: string;
  items: ImageItem[];
  /** Class names in label order (folder labels: subfolder names; sorted: file names). */
  classes: string[];
  /** Entries with an image name that are not regular files (FIFOs, devices, sockets): never read. */
  skipped: Skipped[];
}

export interface Skipped {
  path: string;
  why: string;
}

/** One stderr line per skipped entry: `fsta: skipped DIR/x.png: a FIFO (named pipe), not a regular file`. */
export function reportSkipped(io: Io, skipped: readonly Skipped[]): void {
  for (const s of skipped) io.err(`fsta: skipped ${printable(s.path)}: ${s.why}\n`);
}

export const IMAGE_EXT = /\.(png|jpe?g|webp|gif|tiff?|avif)$/i;

// Plain code-point order, so the class order does not depend on the locale.
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function statOrThrow(dir: string, flag: string) {
  try {
    return statSync(dir);
  } catch {
    throw new FstaError('NOT_FOUND', `${flag} folder ${dir} does not exist`, `pass ${flag} with an existing folder of images`);
  }
}

/**
 * Every image file under `dir`, recursively, in sorted path order. Entries with an
 * image name that are not regular files (a FIFO named x.png would block the read
 * forever, a device never ends) are left out and added to `skipped`; a symlink
 * counts as what it points to, and a broken one is kept, for the reader to report.
 */
export function walkImages(dir: string, skipped: Skipped[] = []): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => byName(a.name, b.name))) {
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (IMAGE_EXT.test(e.name)) {
        let kind: string | null = null;
        if (!e.isFile()) { try { kind = fileKind(statSync(p)); } catch { /* broken link: the reader says so */ } }
        if (kind === null) out.push(p);
        else skipped.push({ path: p, why: `${kind}, not a regular file` });
      }
    }
  };
  visit(dir);
  return out;
}

/** Evenly spaced picks from a sorted list: deterministic and spread over the whole set. */
function spread<T>(items: T[], limit: number): T[] {
  if (items.length <= limit) return items;
  return Array.from({ length: limit }, (_, i) => items[Math.floor((i * items.length) / limit)]!);
}

/**
 * Lists a folder of images with labels:
 * - 'folder': class = index of the sorted subfolder; `limit` takes the first files of
 *   each class in turn, so classes stay balanced;
 * - 'sorted': class = index of the file in sorted name order (ImageNet val-1k style);
 * - 'none': no labels (OOD sets).
 */
export function listImages(dir: string, labels: LabelMode, limit: number | null, flag = '--id'): ImageSet {
  if (!statOrThrow(dir, flag).isDirectory()) throw new FstaError('NOT_A_FOLDER', `${flag} ${dir} is a file, not a folder`, `pass ${flag} with a folder of images`);
  let items: ImageItem[];
  let classes: string[] = [];
  const skipped: Skipped[] = [];
  if (labels === 'folder') {
    classes = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort(byName);
    if (classes.length === 0) throw new FstaError('NO_CLASS_FOLDERS', `${flag} ${dir} has no class subfolders, so --labels folder cannot label it`, 'put each class in its own subfolder, or pass --labels sorted or none');
    const perClass = classes.map((c, label) => walkImages(join(dir, c), skipped).map((path) => ({ path, label })));
    if (limit === null) items = perClass.flat();
    else {
      items = [];
      for (let i = 0; items.length < limit && perClass.some((l) => i < l.length); i++) {
        for (const l of perClass) if (i < l.length && items.length < limit) items.push(l[i]!);
      }
      items.sort((a, b) => a.label - b.label || byName(a.path, b.path));
    }
  } else {
    const files = walkImages(dir, skipped);
    if (labels === 'sorted') classes = files.map((f) => relative(dir, f));
    items = spread(files.map((path, i) => ({ path, label: labels === 'sorted' ? i : -1 })), limit ?? Infinity);
  }
  if (items.length === 0) throw new FstaError('EMPTY_FOLDER', `${flag} ${dir} has no images (.png, .jpg, .webp, .gif, .tiff, .avif)${skipped.length ? ` that are regular files (${skipped.length} skipped: ${skipped.map((s) => s.path).join(', ')})` : ''}`, `point ${flag} at a folder that contains images`);
  return { dir, items, classes, skipped };
}
