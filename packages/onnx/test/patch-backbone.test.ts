import { describe, expect, it } from 'vitest';
import { FstaError, featureSim, referenceOps } from '@fsta/core';
import { decodeModel, encodeModel, patch } from '../src/index.js';
import { readModel, runOrt } from './helpers.js';
import { imageBatch } from './images.js';

describe('patch() with stage names from @fsta/backbones', () => {
  it('cifar10-resnet56: auto finds the manifest, FS on its default stage equals the reference', async () => {
    const res = patch(decodeModel(readModel('cifar10-resnet56.onnx')), { exposeStages: true, classifier: 'msp' });
    expect(res.backbone).not.toBe('auto');
    expect(res.outputs).toEqual(expect.arrayContaining(['fsta/fs', 'fsta/fs_ta', 'fsta/msp', 'fsta/score']));
    const out = await runOrt(encodeModel(res.model), { input: await imageBatch('cifar', 4) });
    const ref = featureSim(referenceOps, referenceOps.fromArray(out['fsta/stage/fs']!.data, out['fsta/stage/fs']!.dims)).data;
    out['fsta/fs']!.data.forEach((v, i) => expect(Math.abs(v - ref[i]!) / ref[i]!).toBeLessThan(1e-5));
    expect(out['fsta/stage/fs']!.dims.slice(1)).toEqual([64, 8, 8]);
  });
  it('names a wrong backbone and a missing stage', () => {
    const m = decodeModel(readModel('cifar10-resnet20.onnx'));
    expect(() => patch(m, { backbone: 'no-such-net' })).toThrow(FstaError);
    expect(() => patch(m, { backbone: 'no-such-net' })).toThrow(/unknown backbone "no-such-net"/);
    expect(() => patch(m, { fsStage: 'C9' })).toThrow(/stage "C9" does not exist/);
  });
});
