// @ts-check
// Issue 16: `fsta score` runs @fsta/onnxruntime-node's createDetector, so the built
// CLI, started as a child process on the same JPEG list, should cost the library's
// time plus process start. Timed here side by side with the library in this process;
// the CLI's scores are checked against the library's, file by file.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fstaPipeline } from './end-to-end.mjs';
import { imageList } from './images.mjs';
import { ROOT } from './models.mjs';
import { maxDiff } from './stats.mjs';

export const CLI = join(ROOT, 'apps/cli/dist/bin.js');
const now = () => performance.now();

/** Wall seconds of one child process, and its stdout; a failure throws with its stderr. */
function timedRun(/** @type {string[]} */ args) {
  const t = now();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (now() - t) / 1000;
  if (r.status !== 0) throw new Error(`node ${args.slice(0, 6).join(' ')} … exited ${r.status ?? r.signal}: ${(r.stderr ?? r.error?.message ?? '').slice(-2000)}`);
  return { seconds, stdout: r.stdout };
}

/**
 * The CLI's JSON lines, one per file in order; an error line is refused (a bench on
 * files that did not score would time the wrong thing).
 * @param {string} stdout @param {string[]} files
 */
export function parseScoreLines(stdout, files) {
  const lines = stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  if (lines.length !== files.length) throw new Error(`fsta score printed ${lines.length} lines for ${files.length} files`);
  lines.forEach((l, i) => {
    if (l.file !== files[i]) throw new Error(`fsta score line ${i} is for ${l.file}, expected ${files[i]}`);
    if ('error' in l) throw new Error(`fsta score could not score ${l.file}: ${l.error}`);
  });
  return /** @type {{ file: string, fs: number, fsTa: number | null }[]} */ (lines);
}

/** @param {{ id: string, backbone: string, set: string, n: number, path: string, batch?: number }} m */
export async function cliSection({ id, backbone, set, n, path, batch = 16 }) {
  const files = imageList(set, n);
  const cli = (/** @type {string[]} */ fs) => timedRun([CLI, 'score', '--model', path, '--backbone', backbone, '--batch', String(batch), ...fs]);
  const nodeStart = timedRun(['-e', '0']).seconds;
  const one = cli(files.slice(0, 1));
  const all = cli(files);
  const lines = parseScoreLines(all.stdout, files);
  // The library as fsta score's loop calls it (one batch at a time), and as the
  // end-to-end row does (two batches in flight, decode overlapping inference).
  const sequential = await fstaPipeline(path, backbone, files, { batch, inFlight: 1, warmup: 32 });
  const overlapped = await fstaPipeline(path, backbone, files, { batch, inFlight: 2, warmup: 32 });
  // Process start, module loading, createDetector and one image: what a second run
  // on N files pays once more than the library's per-image time.
  const startSeconds = one.seconds;
  const cliImagesPerS = (files.length - 1) / Math.max(1e-9, all.seconds - one.seconds);
  return {
    model: id, set, images: files.length, batch,
    command: `node apps/cli/dist/bin.js score --model ${path.replace(ROOT, '')} --backbone ${backbone} --batch ${batch} FILES…`,
    nodeStartSeconds: nodeStart,
    cliOneImageSeconds: one.seconds,
    cliSeconds: all.seconds,
    cliImagesPerSWithStart: files.length / all.seconds,
    cliImagesPerS,
    startSeconds,
    libraryOpenSeconds: sequential.openSeconds,
    librarySequentialImagesPerS: sequential.imagesPerS,
    libraryImagesPerS: overlapped.imagesPerS,
    // Above 1: the CLI, past its start, scores faster than the library.
    ratioSequential: cliImagesPerS / sequential.imagesPerS,
    ratio: cliImagesPerS / overlapped.imagesPerS,
    agree: {
      fs: maxDiff(lines.map((l) => l.fs), sequential.scores.map((s) => s.fs)),
      fsTa: maxDiff(lines.map((l) => /** @type {number} */ (l.fsTa)), sequential.scores.map((s) => /** @type {number} */ (s.fsTa))),
    },
  };
}
