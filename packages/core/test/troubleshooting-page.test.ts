import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const page = readFileSync(`${root}docs/troubleshooting.md`, 'utf8');

describe('docs/troubleshooting.md', () => {
  it('is what tools/gen-troubleshooting.mjs generates from the current source', () => {
    // --check exits 1 (execFileSync throws) when any FstaError code, message or fix changed without regenerating.
    expect(execFileSync(process.execPath, [`${root}tools/gen-troubleshooting.mjs`, '--check'], { encoding: 'utf8' })).toContain('up to date');
  });
  it('lists a known error with its template text and fix', () => {
    expect(page).toMatch(/## NON_FINITE\n/);
    expect(page).toContain('| {what} has {v} at sample {sample}');
    expect(page).toContain('check the input image and preprocessing; fsta never scores non-finite values | `packages/core/src/errors.ts` |');
  });
});
