import { copyFileSync, existsSync, linkSync, symlinkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, float32Initializer, type OnnxModel } from '@fsta/onnx';
import { runCli } from './helpers.js';

// What `fsta patch` says for each way a model or a request can be wrong (issue 3), and
// that it never leaves a half-written or wrong output behind. G's patch.test.ts covers
// the input-overwrite, existing-output, bad --k and missing-input cases.
const SHARED = join(import.meta.dirname, '..', '..', '..', '..', 'shared');
const resnet20 = join(SHARED, 'models', 'cifar10-resnet20.onnx');
const tmp = mkdtempSync(join(tmpdir(), 'fsta-patch-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One "fsta: error: … Fix: …." line, exit 2, and no output file or temp file left. */
async function refuses(args: string[], out: string, problem: RegExp, fix: RegExp): Promise<string> {
  const before = readdirSync(tmp).sort();
  const r = await runCli(['patch', ...args, '-o', out]);
  expect(r.code, r.out).toBe(2);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^fsta: error: /);
  expect(lines[0]).toMatch(problem);
  expect(lines[0]!.split('. Fix: ')[1], 'names a fix').toMatch(fix);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(tmp).sort()).toEqual(before);
  return lines[0]!;
}

describe('fsta patch: clear errors', () => {
  it('a wrong --backbone: unknown name, and a known one that does not fit', async () => {
    await refuses([resnet20, '--backbone', 'resnet-9000'], join(tmp, 'a.onnx'), /unknown backbone "resnet-9000"/, /use one of .*resnet50.*cifar_resnet20.*or "auto"/);
    await refuses([resnet20, '--backbone', 'resnet50'], join(tmp, 'a.onnx'), /backbone "resnet50" does not fit this model: .*conv1/, /pick the backbone the model was built from, or use --backbone auto/);
  });

  it('a model with no convolutional stages (MatMul only)', async () => {
    const mlp: OnnxModel = {
      irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'mlp',
        node: [{ opType: 'Flatten', input: ['input'], output: ['flat'], name: '/Flatten' }, { opType: 'MatMul', input: ['flat', 'w'], output: ['logits'], name: '/fc/MatMul' }],
        initializer: [float32Initializer('w', new Array(3 * 8 * 8 * 10).fill(0.01), [3 * 8 * 8, 10])],
        input: [{ name: 'input', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 3 }, { dimValue: 8 }, { dimValue: 8 }] } } } }],
        output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'N' }, { dimValue: 10 }] } } } }],
      },
    };
    const file = join(tmp, 'mlp.onnx');
    writeFileSync(file, encodeModel(mlp));
    await refuses([file], join(tmp, 'b.onnx'), /the model has no convolutional stages: it has no Conv node/, /pass a convolutional model/);
  });

  it('a requested stage that does not exist', async () => {
    const line = await refuses([resnet20, '--fs-stage', 'C2'], join(tmp, 'c.onnx'), /stage "C2" does not exist in this model \(backbone cifar_resnet20\)/, /use one of C3, C4, C5/);
    expect(line).not.toMatch(/internal error/);
    await refuses([resnet20, '--ta-stage', 'C7'], join(tmp, 'c.onnx'), /stage "C7" does not exist in this model/, /use one of C3, C4, C5/);
  });

  it('a corrupt file: text, and a real model cut short', async () => {
    const text = join(tmp, 'text.onnx');
    writeFileSync(text, 'this is not an ONNX model\n');
    const corrupt = [/not a readable ONNX model: protobuf decoding failed .*the file is truncated or not ONNX/, /re-export it if it was truncated/] as const;
    await refuses([text], join(tmp, 'd.onnx'), ...corrupt);
    const cut = join(tmp, 'cut.onnx');
    const bytes = readFileSync(resnet20);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await refuses([cut], join(tmp, 'd.onnx'), ...corrupt);
    rmSync(text);
    rmSync(cut);
  });
});

describe('fsta patch: atomic output', () => {
  it('--force replaces the output by rename: a hard link to the old file keeps the old bytes, no temp file is left', async () => {
    const model = join(tmp, 'model.onnx');
    copyFileSync(resnet20, model);
    const out = join(tmp, 'out.onnx');
    writeFileSync(out, 'old output');
    const keep = join(tmp, 'keep.onnx');
    linkSync(out, keep);
    const r = await runCli(['patch', model, '-o', out, '--force']);
    expect(r.code, r.err).toBe(0);
    // An in-place write would have changed the linked file too.
    expect(readFileSync(keep, 'utf8')).toBe('old output');
    const patched = decodeModel(readFileSync(out));
    expect(patched.graph!.output!.map((o) => o.name)).toEqual(expect.arrayContaining(['logits', 'fsta/fs', 'fsta/fs_ta', 'fsta/score']));
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The input is untouched.
    expect(readFileSync(model).equals(readFileSync(resnet20))).toBe(true);
  });

  it('an output that is the input under another name (a symlink, a hard link) is refused, and the input keeps its bytes', async () => {
    const model = join(tmp, 'model2.onnx');
    copyFileSync(resnet20, model);
    const sym = join(tmp, 'sym.onnx');
    symlinkSync(model, sym);
    let r = await runCli(['patch', model, '-o', sym, '--force']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/sym\.onnx is the input file .*model2\.onnx\. Fix: write the output to a different path/);
    // Same inode: replacing it by rename would keep the input's bytes, but cut the
    // user's link between the two names.
    const hard = join(tmp, 'hard.onnx');
    linkSync(model, hard);
    r = await runCli(['patch', model, '-o', hard, '--force']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/hard\.onnx is the input file .*model2\.onnx/);
    expect(readFileSync(model).equals(readFileSync(resnet20))).toBe(true);
    expect(statSync(hard).ino).toBe(statSync(model).ino);
  });
});
