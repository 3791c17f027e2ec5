import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { DEMO, demoModel, runCli } from './helpers.js';

// Every ONNX decode in fsta goes through @fsta/onnx's proto.ts decodeModel, and every file the
// CLI and the node adapter read through read-file.ts: count the calls each command makes.
const calls = vi.hoisted(() => ({ decode: 0, modelReads: 0 }));

vi.mock('../../../packages/onnx/src/proto.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../packages/onnx/src/proto.ts')>();
  return { ...real, decodeModel: (...a: Parameters<typeof real.decodeModel>) => { calls.decode++; return real.decodeModel(...a); } };
});

vi.mock('../../../packages/onnxruntime-node/src/read-file.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../packages/onnxruntime-node/src/read-file.ts')>();
  const count = (what: string | undefined) => { if (what === 'model') calls.modelReads++; };
  return {
    ...real,
    readRegularFileSync: (...a: Parameters<typeof real.readRegularFileSync>) => { count(a[1]?.what); return real.readRegularFileSync(...a); },
    readRegularFile: (...a: Parameters<typeof real.readRegularFile>) => { count(a[1]?.what); return real.readRegularFile(...a); },
  };
});

const tmp = mkdtempSync(join(tmpdir(), 'fsta-once-'));
const img = (p: string) => join(DEMO, 'images', p);
const config = join(tmp, 'c.json');

describe('each command reads and decodes the model once', () => {
  beforeEach(() => { calls.decode = 0; calls.modelReads = 0; });

  // calibrate first: score and eval below then also check the config's fingerprint against the model.
  it('calibrate (several detectors, fingerprint written)', async () => {
    const r = await runCli(['calibrate', ...demoModel, '--id', img('id'), '--limit', '20', '--noise-count', '10', '--k-percentiles', '80,95', '-o', config]);
    expect(r.code, r.err).toBe(0);
    expect(calls).toEqual({ decode: 1, modelReads: 1 });
  });

  it('score with --config (fingerprint checked, k from the config)', async () => {
    const r = await runCli(['score', ...demoModel, '--config', config, img('id/0-t-shirt')]);
    expect(r.code, r.err).toBe(0);
    expect(calls).toEqual({ decode: 1, modelReads: 1 });
  });

  it('eval without --k (default k from the backbone) and with --config', async () => {
    let r = await runCli(['eval', ...demoModel, '--id', img('id'), '--labels', 'folder', '--ood', `mnist=${img('ood/mnist')}`, '--limit', '12', '--methods', 'FS,FS+TA,MSP']);
    expect(r.code, r.err).toBe(0);
    expect(calls).toEqual({ decode: 1, modelReads: 1 });
    calls.decode = 0; calls.modelReads = 0;
    r = await runCli(['eval', ...demoModel, '--config', config, '--id', img('id'), '--labels', 'folder', '--ood', `mnist=${img('ood/mnist')}`, '--limit', '12', '--methods', 'FS+TA']);
    expect(r.code, r.err).toBe(0);
    expect(calls).toEqual({ decode: 1, modelReads: 1 });
  });

  it('inspect and patch', async () => {
    let r = await runCli(['inspect', ...demoModel.slice(1)]);
    expect(r.code, r.err).toBe(0);
    expect(calls).toEqual({ decode: 1, modelReads: 1 });
    calls.decode = 0; calls.modelReads = 0;
    r = await runCli(['patch', demoModel[1]!, '--manifest', join(DEMO, 'demo.json'), '-o', join(tmp, 'p.onnx')]);
    expect(r.code, r.err).toBe(0);
    expect(calls).toEqual({ decode: 1, modelReads: 1 });
  });
});
