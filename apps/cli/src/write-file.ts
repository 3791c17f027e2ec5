import { existsSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FstaError } from '@fsta/core';

const same = (a: string, b: string) => {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
};

/**
 * Writes a file atomically (a temp file in the same folder, then rename), so a
 * crash never leaves half a file. Refuses to overwrite any of `inputs`, and an
 * existing file unless `force`.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: { force?: boolean; inputs?: readonly string[]; flag?: string } = {}): void {
  const flag = opts.flag ?? '-o';
  for (const input of opts.inputs ?? []) {
    if (existsSync(path) && same(path, input)) throw new FstaError('OVERWRITES_INPUT', `${flag} ${path} is the input file itself`, 'write the output to a different path');
  }
  if (existsSync(path) && !opts.force) throw new FstaError('OUTPUT_EXISTS', `${path} already exists`, 'pass --force to overwrite it, or choose another output path');
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'its folder does not exist' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a folder' : err.message;
    throw new FstaError('CANNOT_WRITE', `cannot write ${path}: ${why}`, 'choose a path in an existing, writable folder');
  }
}

/** Fails early (before minutes of work) when an output could not be written later. */
export function checkOutput(path: string, opts: { force?: boolean; inputs?: readonly string[]; flag?: string } = {}): void {
  const flag = opts.flag ?? '-o';
  for (const input of opts.inputs ?? []) {
    if (existsSync(path) && same(path, input)) throw new FstaError('OVERWRITES_INPUT', `${flag} ${path} is the input file itself`, 'write the output to a different path');
  }
  if (existsSync(path) && !opts.force) throw new FstaError('OUTPUT_EXISTS', `${path} already exists`, 'pass --force to overwrite it, or choose another output path');
  if (!existsSync(dirname(resolve(path)))) throw new FstaError('CANNOT_WRITE', `cannot write ${path}: its folder does not exist`, 'create the folder first or choose another path');
}
