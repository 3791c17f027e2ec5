import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Issue 4's selective install: `npm pack` the packages (from freshly built dist),
 * install @fsta/core + ONE adapter + its runtime into an empty folder, check that
 * the other runtimes are absent, and score an image there with a tiny script that
 * imports the packages by name, as a user would. Its scores must equal the same
 * adapter run from source in this process.
 */
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const shared = join(repo, '..', 'shared');
const resnetOnnx = join(shared, 'models/cifar10-resnet20.onnx');
const image = join(shared, 'data/cifar10-test-png-1k/airplane/0000.png');
const work = mkdtempSync(join(tmpdir(), 'fsta-selective-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const DEPS: Record<string, string[]> = { core: [], backbones: ['core'], onnx: ['core', 'backbones'], 'onnxruntime-node': ['core', 'backbones', 'onnx'], 'onnxruntime-web': ['core', 'backbones', 'onnx'], tfjs: ['core', 'backbones'] };
const rootVersion = (pkg: string) => (JSON.parse(readFileSync(join(repo, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (e) {
    const { stdout, stderr } = e as { stdout?: string; stderr?: string };
    throw new Error(`\`${[cmd, ...args].join(' ')}\` failed in ${cwd}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** Builds dist (dependencies first) and packs each package once; returns the tarball. */
const tarballs = new Map<string, string>();
function packed(name: string): string {
  const done = tarballs.get(name);
  if (done) return done;
  for (const dep of DEPS[name]!) packed(dep);
  const dir = join(repo, 'packages', name);
  run(join(repo, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json'], dir);
  mkdirSync(join(work, 'packs'), { recursive: true });
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', join(work, 'packs')], dir)) as { filename: string; files: { path: string }[] }[];
  // Only the build output and the docs ship: no src, tests or configs.
  for (const f of info!.files) expect(f.path, `${name} ships ${f.path}`).toMatch(/^(dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map)|package\.json|README\.md|LICENSE)$/);
  const tgz = join(work, 'packs', info!.filename);
  tarballs.set(name, tgz);
  return tgz;
}

/** An empty app folder with @fsta/core, one adapter (and what it needs) and `runtime` installed. */
function install(adapter: string, runtime: string[]): string {
  const app = join(work, adapter);
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `app-${adapter}`, private: true, type: 'module' }));
  // onnxruntime-node's postinstall would otherwise try to download its CUDA provider.
  writeFileSync(join(app, '.npmrc'), 'onnxruntime-node-install=skip\naudit=false\nfund=false\n');
  const ours = [...DEPS[adapter]!, adapter].map(packed);
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...ours, ...runtime], app);
  // Every dependency and required peer is satisfied.
  run('npm', ['ls', '--all'], app);
  return app;
}

const present = (app: string, pkg: string) => existsSync(join(app, 'node_modules', pkg, 'package.json'));

/** Runs `script` (an ES module) in the app folder and parses the JSON it prints. */
function score(app: string, script: string, ...args: string[]): { runtime: string; fs: number; fsTa: number; energy: number; score: number; verdict: string | null } {
  writeFileSync(join(app, 'score.mjs'), script);
  const lines = run(process.execPath, ['score.mjs', ...args], app).trim().split('\n');
  return JSON.parse(lines.at(-1)!);
}

const printScore = `const [s] = await det.score(input);
console.log(JSON.stringify({ runtime: det.runtime, fs: s.fs, fsTa: s.fsTa, energy: s.classifier.energy, score: s.score, verdict: s.verdict }));
await det.dispose();`;

/** The image as 8-bit RGB pixels in a file, for the adapters that do not decode files. */
async function pixelFile(): Promise<string> {
  const file = join(work, 'image.rgb');
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  expect([info.width, info.height, info.channels]).toEqual([32, 32, 3]);
  writeFileSync(file, data);
  return file;
}
const pixelsFrom = (path: string) => ({ data: new Uint8Array(readFileSync(path)), width: 32, height: 32, channels: 3 as const });

const OPTIONS = { backbone: 'cifar_resnet20', k: 0.5, classifier: 'energy', lambda: 0.016, config: undefined } as const;
const expectSame = (got: ReturnType<typeof score>, want: { fs: number; fsTa: number | null; classifier: { energy?: number }; score: number }, runtime: string) => {
  expect(got.runtime).toBe(runtime);
  expect(got.fs).toBeCloseTo(want.fs, 6);
  expect(got.fsTa).toBeCloseTo(want.fsTa!, 6);
  expect(got.energy).toBeCloseTo(want.classifier.energy!, 5);
  expect(got.score).toBeCloseTo(want.score, 6);
  expect(got.verdict).toBeNull();
};

describe('selective install: @fsta/core + one adapter + its runtime, from npm pack tarballs', () => {
  it('@fsta/onnxruntime-node with onnxruntime-node: scores a PNG file; no tfjs, no onnxruntime-web', async () => {
    const app = install('onnxruntime-node', [`onnxruntime-node@${rootVersion('onnxruntime-node')}`]);
    for (const other of ['@tensorflow/tfjs-core', 'onnxruntime-web', '@fsta/tfjs', '@fsta/onnxruntime-web']) expect(present(app, other), other).toBe(false);
    const got = score(app, `import { createDetector } from '@fsta/onnxruntime-node';
const det = await createDetector({ model: process.argv[2], ...${JSON.stringify(OPTIONS)}, executionProviders: ['cpu'] });
const input = process.argv[3];
${printScore}`, resnetOnnx, image);
    const { createDetector } = await import('@fsta/onnxruntime-node');
    const det = await createDetector({ model: resnetOnnx, ...OPTIONS, executionProviders: ['cpu'] });
    expectSame(got, (await det.score(image))[0]!, 'onnxruntime-node/cpu');
    await det.dispose();
  });

  it('@fsta/onnxruntime-web with onnxruntime-web (WASM in Node): scores pixels; no onnxruntime-node, tfjs or sharp', async () => {
    const app = install('onnxruntime-web', [`onnxruntime-web@${rootVersion('onnxruntime-web')}`]);
    for (const other of ['onnxruntime-node', '@tensorflow/tfjs-core', 'sharp', '@fsta/onnxruntime-node', '@fsta/tfjs']) expect(present(app, other), other).toBe(false);
    const px = await pixelFile();
    const got = score(app, `import { readFileSync } from 'node:fs';
import { createDetector } from '@fsta/onnxruntime-web';
const det = await createDetector({ model: readFileSync(process.argv[2]), ...${JSON.stringify(OPTIONS)} });
const input = { data: new Uint8Array(readFileSync(process.argv[3])), width: 32, height: 32, channels: 3 };
${printScore}`, resnetOnnx, px);
    const { createDetector } = await import('@fsta/onnxruntime-web');
    const det = await createDetector({ model: readFileSync(resnetOnnx), ...OPTIONS });
    expectSame(got, (await det.score(pixelsFrom(px)))[0]!, 'onnxruntime-web/wasm');
    await det.dispose();
  });

  it('@fsta/tfjs with @tensorflow/tfjs-core, -backend-cpu and -layers: scores pixels on a LayersModel; no onnxruntime, sharp or @fsta/onnx', async () => {
    const tfVersion = rootVersion('@tensorflow/tfjs-core');
    const app = install('tfjs', ['tfjs-core', 'tfjs-backend-cpu', 'tfjs-layers'].map((p) => `@tensorflow/${p}@${tfVersion}`));
    for (const other of ['onnxruntime-node', 'onnxruntime-web', 'onnxruntime-common', 'sharp', 'protobufjs', '@fsta/onnx', '@tensorflow/tfjs-converter']) expect(present(app, other), other).toBe(false);
    const { resnetTfjsModelJson } = await import('../../tfjs/test/fixtures.js');
    const modelJson = await resnetTfjsModelJson();
    const px = await pixelFile();
    const tfjsOptions = { stages: { fs: 'layer3', ta: 'layer2' }, k: 0.5, logits: 'logits', config: { classifier: 'energy', lambda: 0.016 }, preprocess: { size: [32, 32], crop: 'none', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } } as const;
    const got = score(app, `import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { createDetector } from '@fsta/tfjs';
import { fileHandler } from '@fsta/tfjs/node';
await tf.setBackend('cpu');
const det = await createDetector({ model: await tfl.loadLayersModel(fileHandler(process.argv[2])), ...${JSON.stringify(tfjsOptions)} });
const input = { data: new Uint8Array(readFileSync(process.argv[3])), width: 32, height: 32, channels: 3 };
${printScore}`, modelJson, px);
    const tf = await import('@tensorflow/tfjs-core');
    await import('@tensorflow/tfjs-backend-cpu');
    const tfl = await import('@tensorflow/tfjs-layers');
    const { createDetector } = await import('../../tfjs/src/index.js');
    const { fileHandler } = await import('../../tfjs/src/node.js');
    await tf.setBackend('cpu');
    const det = await createDetector({ model: await tfl.loadLayersModel(fileHandler(modelJson)), ...tfjsOptions, preprocess: { ...tfjsOptions.preprocess, size: [32, 32] } });
    expectSame(got, (await det.score(pixelsFrom(px)))[0]!, 'tfjs/cpu');
  });
});
