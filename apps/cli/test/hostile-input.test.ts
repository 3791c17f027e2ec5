import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, int64Initializer, modelFingerprint, type OnnxModel } from '@fsta/onnx';
import { parseConfig } from '@fsta/core';
import { DEMO, demoModel, runCli } from './helpers.js';

// Issue #12 items 1, 5 and 7 at the command line: hostile models and configs end in one
// "fsta: error: … Fix: …" line and exit 2, never "internal error" and a stack trace.
const tmp = mkdtempSync(join(tmpdir(), 'fsta-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const manifest = join(DEMO, 'demo.json');
const ids = join(DEMO, 'images', 'id');

const demo = () => decodeModel(new Uint8Array(readFileSync(join(DEMO, 'model.onnx'))));
function variant(name: string, edit: (m: OnnxModel) => void): string {
  const m = demo();
  edit(m);
  const p = join(tmp, `${name}.onnx`);
  writeFileSync(p, encodeModel(m));
  return p;
}

function oneError(r: { code: number; out: string; err: string }, problem: RegExp): void {
  expect(r.err).not.toMatch(/internal error|\n\s+at /);
  expect(r.code, r.err).toBe(2);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^fsta: error: .*\. Fix: .+\.$/);
  expect(lines[0]).toMatch(problem);
}

describe('hostile models: inspect, patch and score refuse them with the problem and the fix', () => {
  const models: [string, (m: OnnxModel) => void, RegExp][] = [
    ['missing-input', (m) => { m.graph!.node![1]!.input![0] = 'nothing_makes_this'; }, /reads "nothing_makes_this", which no node, initializer or graph input produces/],
    ['int64-input', (m) => { m.graph!.input![0]!.type!.tensorType!.elemType = 7; }, /the model input "input" is int64; fsta feeds float32 images/],
    ['uint8-input', (m) => { m.graph!.input![0]!.type!.tensorType!.elemType = 2; }, /the model input "input" is uint8/],
    ['opset-99', (m) => { m.opsetImport = [{ domain: '', version: 99 }]; }, /imports ai\.onnx opset 99; onnxruntime runs opsets 7 to 25/],
    ['opset-3', (m) => { m.opsetImport = [{ domain: '', version: 3 }]; }, /imports ai\.onnx opset 3/],
    ['constant-of-shape-64gb', (m) => {
      m.graph!.initializer!.push(int64Initializer('huge_shape', [16, 2 ** 30]));
      m.graph!.node!.push({ opType: 'ConstantOfShape', name: 'huge', input: ['huge_shape'], output: ['huge_out'] });
    }, /node "huge" \(ConstantOfShape\) makes tensor "huge_out" of shape \[16, 1073741824\]: 64\.0 GiB/],
    ['external-constant', (m) => {
      m.graph!.node!.push({ opType: 'Constant', name: 'leak', output: ['leak_out'], attribute: [{ name: 'value', type: 4, t: { name: 'leak_t', dataType: 1, dims: [4], dataLocation: 1, externalData: [{ key: 'location', value: 'secret.bin' }] } }] });
    }, /attribute "value" of node "leak" \(Constant\) stores its data in an external file \("secret\.bin"\)/],
  ];
  for (const [name, edit, problem] of models) {
    it(name, async () => {
      const p = variant(name, edit);
      oneError(await runCli(['inspect', p]), problem);
      const out = join(tmp, `${name}.patched.onnx`);
      oneError(await runCli(['patch', p, '-o', out]), problem);
      expect(existsSync(out)).toBe(false);
      oneError(await runCli(['score', '--model', p, '--manifest', manifest, ids]), problem);
    });
  }
});

describe('configs: foreign JSON and another model\'s calibration are refused', () => {
  const write = (name: string, body: unknown) => { const p = join(tmp, name); writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body)); return p; };
  it('{}, [] and an eval results file, with what the file is', async () => {
    oneError(await runCli(['score', ...demoModel, '--config', write('empty.json', '{}'), ids]), /this is an empty JSON object, not an fsta config/);
    oneError(await runCli(['score', ...demoModel, '--config', write('array.json', '[]'), ids]), /this is a JSON array of 0 items, not an fsta config/);
    const results = write('results.json', { settings: { model: 'x' }, accuracy: 0.9, results: {} });
    oneError(await runCli(['score', ...demoModel, '--config', results, ids]), /this is an fsta eval results file .*not an fsta config\. Fix: run `fsta calibrate`/);
    oneError(await runCli(['patch', join(DEMO, 'model.onnx'), '--config', results, '-o', join(tmp, 'never.onnx')]), /eval results file/);
  });

  it('calibrate records the model fingerprint; score, eval and patch refuse the config on another model unless --force-config', async () => {
    const cfgPath = join(tmp, 'demo.config.json');
    const c = await runCli(['calibrate', ...demoModel, '--id', ids, '--limit', '40', '--noise-count', '20', '-o', cfgPath]);
    expect(c.code, c.err).toBe(0);
    const cfg = parseConfig(readFileSync(cfgPath, 'utf8'));
    expect(cfg.provenance?.modelFingerprint).toBe(modelFingerprint(demo()));
    // Same graph, one layer renamed: what a re-export with other module names looks like.
    const other = variant('renamed', (m) => { m.graph!.node![0]!.name = `${m.graph!.node![0]!.name}_retrained`; });
    const foreign = /the config was calibrated on another model \(.*model\.onnx\): its fingerprint is sha256:.*Fix: calibrate this model .*--force-config/;
    oneError(await runCli(['score', '--model', other, '--manifest', manifest, '--config', cfgPath, ids]), foreign);
    oneError(await runCli(['eval', '--model', other, '--manifest', manifest, '--config', cfgPath, '--id', ids, '--ood', `mnist=${join(DEMO, 'images', 'ood', 'mnist')}`]), foreign);
    oneError(await runCli(['patch', other, '--config', cfgPath, '-o', join(tmp, 'never.onnx')]), foreign);
    const forced = await runCli(['score', '--model', other, '--manifest', manifest, '--config', cfgPath, '--force-config', ids]);
    expect(forced.code, forced.err).toBe(0);
    const patched = await runCli(['patch', other, '--config', cfgPath, '--force-config', '-o', join(tmp, 'forced.onnx')]);
    expect(patched.code, patched.err).toBe(0);
    // The model it was calibrated on is accepted as before.
    expect((await runCli(['score', ...demoModel, '--config', cfgPath, ids])).code).toBe(0);
  });
});
