#!/usr/bin/env node
// @ts-check
// `npm run bench` (= build, then `node tools/bench/run.mjs [--quick]`): issue 7's
// side-by-side measurements, printed as tables and written to docs/performance.md.
// Speed goals live here, never in tests.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machine } from './machine.mjs';
import { MODELS, ROOT, loadModel } from './models.mjs';
import { overheadSection, profileSection } from './overhead.mjs';
import { endToEndSection } from './end-to-end.mjs';
import { ortWebSection, tfjsSection } from './runtimes.mjs';
import { report } from './report.mjs';

const t0 = performance.now();
const quick = process.argv.includes('--quick');
const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : join(ROOT, 'docs/performance.md');
const P = quick
  ? { reps: 3, e2eImages: { 'cifar10-test': 160, 'imagenet-val-1k': 64 }, peakImages: 160, calls: 200, longCalls: 500, profileRuns: 3, webReps: 3, tfjsRounds: 2, tfjsRuns: 3 }
  : { reps: 9, e2eImages: { 'cifar10-test': 1000, 'imagenet-val-1k': 300 }, peakImages: 1000, calls: 1000, longCalls: 10000, profileRuns: 10, webReps: 7, tfjsRounds: 3, tfjsRuns: 5 };

const log = (/** @type {string} */ s) => {
  process.stderr.write(`[bench ${((performance.now() - t0) / 60000).toFixed(1)} min] ${s}\n`);
  // Partial results, so a run cut short still shows what it measured.
  writeFileSync(out.replace(/\.md$/, '.partial.json'), JSON.stringify(results, null, 1));
};
const before = machine();
const results = { date: new Date().toISOString(), quick, params: P, machine: before, overhead: [], flops: {}, profile: [], e2e: [], web: [], tfjs: null, memory: {} };

const models = MODELS.map(loadModel);
for (const m of models) {
  log(`overhead and variants: ${m.label}`);
  const r = await overheadSection(m, [1, 16], P.reps);
  results.overhead.push(...r.rows);
  results.flops[m.label] = r.flops;
  log(`profile: ${m.label}`);
  results.profile.push(await profileSection(m, 16, P.profileRuns));
}

for (const [id, set, backbone] of [['cifar10-resnet56', 'cifar10-test', 'cifar_resnet56'], ['imagenet-mobilenetv2', 'imagenet-val-1k', 'mobilenet_v2']]) {
  log(`end to end: ${id} on ${set}`);
  const m = /** @type {typeof models[number]} */ (models.find((x) => x.id === id));
  results.e2e.push(await endToEndSection({ id, backbone, set, n: P.e2eImages[set], path: m.path, k: m.k }));
}

for (const m of models.filter((x) => x.id !== 'resnet50')) {
  log(`onnxruntime-web vs onnxruntime-node: ${m.label}`);
  results.web.push(await ortWebSection(m, 16, P.webReps));
}
log('tfjs wasm vs cpu');
results.tfjs = await tfjsSection(16, P.tfjsRounds, P.tfjsRuns);

const child = (/** @type {string[]} */ args) => {
  log(`memory: ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(ROOT, 'tools/bench/memory.mjs'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`memory.mjs ${args.join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
};
results.memory = {
  peak: child(['peak', String(P.peakImages)]),
  calls: child(['calls', String(P.calls)]),
  tfjs: child(['tfjs', String(P.calls)]),
  long: child(['calls', String(P.longCalls)]),
};
results.machine = { ...before, loadavgAfter: machine().loadavg };
results.minutes = (performance.now() - t0) / 60000;

const { markdown, tables } = report(results, `node tools/bench/run.mjs${quick ? ' --quick' : ''}`);
process.stdout.write(tables + '\n');
writeFileSync(out, markdown);
writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify(results, null, 1) + '\n');
rmSync(out.replace(/\.md$/, '.partial.json'), { force: true });
log(`wrote ${out} in ${results.minutes.toFixed(1)} min`);
