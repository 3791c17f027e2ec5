import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js');
const run = promisify(execFile);

// The built bin needs `npm run build` first (CI builds before testing); the in-process
// tests in cli.test.ts cover the same commands from source.
describe.skipIf(!existsSync(BIN))('the built fsta bin', () => {
  it('runs the demo end to end as a child process and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fsta-bin-'));
    try {
      const { stdout } = await run(process.execPath, [BIN, 'demo', '--out', dir, '--limit', '20'], { cwd: dir });
      expect(stdout).toMatch(/FS\+TA/);
      expect(existsSync(join(dir, 'fsta-demo-results.json'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 2 with one error line for a usage error', async () => {
    const err = await run(process.execPath, [BIN, 'eval', '--bogus']).catch((e) => e as { code: number; stderr: string });
    expect((err as { code: number }).code).toBe(2);
    expect((err as { stderr: string }).stderr).toMatch(/^fsta: error: .*Fix: .*\n$/);
  });
});
