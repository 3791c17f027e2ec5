import { lstatSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FstaError } from '@fsta/core';
import { fileKind } from '@fsta/onnxruntime-node/read-file';
import { printable } from './printable.js';

export interface OutputOptions {
  force?: boolean;
  /** Every file the command reads (model, manifest, config): never overwritten, whatever the path's spelling. */
  inputs?: readonly (string | undefined)[];
  /** The flag that named the output, for messages: -o, --json, --report. */
  flag?: string;
}

const stat = (path: string, follow: boolean): Stats | null => {
  try { return follow ? statSync(path) : lstatSync(path); } catch { return null; }
};

// The path as the OS will resolve it, also for a file not written yet (its folder's real path).
function canonical(path: string): string {
  const abs = resolve(path);
  try { return realpathSync(abs); } catch { /* not there yet */ }
  try { return join(realpathSync(dirname(abs)), basename(abs)); } catch { return abs; }
}

/** True when a and b are one file: same device and inode (hard links, symlinks, ../ spellings), else the same real path. */
export function sameFile(a: string, b: string): boolean {
  const sa = stat(a, true), sb = stat(b, true);
  if (sa && sb) return sa.dev === sb.dev && sa.ino === sb.ino;
  return canonical(a) === canonical(b);
}

/** The files a command reads, from its parsed flags: never to be written. */
export const inputFiles = (v: Record<string, unknown>, ...more: unknown[]): string[] =>
  [v.model, v.manifest, v.config, ...more].filter((p): p is string => typeof p === 'string');

/**
 * Fails early (before minutes of work) when an output could not or must not be
 * written: it is one of the command's inputs, or exists and --force is not given,
 * or is not a regular file. A symlink, FIFO, device, socket or folder is never
 * replaced, even with --force: `-o /dev/null --force` as root would replace
 * /dev/null, and replacing a link would cut it from the file it points to.
 */
export function checkOutput(path: string, opts: OutputOptions = {}): void {
  const flag = opts.flag ?? '-o';
  const shown = printable(path);
  for (const input of opts.inputs ?? []) {
    if (input !== undefined && sameFile(path, input)) throw new FstaError('OVERWRITES_INPUT', `${flag} ${shown} is ${sameName(path, input) ? 'the input file itself' : `the input file ${printable(input)}`}`, 'write the output to a different path');
  }
  const st = stat(path, false);
  if (st) {
    if (st.isSymbolicLink()) throw new FstaError('NOT_A_REGULAR_FILE', `${flag} ${shown} is a symbolic link, which fsta never replaces, even with --force`, 'write to the path the link points to, or choose another output path');
    if (!st.isFile()) throw new FstaError('NOT_A_REGULAR_FILE', `${flag} ${shown} is ${fileKind(st)}, which fsta never replaces, even with --force`, 'choose another output path');
    if (!opts.force) throw new FstaError('OUTPUT_EXISTS', `${shown} already exists`, 'pass --force to overwrite it, or choose another output path');
  }
  if (!stat(dirname(resolve(path)), true)?.isDirectory()) throw new FstaError('CANNOT_WRITE', `cannot write ${shown}: its folder does not exist`, 'create the folder first or choose another path');
}

const sameName = (a: string, b: string) => resolve(a) === resolve(b);

/**
 * {@link checkOutput} for each output of a command, and no two outputs on one file
 * (`--json r.html --report r.html` would fail only after the whole run).
 */
export function checkOutputs(outputs: readonly { path: string | undefined; flag: string }[], opts: Omit<OutputOptions, 'flag'> = {}): void {
  const given = outputs.filter((o): o is { path: string; flag: string } => typeof o.path === 'string');
  for (const [i, a] of given.entries()) {
    checkOutput(a.path, { ...opts, flag: a.flag });
    for (const b of given.slice(0, i)) {
      if (sameFile(a.path, b.path)) throw new FstaError('SAME_OUTPUT', `${b.flag} ${printable(b.path)} and ${a.flag} ${printable(a.path)} are the same file`, `give ${b.flag} and ${a.flag} different paths`);
    }
  }
}

/**
 * Writes a file atomically (a new temp file in the same folder, then rename), so a
 * crash never leaves half a file. Checks the path as {@link checkOutput} does.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: OutputOptions = {}): void {
  checkOutput(path, opts);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    // 'wx': the temp file is created, never an existing file or link followed.
    writeFileSync(tmp, data, { flag: 'wx' });
    renameSync(tmp, path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'EEXIST') rmSync(tmp, { force: true });
    const why = err.code === 'ENOENT' ? 'its folder does not exist' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a folder' : err.code === 'ENOSPC' ? 'the disk is full' : err.message;
    throw new FstaError('CANNOT_WRITE', `cannot write ${printable(path)}: ${why}`, 'choose a path in an existing, writable folder');
  }
}
