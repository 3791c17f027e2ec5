import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FstaError } from '@fsta/core';
import { createDetector, physicalCores } from '../src/index.js';
import { cifarImages, modelPath } from './images.js';

// onnxruntime's default intra-op thread count measured 1 thread on a 2-core Linux VM (the model
// ran at half speed); the detector now asks for the physical cores itself.
const tmp = mkdtempSync(join(tmpdir(), 'fsta-cpu-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A fake /sys/devices/system/cpu with the given (package, core) per logical CPU. */
function topology(name: string, cpus: [number, number][]): string {
  const root = join(tmp, name);
  cpus.forEach(([pkg, core], i) => {
    mkdirSync(join(root, `cpu${i}`, 'topology'), { recursive: true });
    writeFileSync(join(root, `cpu${i}`, 'topology', 'physical_package_id'), `${pkg}\n`);
    writeFileSync(join(root, `cpu${i}`, 'topology', 'core_id'), `${core}\n`);
  });
  mkdirSync(join(root, 'cpufreq'), { recursive: true });
  return root;
}

describe.runIf(process.platform === 'linux')('physical cores from the Linux CPU topology', () => {
  it('counts hyperthread siblings once, and cores of two packages apart', () => {
    const cap = availableParallelism();
    expect(physicalCores(topology('smt', [[0, 0], [0, 1], [0, 0], [0, 1]]))).toBe(Math.min(2, cap));
    expect(physicalCores(topology('two-packages', [[0, 0], [1, 0]]))).toBe(Math.min(2, cap));
    expect(physicalCores(topology('one', [[0, 0]]))).toBe(1);
  });
  it('is capped by the CPUs this process may run on', () => {
    const many = Array.from({ length: availableParallelism() + 3 }, (_, i): [number, number] => [0, i]);
    expect(physicalCores(topology('many', many))).toBe(availableParallelism());
  });
  it('gives null (onnxruntime then chooses) where the topology cannot be read', () => {
    expect(physicalCores(join(tmp, 'missing'))).toBeNull();
    mkdirSync(join(tmp, 'no-topology', 'cpu0'), { recursive: true });
    expect(physicalCores(join(tmp, 'no-topology'))).toBeNull();
  });
  it('reads this machine: at least 1, at most the CPUs it may use', () => {
    const n = physicalCores();
    expect(n).not.toBeNull();
    expect(n!).toBeGreaterThanOrEqual(1);
    expect(n!).toBeLessThanOrEqual(availableParallelism());
  });
});

describe('intraOpNumThreads', () => {
  const files = cifarImages(24).map((x) => x.path);
  it('gives the same scores, bit for bit, at 1 thread and at the default', async () => {
    const [one, def] = await Promise.all([createDetector({ model: modelPath('cifar10-resnet20.onnx'), executionProviders: ['cpu'], intraOpNumThreads: 1 }), createDetector({ model: modelPath('cifar10-resnet20.onnx'), executionProviders: ['cpu'] })]);
    try {
      const [a, b] = [await one.score(files), await def.score(files)];
      a.forEach((s, i) => {
        expect(s.fs).toBe(b[i]!.fs);
        expect(s.fsTa).toBe(b[i]!.fsTa);
        expect(s.classifier).toEqual(b[i]!.classifier);
      });
    } finally {
      await Promise.all([one.dispose(), def.dispose()]);
    }
  });
  it.each([0, 1.5, -2, Number.NaN])('refuses %s before reading the model', async (bad) => {
    const e = await createDetector({ model: join(tmp, 'no-such.onnx'), intraOpNumThreads: bad }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FstaError);
    expect((e as FstaError).code).toBe('BAD_OPTION');
    expect((e as FstaError).message).toMatch(/intraOpNumThreads must be a whole number ≥ 1/);
  });
});
