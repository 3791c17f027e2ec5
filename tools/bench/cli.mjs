// @ts-check
// Issue 16: `fsta score` runs @fsta/onnxruntime-node's createDetector, so the built
// CLI, started as a child process on the same JPEG list, should cost the library's
// time plus process start. Timed here side by side with the library in this process;
// the CLI's scores are checked against the library's, file by file.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fstaPipeline } from './end-to-end.mjs';
import { imageList } from './images.mjs';
import { ROOT } from './models.mjs';
import { maxDiff, median } from './stats.mjs';

export const CLI = join(ROOT, 'apps/cli/dist/bin.js');
const now = () => performance.now();

/** Wall seconds of one child process, and its stdout; a failure throws with its stderr. */
function timedRun(/** @type {string[]} */ args) {
  const t = now();
  // From the repository root, so the library imports the way the workspace resolves it.
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28, cwd: ROOT });
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

/**
 * `reps` rounds, each timing, in an order that rotates per round: a bare node start,
 * the library on the first file in a fresh process, the CLI on the first file, the
 * CLI on all, and in this process the library one batch at a time and two in flight. Each
 * figure is the median over rounds; the ratios are taken within a round, so load that
 * comes and goes hits both sides of a ratio alike.
 * @param {{ id: string, backbone: string, set: string, n: number, path: string, batch?: number, reps?: number }} m
 */
export async function cliSection({ id, backbone, set, n, path, batch = 16, reps = 3 }) {
  const files = imageList(set, n);
  // The paths go in a list file: a long command line makes onnxruntime-node 1.30 crash (SIGSEGV) creating its session.
  const list = join(tmpdir(), `fsta-bench-cli-${process.pid}.txt`);
  const cli = (/** @type {string[]} */ fs) => {
    writeFileSync(list, fs.join('\n') + '\n');
    return timedRun([CLI, 'score', '--model', path, '--backbone', backbone, '--batch', String(batch), '--files-from', list]);
  };
  /** @type {Record<string, () => Promise<void>>} */
  const steps = {};
  /** @type {{ node: number[], libOne: number[], one: number[], all: number[], openSeq: number[], seq: number[], par: number[] }} */
  const t = { node: [], libOne: [], one: [], all: [], openSeq: [], seq: [], par: [] };
  /** @type {{ file: string, fs: number, fsTa: number | null }[]} */
  let lines = [];
  /** @type {import('@fsta/core').ImageScore[]} */
  let libScores = [];
  steps.node = async () => { t.node.push(timedRun(['-e', '0']).seconds); };
  // The library's own fixed cost in a fresh process: import, createDetector, one image.
  const libOne = `const { createDetector } = await import('@fsta/onnxruntime-node');
const d = await createDetector({ model: ${JSON.stringify(path)}, backbone: ${JSON.stringify(backbone)}, executionProviders: ['cpu'], batchSize: ${batch} });
await d.score(${JSON.stringify(files[0])});
await d.dispose();`;
  steps.libOne = async () => { t.libOne.push(timedRun(['--input-type=module', '-e', libOne]).seconds); };
  steps.one = async () => { t.one.push(cli(files.slice(0, 1)).seconds); };
  steps.all = async () => {
    const r = cli(files);
    t.all.push(r.seconds);
    lines = parseScoreLines(r.stdout, files);
  };
  // The library as fsta score's loop calls it (one batch at a time), and as the
  // end-to-end row does (two batches in flight, decode overlapping inference).
  steps.seq = async () => {
    const r = await fstaPipeline(path, backbone, files, { batch, inFlight: 1, warmup: 32 });
    t.openSeq.push(r.openSeconds);
    t.seq.push(r.seconds);
    libScores = r.scores;
  };
  steps.par = async () => { t.par.push((await fstaPipeline(path, backbone, files, { batch, inFlight: 2, warmup: 32 })).seconds); };
  const order = Object.keys(steps);
  for (let r = 0; r < reps; r++) for (let j = 0; j < order.length; j++) await /** @type {() => Promise<void>} */ (steps[/** @type {string} */ (order[(j + r) % order.length])])();
  // Past the fixed cost (process start, module loading, createDetector and one image,
  // which a run on N files pays once), per round. A round where N files took no longer
  // than one (start-up noise larger than the scoring time) says nothing about the rate:
  // it is left out, and with most rounds like that the rate is not reported at all.
  const rate = (/** @type {number} */ s) => files.length / s;
  const rounds = t.all.map((a, r) => ({ r, scoring: a - /** @type {number} */ (t.one[r]) })).filter((x) => x.scoring > 0);
  const resolved = rounds.length * 2 > reps;
  const cliRate = rounds.map((x) => (files.length - 1) / x.scoring);
  const within = (/** @type {number[]} */ lib) => (resolved ? median(rounds.map((x, i) => /** @type {number} */ (cliRate[i]) / rate(/** @type {number} */ (lib[x.r])))) : null);
  return {
    model: id, set, images: files.length, batch, reps,
    command: `node apps/cli/dist/bin.js score --model ${path.replace(ROOT, '')} --backbone ${backbone} --batch ${batch} FILES…`,
    nodeStartSeconds: median(t.node),
    libraryOneImageSeconds: median(t.libOne),
    cliOneImageSeconds: median(t.one),
    cliSeconds: median(t.all),
    cliImagesPerSWithStart: rate(median(t.all)),
    // null: the CLI's time on all files was not above its time on one in most rounds (use more files).
    cliImagesPerS: resolved ? median(cliRate) : null,
    startSeconds: median(t.one),
    libraryOpenSeconds: median(t.openSeq),
    librarySequentialImagesPerS: rate(median(t.seq)),
    libraryImagesPerS: rate(median(t.par)),
    // Above 1: the CLI, past its start, scores faster than the library.
    ratioSequential: within(t.seq),
    ratio: within(t.par),
    agree: {
      fs: maxDiff(lines.map((l) => l.fs), libScores.map((s) => s.fs)),
      fsTa: maxDiff(lines.map((l) => /** @type {number} */ (l.fsTa)), libScores.map((s) => /** @type {number} */ (s.fsTa))),
    },
  };
}
