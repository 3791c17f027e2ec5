#!/usr/bin/env node
// @ts-check
// `npm run bench` (= build, then `node tools/bench/run.mjs [--quick]`): issue 7's and
// issue 16's side-by-side measurements, printed as tables and written to
// docs/performance.md. Speed goals live here, never in tests.
// `--sections e2e,latency,cli` runs only those sections (of overhead, e2e, latency,
// cli, runtimes, memory) and `--images N` caps the image counts: pair them with
// `--out /tmp/x.md` so docs/ keeps the full run.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { physicalCores } from '@fsta/onnxruntime-node';
import { machine } from './machine.mjs';
import { MODELS, ROOT, loadModel } from './models.mjs';
import { overheadSection, profileSection, workSection } from './overhead.mjs';
import { endToEndSection } from './end-to-end.mjs';
import { latencySection } from './latency.mjs';
import { cliSection } from './cli.mjs';
import { ortWebSection, tfjsSection } from './runtimes.mjs';
import { report } from './report.mjs';

const t0 = performance.now();
const quick = process.argv.includes('--quick');
const arg = (/** @type {string} */ name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const out = arg('--out') ?? join(ROOT, 'docs/performance.md');
const ALL = ['overhead', 'e2e', 'latency', 'cli', 'runtimes', 'memory'];
const sections = arg('--sections')?.split(',') ?? ALL;
const unknown = sections.filter((x) => !ALL.includes(x));
if (unknown.length) throw new Error(`--sections: unknown ${unknown.join(', ')}; known: ${ALL.join(', ')}`);
// reps: one ResNet-50 batch-16 run varies by about ±4% on a 2-core VM (occasional +25% outliers),
// so the median of 9 within-repetition ratios moved ±2 points between whole runs (1.217x, 1.240x)
// against a goal 3 points above the bound; 21 repetitions halve that spread's effect.
const P0 = quick
  ? { reps: 3, workReps: 3, e2eImages: { 'cifar10-test': 160, 'imagenet-val-1k': 64 }, latencyCalls: { 'cifar10-test': 100, 'imagenet-val-1k': 30 }, latencyWarmup: 10, cliImages: 160, cliReps: 3, peakImages: 160, calls: 200, longCalls: 500, profileRuns: 3, webReps: 3, tfjsRounds: 2, tfjsRuns: 3 }
  : { reps: 21, workReps: 9, e2eImages: { 'cifar10-test': 1000, 'imagenet-val-1k': 300 }, latencyCalls: { 'cifar10-test': 1000, 'imagenet-val-1k': 300 }, latencyWarmup: 20, cliImages: 1000, cliReps: 5, peakImages: 1000, calls: 1000, longCalls: 10000, profileRuns: 10, webReps: 7, tfjsRounds: 3, tfjsRuns: 5 };

// `--images N` caps every image and call count (a smoke run of the code, not a measurement).
const cap = arg('--images') === undefined ? Infinity : Number(arg('--images'));
if (!(cap >= 1)) throw new Error(`--images must be a positive number, got ${arg('--images')}`);
const perSet = (/** @type {Record<string, number>} */ v) => Object.fromEntries(Object.entries(v).map(([k, n]) => [k, Math.min(n, cap)]));
const P = { ...P0, e2eImages: perSet(P0.e2eImages), latencyCalls: perSet(P0.latencyCalls), latencyWarmup: Math.min(P0.latencyWarmup, cap), cliImages: Math.min(P0.cliImages, cap), peakImages: Math.min(P0.peakImages, cap) };

// A partial run never replaces the full one in docs/.
if ((sections !== ALL || cap !== Infinity) && arg('--out') === undefined) throw new Error('--sections and --images make a partial run: give --out /tmp/NAME.md so docs/performance.md keeps the full one');

const log = (/** @type {string} */ s) => {
  process.stderr.write(`[bench ${((performance.now() - t0) / 60000).toFixed(1)} min] ${s}\n`);
  // Partial results, so a run cut short still shows what it measured.
  writeFileSync(out.replace(/\.md$/, '.partial.json'), JSON.stringify(results, null, 1));
};
const before = machine();
const results = { date: new Date().toISOString(), quick, sections, params: P, machine: before, detectorThreads: physicalCores(), overhead: [], work: [], flops: {}, profile: [], e2e: [], latency: [], cli: [], web: [], tfjs: null, memory: null };

const models = MODELS.map(loadModel);
const model = (/** @type {string} */ id) => /** @type {typeof models[number]} */ (models.find((x) => x.id === id));
// The end-to-end models: bench-torch.py's --model is the id, createDetector's backbone the third field.
const E2E = /** @type {const} */ ([['cifar10-resnet56', 'cifar10-test', 'cifar_resnet56'], ['imagenet-mobilenetv2', 'imagenet-val-1k', 'mobilenet_v2'], ['resnet50', 'imagenet-val-1k', 'resnet50']]);

for (const m of sections.includes('overhead') ? models : []) {
  log(`overhead and variants: ${m.label}`);
  const r = await overheadSection(m, [1, 16], P.reps);
  results.overhead.push(...r.rows);
  log(`CPU work at one thread, batch 16: ${m.label}`);
  results.work.push({ model: m.label, batch: 16, variants: await workSection(m, 16, P.workReps) });
  results.flops[m.label] = r.flops;
  log(`profile: ${m.label}`);
  results.profile.push(await profileSection(m, 16, P.profileRuns));
}

for (const [id, set, backbone] of sections.includes('e2e') ? E2E : []) {
  log(`end to end: ${id} on ${set}`);
  const m = model(id);
  results.e2e.push(await endToEndSection({ id, backbone, set, n: P.e2eImages[set], path: m.path, k: m.k }));
}

for (const [id, set, backbone] of sections.includes('latency') ? E2E : []) {
  log(`single-image latency: ${id} on ${set}`);
  const m = model(id);
  results.latency.push(await latencySection({ id, backbone, set, n: P.latencyCalls[set], path: m.path, k: m.k, warmup: P.latencyWarmup }));
}

if (sections.includes('cli')) {
  log('fsta score (the built CLI) vs the library: cifar10-resnet56');
  results.cli.push(await cliSection({ id: 'cifar10-resnet56', backbone: 'cifar_resnet56', set: 'cifar10-test', n: P.cliImages, path: model('cifar10-resnet56').path, reps: P.cliReps }));
}

if (sections.includes('runtimes')) {
  for (const m of models.filter((x) => x.id !== 'resnet50')) {
    log(`onnxruntime-web vs onnxruntime-node: ${m.label}`);
    results.web.push(await ortWebSection(m, 16, P.webReps));
  }
  log('tfjs wasm vs cpu');
  results.tfjs = await tfjsSection(16, P.tfjsRounds, P.tfjsRuns);
}

const child = (/** @type {string[]} */ args) => {
  log(`memory: ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'tools/bench/memory.mjs'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`memory.mjs ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
};
if (sections.includes('memory')) {
  results.memory = {
    peak: child(['peak', String(P.peakImages)]),
    calls: child(['calls', String(P.calls)]),
    tfjs: child(['tfjs', String(P.calls)]),
    long: child(['calls', String(P.longCalls)]),
  };
}
results.machine = { ...before, loadavgAfter: machine().loadavg };
results.minutes = (performance.now() - t0) / 60000;

const { markdown, tables } = report(results, `node tools/bench/run.mjs${quick ? ' --quick' : ''}${sections === ALL ? '' : ` --sections ${sections.join(',')}`}${cap === Infinity ? '' : ` --images ${cap}`}`);
process.stdout.write(tables + '\n');
writeFileSync(out, markdown);
writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify(results, null, 1) + '\n');
rmSync(out.replace(/\.md$/, '.partial.json'), { force: true });
log(`wrote ${out} in ${results.minutes.toFixed(1)} min`);
