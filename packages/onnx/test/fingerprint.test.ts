import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrate, defaultConfig, mulberry32, type FstaConfig } from '@fsta/core';
import { checkConfigModel, decodeModel, encodeModel, modelFingerprint, patchForConfig, prepareDetectorModel, sha256Hex } from '../src/index.js';
import { MODELS, readModel } from './helpers.js';

const DEMO = new URL('../../../apps/cli/assets/demo/model.onnx', import.meta.url);
const havePythonOnnx = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;

describe('sha256Hex', () => {
  it('equals node:crypto\'s SHA-256 at every padding boundary and on a 1 MB input', () => {
    const r = mulberry32(11);
    const lengths = [...Array.from({ length: 140 }, (_, i) => i), 1000, 4096, 1 << 20];
    for (const n of lengths) {
      const data = Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      expect(sha256Hex(data), `length ${n}`).toBe(createHash('sha256').update(data).digest('hex'));
    }
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

/** A config as `fsta calibrate` writes it for `model`: fingerprint in provenance. */
function calibratedFor(modelBytes: Uint8Array, extra: Partial<FstaConfig> = {}): FstaConfig {
  const r = mulberry32(3);
  return calibrate({ idFeature: Array.from({ length: 50 }, () => r()), base: { ...defaultConfig(), ...extra, provenance: { model: 'demo/model.onnx', modelFingerprint: modelFingerprint(decodeModel(modelBytes)) } } });
}

describe('modelFingerprint: the architecture, not the file bytes', () => {
  const resnet20 = readModel('cifar10-resnet20.onnx');
  it('survives a re-encode and metadata edits, differs between models', () => {
    const m = decodeModel(resnet20);
    const fp = modelFingerprint(m);
    expect(fp).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(modelFingerprint(decodeModel(encodeModel({ ...m, producerName: 'someone else', docString: 'resaved', modelVersion: 7 })))).toBe(fp);
    const fps = ['cifar10-resnet20.onnx', 'cifar10-resnet32.onnx', 'imagenet-mobilenetv2.onnx', 'imagenet-mobilenetv2-int8w.onnx'].map((f) => modelFingerprint(decodeModel(readModel(f))));
    expect(fps[0]).toBe(fp);
    expect(new Set([...fps, modelFingerprint(decodeModel(readFileSync(DEMO)))]).size).toBe(5);
  });

  it.skipIf(!havePythonOnnx)('survives onnx.save(onnx.load(...)) in Python (another serializer)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fsta-fp-'));
    try {
      const out = join(dir, 'resaved.onnx');
      execFileSync('/usr/bin/python3', ['-c', 'import onnx, sys; m = onnx.load(sys.argv[1]); m.producer_name = "resaved"; onnx.save(m, sys.argv[2])', `${MODELS}cifar10-resnet20.onnx`, out]);
      const resaved = new Uint8Array(readFileSync(out));
      expect(Buffer.compare(Buffer.from(resaved), Buffer.from(resnet20))).not.toBe(0);
      expect(modelFingerprint(decodeModel(resaved))).toBe(modelFingerprint(decodeModel(resnet20)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a config meets a model: another model\'s calibrated config is refused (issue #12 item 7)', () => {
  const resnet20 = readModel('cifar10-resnet20.onnx');
  const demo = new Uint8Array(readFileSync(DEMO));

  it('the demo model\'s config on the CIFAR ResNet: FOREIGN_CONFIG naming both fingerprints and the fix', () => {
    const cfg = calibratedFor(demo);
    for (const config of [cfg, JSON.stringify(cfg)]) {
      expect(() => prepareDetectorModel(resnet20, { config })).toThrow(/the config was calibrated on another model \(demo\/model\.onnx\): its fingerprint is sha256:[0-9a-f]{12}…, this model's is sha256:[0-9a-f]{12}…, so its threshold and k are on another score scale\. Fix: calibrate this model.*allowForeignConfig: true/);
    }
    expect(() => patchForConfig(decodeModel(resnet20), { config: cfg })).toThrow(/calibrated on another model/);
  });

  it('the same model\'s config, one without a fingerprint, and an explicit allowForeignConfig are accepted', () => {
    const own = calibratedFor(resnet20);
    expect(prepareDetectorModel(resnet20, { config: own }).config.threshold).toBe(own.threshold);
    const foreign = calibratedFor(demo);
    const { modelFingerprint: _drop, ...older } = foreign.provenance!;
    expect(prepareDetectorModel(resnet20, { config: { ...foreign, provenance: older } }).config.threshold).toBe(foreign.threshold);
    expect(prepareDetectorModel(resnet20, { config: foreign, allowForeignConfig: true }).config.threshold).toBe(foreign.threshold);
    expect(() => checkConfigModel(own, decodeModel(resnet20))).not.toThrow();
  });
});

describe('what patch writes is a model onnxruntime and onnx.checker accept (issue #12 item 5)', () => {
  const cases = [['cifar10-resnet20.onnx', 'branch'], ['cifar10-resnet20.onnx', 'double-batch'], ['imagenet-mobilenetv2.onnx', 'branch'], ['imagenet-mobilenetv2-int8w.onnx', 'double-batch']] as const;
  const models = cases.map(([f, mode]) => `${mode}-${f}`);
  const patchOf = (f: string, mode: 'branch' | 'double-batch') => encodeModel(patchForConfig(decodeModel(readModel(f)), { classifier: 'energy', mode }).model);
  const patched = new Map<string, Uint8Array>();
  for (const [f, mode] of cases) {
    it(`${f} (${mode}): the patched model passes fsta's own validation and loads in onnxruntime`, async () => {
      const bytes = patchOf(f, mode);
      patched.set(`${mode}-${f}`, bytes);
      expect(() => decodeModel(bytes)).not.toThrow();
      const ort = await import('onnxruntime-node');
      const s = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled' });
      expect(s.outputNames).toEqual(expect.arrayContaining(['fsta/fs', 'fsta/fs_ta', 'fsta/score']));
      await s.release();
    });
  }
  it.skipIf(!havePythonOnnx)('the patched models pass onnx.checker.check_model(m, full_check=True)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fsta-check-'));
    try {
      const files = cases.map(([f, mode]) => { const p = join(dir, `${mode}-${f}`); writeFileSync(p, patched.get(`${mode}-${f}`) ?? patchOf(f, mode)); return p; });
      const out = execFileSync('/usr/bin/python3', ['-c', 'import onnx, sys\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n    print("ok", p)', ...files], { encoding: 'utf8' });
      expect(out.trim().split('\n')).toHaveLength(models.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
