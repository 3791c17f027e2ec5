import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { FstaError } from '@fsta/core';

export type Options = NonNullable<ParseArgsConfig['options']>;

export const usageError = (problem: string, command: string) => new FstaError('USAGE', problem, `run \`fsta ${command} --help\` for usage`);

/** parseArgs with fsta's errors: one line naming the bad flag and pointing at --help. */
export function parse(command: string, argv: readonly string[], options: Options, allowPositionals = false): { values: Record<string, unknown>; positionals: string[] } {
  try {
    return parseArgs({ args: [...argv], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    const message = (e as Error).message.replace(/\.? ?To specify a positional argument.*$/s, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
    throw usageError(message, command);
  }
}

export function requireString(v: unknown, flag: string, command: string): string {
  if (typeof v !== 'string' || v === '') throw usageError(`${flag} is required`, command);
  return v;
}

export function numberFlag(v: unknown, flag: string, command: string, check: (n: number) => boolean = Number.isFinite, what = 'a number'): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(n) || !check(n)) throw usageError(`${flag} must be ${what}, got "${String(v)}"`, command);
  return n;
}

export const positiveInt = (v: unknown, flag: string, command: string) => numberFlag(v, flag, command, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');

/** Parses repeated --ood NAME=DIR flags; names must be unique. */
export function parseOod(values: unknown, command: string): { name: string; dir: string }[] {
  const list = (Array.isArray(values) ? values : values === undefined ? [] : [values]) as string[];
  const seen = new Set<string>();
  return list.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw usageError(`--ood "${v}" is not NAME=DIR`, command);
    const name = v.slice(0, eq), dir = v.slice(eq + 1);
    // Set names become JSON keys and table columns beside the "average" column.
    if (name === 'average' || !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name) || ['__proto__', 'constructor', 'prototype'].includes(name)) {
      throw new FstaError('USAGE', `--ood name "${name}" cannot be used: ${name === 'average' ? 'the table and the JSON use "average" for the mean over the sets' : 'names are letters, digits and . _ + - (starting with a letter or digit), not "__proto__", "constructor" or "prototype"'}`, 'rename the set, e.g. --ood textures=DIR');
    }
    if (seen.has(name)) throw new FstaError('USAGE', `--ood name "${name}" is given twice`, 'give each OOD set its own name, e.g. --ood textures=DIR --ood mnist=DIR2');
    seen.add(name);
    return { name, dir };
  });
}
