import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel } from '@fsta/onnx';
import { runCli } from './helpers.js';

// `fsta inspect` and `fsta patch` on the torchvision exports (tools/export_torchvision.py
// → .cache/models). inspect: the matched manifest, each stage with the shape one run of
// the model gives. The patched models' numbers are checked in packages/onnx/test/patch-exports.test.ts.
const ROOT = join(import.meta.dirname, '..', '..', '..');
const model = (name: string) => join(ROOT, '.cache', 'models', `${name}.onnx`);

beforeAll(() => {
  execFileSync('node', [join(ROOT, 'tools', 'ensure-models.mjs')], { stdio: 'inherit' });
}, 900_000);

/** "C5 → [1, 2048, 7, 7]" from inspect's stage lines. */
const stages = (out: string) => Object.fromEntries([...out.matchAll(/^ {2}(C[2-5]) {2}\[([\d, ]+)\]/gm)].map((m) => [m[1], m[2]!.split(', ').map(Number)]));

describe('fsta inspect on torchvision exports', () => {
  it('ResNet-50: manifest resnet50, C2…C5 at strides 4/8/16/32, head fc', async () => {
    const r = await runCli(['inspect', model('resnet50')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^backbone: resnet50 \(torchvision ResNet-50/m);
    expect(r.out).toMatch(/^input: input \[1, 3, 224, 224\]/m);
    expect(stages(r.out)).toEqual({ C2: [1, 256, 56, 56], C3: [1, 512, 28, 28], C4: [1, 1024, 14, 14], C5: [1, 2048, 7, 7] });
    expect(r.out).toMatch(/tensor \/layer4\/layer4\.2\/relu_2\/Relu_output_0/);
    expect(r.out).toMatch(/^defaults: FS at C5, TA at C4, k 0\.2$/m);
    expect(r.out).toMatch(/^head: fc\.weight \[1000, 2048\] on \S+ -> logits$/m);
  });

  it('FCN-ResNet50: dilated, so C3, C4 and C5 all at stride 8 (28x28 for 224x224); the export size replaces the manifest default', async () => {
    const r = await runCli(['inspect', model('fcn_resnet50')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^backbone: fcn_resnet50 /m);
    expect(r.out).toMatch(/^input: input \[1, 3, 224, 224\] .*the model's fixed 224x224 replaces the manifest's default 520x520/m);
    expect(stages(r.out)).toEqual({ C2: [1, 256, 56, 56], C3: [1, 512, 28, 28], C4: [1, 1024, 28, 28], C5: [1, 2048, 28, 28] });
    expect(r.out).toMatch(/tensor \/backbone\/layer4\//);
    expect(r.out).toMatch(/^head: none found$/m);
  });

  it('FCN-ResNet50 exported at 224: fsta score uses the export size (it used the manifest\'s 520 and crashed)', async () => {
    const image = join(ROOT, '..', 'shared', 'data', 'imagenet-val-1k');
    const first = readdirSync(image).sort()[0]!;
    const r = await runCli(['score', '--model', model('fcn_resnet50'), join(image, first)]);
    expect(r.code, r.err).toBe(0);
    const line = JSON.parse(r.out.trim().split('\n').at(-1)!);
    expect(line.fs).toBeGreaterThan(0);
    expect(line.fsTa).toBeGreaterThan(0);
  }, 120_000);

  it('Faster R-CNN R50-FPN: one [3, 320, 320] image, the body stages inside the full detector', async () => {
    const r = await runCli(['inspect', model('fasterrcnn_resnet50_fpn')]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^backbone: fasterrcnn_resnet50_fpn /m);
    expect(r.out).toMatch(/^input: input \[3, 320, 320\]/m);
    expect(stages(r.out)).toEqual({ C2: [1, 256, 80, 80], C3: [1, 512, 40, 40], C4: [1, 1024, 20, 20], C5: [1, 2048, 10, 10] });
    expect(r.out).toMatch(/tensor \/backbone\/body\/layer4\//);
  });
});

describe('fsta patch on torchvision exports', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'fsta-patch-exports-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const cases = [
    ['resnet18', ['--mode', 'double-batch'], ['logits', 'fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score']],
    ['resnet50', [], ['logits', 'fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score']],
    ['densenet121', ['--classifier', 'energy'], ['logits', 'fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/maxlogit', 'fsta/energy', 'fsta/score']],
    ['fcn_resnet50', [], ['out', 'fsta/fs', 'fsta/fs_ta']],
    ['fasterrcnn_resnet50_fpn', [], ['boxes', 'labels', 'scores', 'fsta/fs', 'fsta/fs_ta']],
  ] as const;
  it.each(cases)('%s --backbone auto %j', async (name, extra, outputs) => {
    const out = join(tmp, `${name}.onnx`);
    const r = await runCli(['patch', model(name), '-o', out, '--backbone', 'auto', ...extra]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`backbone ${name}, FS at C5, TA at C4 with k=0\\.2.*${extra[0] === '--mode' ? 'double-batch' : 'branch'} mode; model outputs .* unchanged`));
    const m = decodeModel(readFileSync(out));
    const own = decodeModel(readFileSync(model(name))).graph!.output!.map((o) => o.name);
    expect(m.graph!.output!.map((o) => o.name)).toEqual([...own, ...outputs.filter((o) => o.startsWith('fsta/'))]);
    expect(outputs.filter((o) => !o.startsWith('fsta/'))).toEqual(own);
  });
});
