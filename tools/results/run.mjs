#!/usr/bin/env node
// Regenerates docs/results.md from `fsta eval` / `fsta calibrate` runs of the BUILT CLI
// (apps/cli/dist/bin.js) on ../shared. Usage (from the repo root):
//   npm run results                               # build, run what is not cached, render
//   node tools/results/run.mjs [--fresh] [--render-only]
// Each run's JSON, stdout and timing are cached in .cache/results/json/; a job re-runs
// only when its arguments changed (or with --fresh). --render-only runs nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDatasets } from './datasets.mjs';
import { SWEEP_PERCENTILES, calibrateJob, calibratedEvalJob, evalJobs, manifests } from './plan.mjs';
import { renderResults } from './render.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const shared = '../shared';
const cache = '.cache/results';
const jsonDir = join(cache, 'json');
const bin = 'apps/cli/dist/bin.js';
const argv = process.argv.slice(2);
const renderOnly = argv.includes('--render-only');
const fresh = argv.includes('--fresh');
for (const a of argv) if (!['--render-only', '--fresh'].includes(a)) fail(`unknown option ${a}`, 'use --render-only or --fresh');

function fail(problem, fix) {
  process.stderr.write(`results: error: ${problem}. Fix: ${fix}.\n`);
  process.exit(2);
}

process.chdir(root);
if (!existsSync(join(shared, 'models'))) fail(`${shared}/models does not exist`, 'put the shared models and images next to the repository (../shared)');
if (!renderOnly && !existsSync(bin)) fail(`${bin} is missing`, 'run `npm run build` first (npm run results does)');
mkdirSync(jsonDir, { recursive: true });

const metaPath = (id) => join(jsonDir, `${id}.meta.json`);
const readMeta = (id) => (existsSync(metaPath(id)) ? JSON.parse(readFileSync(metaPath(id), 'utf8')) : null);
const sameArgs = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Runs `fsta ARGS` unless cached with the same args; returns the meta record. */
function fsta(id, args) {
  const cached = readMeta(id);
  if (cached && !fresh && sameArgs(cached.args, args)) return cached;
  if (renderOnly) fail(`no cached result for ${id}${cached ? ' with the current arguments' : ''}`, 'run without --render-only');
  process.stderr.write(`results: fsta ${args.join(' ')}\n`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0 && r.status !== 1) fail(`fsta ${args[0]} for ${id} exited with ${r.status}: ${(r.stderr || '').trim().split('\n').pop()}`, 'run the printed command by hand to see the full error');
  const meta = { id, args, seconds, exit: r.status, stdout: r.stdout, skipped: (r.stderr.match(/fsta: skipped .*/g) ?? []) };
  writeFileSync(metaPath(id), JSON.stringify(meta, null, 2) + '\n');
  process.stderr.write(`results: ${id} done in ${seconds.toFixed(0)} s\n`);
  return meta;
}

const dataAbs = renderOnly ? null : await makeDatasets(root, shared);
const data = Object.fromEntries(Object.keys(dataAbs ?? { gaussian: 0, uniform: 0, mnist: 0, imagenetResize: 0, cifarVal: 0 })
  .map((k) => [k, relative(root, join(root, cache, 'data', { gaussian: 'gaussian-32', uniform: 'uniform-32', mnist: 'mnist-32', imagenetResize: 'imagenet-resize-32', cifarVal: 'cifar10-val-1k' }[k]))]));
const manDir = join(cache, 'manifests');
mkdirSync(manDir, { recursive: true });
const man = {};
for (const [name, m] of Object.entries(manifests())) {
  man[name] = join(manDir, `${name}.json`);
  writeFileSync(man[name], JSON.stringify(m, null, 2) + '\n');
}

const cal = calibrateJob(shared, data, man);
const calOut = join(jsonDir, `${cal.id}.config.json`);
const calMeta = fsta(cal.id, [...cal.args, '-o', calOut, '--force']);
// k as percentiles of ID activations at C4, as calibrate measured them on the validation split.
const pctKs = [...calMeta.stdout.matchAll(/^\s+C4\s+k=(\S+)\s+p(\d+)\s/gm)]
  .map((m) => ({ k: Number(m[1]), percentile: Number(m[2]) }))
  .filter((p) => SWEEP_PERCENTILES.includes(p.percentile));
if (pctKs.length !== SWEEP_PERCENTILES.length) fail('could not read the C4 percentile k values from fsta calibrate\'s output', 'check the candidate table format of `fsta calibrate`');

const calConfig = JSON.parse(readFileSync(calOut, 'utf8'));
const jobs = [...evalJobs(shared, data, man, pctKs), calibratedEvalJob(shared, data, man, calConfig)];
const results = [];
for (const j of jobs) {
  const out = join(jsonDir, `${j.id}.json`);
  const meta = fsta(j.id, [...j.args, '--json', out, '--force']);
  results.push({ ...j, meta, json: JSON.parse(readFileSync(out, 'utf8')) });
}

const md = renderResults({
  results, calibration: { meta: calMeta, config: calConfig, pctKs },
  machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`,
});
// The tfjs detectors' section comes from tools/results/detectors.mjs (npm run results:detectors): keep it.
const previous = existsSync('docs/results.md') ? readFileSync('docs/results.md', 'utf8') : '';
const detectors = previous.match(/<!-- detectors:begin[\s\S]*?<!-- detectors:end -->/)?.[0];
writeFileSync('docs/results.md', detectors ? `${md.trimEnd()}\n\n${detectors}\n` : md);
process.stderr.write(`results: wrote docs/results.md (${results.length + 1} fsta runs, ${(results.reduce((s, r) => s + r.meta.seconds, calMeta.seconds) / 60).toFixed(1)} min of fsta time)\n`);
