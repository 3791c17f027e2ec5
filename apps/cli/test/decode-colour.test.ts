import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { demoModel, runCli } from './helpers.js';

// `fsta score` decodes as createDetector and PIL do: a Display P3 file scores as its
// stored values, exactly like the same values without a profile.
const icc = join(import.meta.dirname, '..', '..', '..', 'packages', 'onnxruntime-node', 'test', 'fixtures', 'icc');
const tmp = mkdtempSync(join(tmpdir(), 'fsta-cli-colour-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('fsta score ignores embedded ICC profiles', () => {
  it('a P3-tagged PNG scores exactly as its stored pixels without the profile', async () => {
    const untagged = join(tmp, 'untagged.png');
    const { data, info } = await sharp(join(icc, 'p3.png'), { ignoreIcc: true }).raw().toBuffer({ resolveWithObject: true });
    await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toFile(untagged);
    expect((await sharp(untagged).metadata()).icc).toBeUndefined();
    const r = await runCli(['score', ...demoModel, join(icc, 'p3.png'), untagged]);
    expect(r.code, r.err).toBe(0);
    const [tagged, plain] = r.out.trim().split('\n').map((l) => JSON.parse(l) as { fs: number; fsTa: number; classifier: object });
    expect({ ...tagged, file: '' }).toEqual({ ...plain, file: '' });
  });
});
