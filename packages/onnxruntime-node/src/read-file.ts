import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { FstaError } from '@fsta/core';

/** protobuf cannot parse a message of 2 GiB or more, so no ONNX model is larger. */
export const MAX_MODEL_BYTES = 2 ** 31 - 1;
/** Configs, manifests and other JSON: far above any real one, far below what hurts. */
export const MAX_JSON_BYTES = 16 * 2 ** 20;
/** Encoded images: a 100-megapixel TIFF is ~300 MB uncompressed; JPEG/PNG are far smaller. */
export const MAX_IMAGE_BYTES = 256 * 2 ** 20;

export interface ReadRegularFileOptions {
  /** Refused above this many bytes, before any byte is read. */
  maxBytes: number;
  /** What the file is, for the message: "model", "config", "manifest", "image 3". */
  what: string;
  /** Added to the FstaError's details (e.g. the sample index). */
  details?: Record<string, unknown>;
}

/** The kind of a non-regular file, in words; null for a regular file. */
export function fileKind(st: Stats): string | null {
  if (st.isFile()) return null;
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

function check(st: Stats, path: string, o: ReadRegularFileOptions): void {
  const kind = fileKind(st);
  if (kind !== null) throw new FstaError('NOT_A_REGULAR_FILE', `${o.what} ${path} is ${kind}, not a regular file`, 'pass a regular file: fsta never reads pipes, devices, sockets or folders, which can block forever or never end', { ...o.details, kind });
  if (st.size > o.maxBytes) throw new FstaError('FILE_TOO_LARGE', `${o.what} ${path} is ${st.size} bytes, over the limit of ${o.maxBytes} bytes`, `check that ${path} is the file you meant`, { ...o.details, size: st.size, maxBytes: o.maxBytes });
}

// O_NONBLOCK: should the path become a FIFO between the stat and the open, the
// open returns at once instead of waiting for a writer (fstat then refuses it).
const FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/**
 * Reads a whole file, refusing anything but a regular file (FIFO, device, socket,
 * folder) and anything over `maxBytes`, before a byte is read: a FIFO would block
 * forever and /dev/zero would never end. Checked by stat before opening (so a
 * device is never even opened) and by fstat on the open descriptor (so a swap in
 * between is caught). OS errors (ENOENT, EACCES) are thrown as they are, for the
 * caller's own message; kind and size problems are FstaErrors.
 */
export function readRegularFileSync(path: string, o: ReadRegularFileOptions): Buffer {
  return readChecked(path, statSync(path), o);
}

function readChecked(path: string, before: Stats, o: ReadRegularFileOptions): Buffer {
  check(before, path, o);
  const fd = openSync(path, FLAGS);
  try {
    const st = fstatSync(fd);
    check(st, path, o);
    return readAll((buf, off) => readSync(fd, buf, off, buf.length - off, null), st.size, path, o);
  } finally {
    closeSync(fd);
  }
}

/** Image files up to this size are read synchronously by {@link readImageFile}. */
export const SYNC_IMAGE_READ_BYTES = 2 ** 20;

/**
 * Reads an image file as {@link readRegularFile} does (same checks, same errors), but a file
 * of at most SYNC_IMAGE_READ_BYTES synchronously: a few tens of microseconds on the main
 * thread, where the async read takes five thread-pool round trips (stat, open, fstat, read,
 * close) costing ~0.3 ms of CPU for a 32x32 JPEG, and each trip waits for the main thread,
 * which onnxruntime-node's run() holds for the whole inference: decodes queued during a run
 * could not get past their file read until it ended.
 */
export async function readImageFile(path: string, o: ReadRegularFileOptions): Promise<Buffer> {
  const st = statSync(path);
  return st.isFile() && st.size <= SYNC_IMAGE_READ_BYTES ? readChecked(path, st, o) : readRegularFile(path, o);
}

/** Async {@link readRegularFileSync}: same checks, same errors. */
export async function readRegularFile(path: string, o: ReadRegularFileOptions): Promise<Buffer> {
  check(await stat(path), path, o);
  const fh = await open(path, FLAGS);
  try {
    const st = await fh.stat();
    check(st, path, o);
    let buf: Buffer = Buffer.allocUnsafe(Math.min(st.size, o.maxBytes) + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) return buf.subarray(0, n);
      n += bytesRead;
      // The size fstat gave, read in one call with room for a byte more: the file ends
      // there (a growing file fills the spare byte), so no further read (one thread-pool
      // round trip, a fifth of the cost of reading a small image) is needed to see EOF.
      if (n === st.size && n < buf.length) return buf.subarray(0, n);
      if (n === buf.length) buf = grow(buf, path, o);
    }
  } finally {
    await fh.close();
  }
}

function readAll(read: (buf: Buffer, off: number) => number, size: number, path: string, o: ReadRegularFileOptions): Buffer {
  let buf: Buffer = Buffer.allocUnsafe(Math.min(size, o.maxBytes) + 1);
  let n = 0;
  for (;;) {
    const got = read(buf, n);
    if (got === 0) return buf.subarray(0, n);
    n += got;
    if (n === buf.length) buf = grow(buf, path, o);
  }
}

// The buffer is one byte larger than fstat's size, so a file that grows while it is
// read fills it: fine up to maxBytes, refused past it.
function grow(buf: Buffer, path: string, o: ReadRegularFileOptions): Buffer {
  if (buf.length > o.maxBytes) throw new FstaError('FILE_TOO_LARGE', `${o.what} ${path} grew past the limit of ${o.maxBytes} bytes while being read`, `check that ${path} is the file you meant, and that nothing is writing to it`, { ...o.details, maxBytes: o.maxBytes });
  const bigger = Buffer.allocUnsafe(Math.min(buf.length * 2, o.maxBytes + 1));
  buf.copy(bigger);
  return bigger;
}
