import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { createDetector, decodeImage, MAX_JSON_BYTES, MAX_MODEL_BYTES, readImageFile, readRegularFile, readRegularFileSync, SYNC_IMAGE_READ_BYTES } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'fsta-readfile-'));
const fifo = join(tmp, 'x.png');
const sock = join(tmp, 'model.sock');
let server: Server;

beforeAll(async () => {
  execFileSync('mkfifo', [fifo]);
  server = createServer();
  await new Promise<void>((r) => server.listen(sock, r));
});
// Should a read ever block on the FIFO (as on the old code), give it a writer and
// EOF, so that no thread stays blocked after the test.
afterAll(() => {
  try { closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)); } catch { /* no reader waiting */ }
  server.close();
});

async function fstaError(p: Promise<unknown>): Promise<FstaError> {
  try { await p; } catch (e) { expect(e).toBeInstanceOf(FstaError); return e as FstaError; }
  throw new Error('expected an FstaError');
}

describe('readRegularFile: only regular files, size checked before reading', () => {
  it('reads a regular file, and one through a symlink, byte for byte (sync and async)', async () => {
    const p = join(tmp, 'a.json'); writeFileSync(p, '{"k": 1}');
    const link = join(tmp, 'link.json'); symlinkSync(p, link);
    expect((await readRegularFile(link, { maxBytes: 100, what: 'config' })).toString()).toBe('{"k": 1}');
    expect(readRegularFileSync(p, { maxBytes: 100, what: 'config' }).equals(readFileSync(p))).toBe(true);
    expect(readRegularFileSync(p, { maxBytes: 8, what: 'config' }).length).toBe(8);
  });
  it.each([
    ['FIFO', () => fifo, 'a FIFO (named pipe)'],
    ['/dev/zero', () => '/dev/zero', 'a character device'],
    ['folder', () => tmp, 'a folder'],
    ['socket', () => sock, 'a socket'],
  ])('refuses a %s at once, naming what it is', async (_, path, kind) => {
    for (const read of [readRegularFile, readImageFile, async (p: string, o: { maxBytes: number; what: string }) => readRegularFileSync(p, o)]) {
      const e = await fstaError(read(path(), { maxBytes: MAX_JSON_BYTES, what: 'config' }));
      expect(e.code).toBe('NOT_A_REGULAR_FILE');
      expect(e.message).toContain(`config ${path()} is ${kind}, not a regular file`);
    }
  });
  it('refuses a file over the limit from its size, before reading it (a 3 GiB sparse file)', async () => {
    const big = join(tmp, 'big.onnx'); writeFileSync(big, ''); truncateSync(big, 3 * 2 ** 30);
    const e = await fstaError(readRegularFile(big, { maxBytes: MAX_MODEL_BYTES, what: 'model' }));
    expect(e.code).toBe('FILE_TOO_LARGE');
    expect(e.message).toContain(`model ${big} is 3221225472 bytes, over the limit of 2147483647 bytes`);
  });
  it('reads a file longer than its stat size (/proc files say 0), up to the limit and no further', async () => {
    const want = readFileSync('/proc/self/maps');
    expect(want.length).toBeGreaterThan(1000);
    expect((await readRegularFile('/proc/self/maps', { maxBytes: MAX_JSON_BYTES, what: 'config' })).length).toBeGreaterThan(1000);
    expect(readRegularFileSync('/proc/cpuinfo', { maxBytes: MAX_JSON_BYTES, what: 'config' }).equals(readFileSync('/proc/cpuinfo'))).toBe(true);
    const e = await fstaError(readRegularFile('/proc/cpuinfo', { maxBytes: 100, what: 'config' }));
    expect(e.code).toBe('FILE_TOO_LARGE');
    expect(e.message).toContain('config /proc/cpuinfo grew past the limit of 100 bytes while being read');
  });
  it('passes OS errors through for the caller to word', async () => {
    await expect(readRegularFile(join(tmp, 'nope'), { maxBytes: 1, what: 'model' })).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(readImageFile(join(tmp, 'nope'), { maxBytes: 1, what: 'image' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
  it('readImageFile: the same bytes and limits below and above the size it reads synchronously', async () => {
    for (const size of [0, 1000, SYNC_IMAGE_READ_BYTES, SYNC_IMAGE_READ_BYTES + 1]) {
      const p = join(tmp, `img-${size}.bin`);
      writeFileSync(p, Buffer.alloc(size, size % 251));
      expect((await readImageFile(p, { maxBytes: 2 * SYNC_IMAGE_READ_BYTES, what: 'image' })).equals(readFileSync(p))).toBe(true);
      if (size > 0) expect((await fstaError(readImageFile(p, { maxBytes: size - 1, what: 'image 3' }))).message).toContain(`image 3 ${p} is ${size} bytes, over the limit`);
    }
    expect((await readImageFile('/proc/cpuinfo', { maxBytes: MAX_JSON_BYTES, what: 'image' })).equals(readFileSync('/proc/cpuinfo'))).toBe(true);
  });
});

describe('decodeImage and createDetector read only regular files', () => {
  it('an image path that is a FIFO named x.png: refused, not a hang', { timeout: 5000 }, async () => {
    const e = await fstaError(decodeImage(fifo, 4));
    expect(e.code).toBe('NOT_A_REGULAR_FILE');
    expect(e.message).toContain(`image 4 ${fifo} is a FIFO (named pipe)`);
    expect(e.details.sample).toBe(4);
  });
  it('a model that is /dev/zero or a FIFO: refused, neither 7 GB read nor a hang', { timeout: 5000 }, async () => {
    expect((await fstaError(createDetector({ model: '/dev/zero' }))).message).toContain('model /dev/zero is a character device');
    expect((await fstaError(createDetector({ model: fifo }))).message).toContain(`model ${fifo} is a FIFO`);
  });
  it('a config that is a FIFO or over 16 MiB: refused before the model is even opened', { timeout: 5000 }, async () => {
    expect((await fstaError(createDetector({ model: new Uint8Array(1), config: fifo }))).message).toContain(`config ${fifo} is a FIFO`);
    const big = join(tmp, 'big.json'); writeFileSync(big, ''); truncateSync(big, MAX_JSON_BYTES + 1);
    expect((await fstaError(createDetector({ model: new Uint8Array(1), config: big }))).code).toBe('FILE_TOO_LARGE');
  });
});
