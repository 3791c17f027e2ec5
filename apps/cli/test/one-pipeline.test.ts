import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { createDetector } from '@fsta/onnxruntime-node';
import { DEMO, demoModel, runCli } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'fsta-one-path-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const files = ['id/0-t-shirt/000.png', 'id/7-sneaker/003.png', 'ood/mnist/3-01.png', 'ood/uniform/004.png'].map((f) => join(DEMO, 'images', f));
const scoreLines = (out: string) => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { file: string; fs: number; fsTa: number | null; classifier: Record<string, number> | null; score: number; verdict: string | null });

describe('one path from file to score', () => {
  it('fsta score gives what createDetector gives on the same files and calibrated config', async () => {
    const config = join(tmp, 'cfg.json');
    const cal = await runCli(['calibrate', ...demoModel, '--id', join(DEMO, 'images', 'id'), '--limit', '40', '--noise-count', '20', '--classifiers', 'none,energy', '-o', config]);
    expect(cal.code, cal.err).toBe(0);
    const r = await runCli(['score', ...demoModel, '--config', config, ...files]);
    expect(r.code, r.err).toBe(0);
    const cli = scoreLines(r.out);
    const det = await createDetector({ model: join(DEMO, 'model.onnx'), manifest: join(DEMO, 'demo.json'), config, executionProviders: ['cpu'] });
    try {
      const lib = await det.score(files);
      expect(cli.map((l) => l.file)).toEqual(files);
      expect(det.config.threshold).not.toBeNull();
      // The same numbers, not close ones: fsta score prints what this detector computes.
      lib.forEach((s, i) => {
        expect(cli[i]!.fs).toBe(s.fs);
        expect(cli[i]!.fsTa).toBe(s.fsTa);
        expect(cli[i]!.classifier).toEqual(s.classifier);
        expect(cli[i]!.score).toBe(s.score);
        expect(cli[i]!.verdict).toBe(s.verdict);
      });
    } finally {
      await det.dispose();
    }
  });

  it('fuses a config\'s ODIN on the host (createDetector has no graph form of it): core\'s fusion of the detector\'s feature score', async () => {
    const base = JSON.parse(readFileSync(join(tmp, 'cfg.json'), 'utf8'));
    const odin = join(tmp, 'odin.json');
    writeFileSync(odin, JSON.stringify({ ...base, classifier: 'odin', lambda: 0.5, temperature: 1000 }));
    const r = await runCli(['score', ...demoModel, '--config', odin, ...files]);
    expect(r.code, r.err).toBe(0);
    const plain = await runCli(['score', ...demoModel, '--config', join(tmp, 'cfg.json'), ...files]);
    const [a, b] = [scoreLines(r.out), scoreLines(plain.out)];
    a.forEach((l, i) => {
      const feat = base.featureScore === 'fs_ta' ? l.fsTa! : l.fs;
      expect(l.fs).toBe(b[i]!.fs);
      expect(l.classifier!.msp).toBe(b[i]!.classifier!.msp);
      expect(l.score).toBeCloseTo(feat + 0.5 * l.classifier!.odin!, 12);
      expect(l.verdict).toBe(l.score >= base.threshold ? 'ID' : 'OOD');
    });
  });

  it('applies EXIF orientation in the CLI as the library does: a rotated phone photo scores as its upright pixels', async () => {
    // A 40x24 image stored sideways with orientation 6 (rotate 90° clockwise to view), and the same pixels stored upright.
    const raw = Buffer.alloc(24 * 40 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37 + (i % 3) * 91) % 256;
    const sideways = join(tmp, 'sideways.png'), upright = join(tmp, 'upright.png');
    await sharp(raw, { raw: { width: 40, height: 24, channels: 3 } }).png().withMetadata({ orientation: 6 }).toFile(sideways);
    await sharp(raw, { raw: { width: 40, height: 24, channels: 3 } }).rotate(90).png().toFile(upright);
    const r = await runCli(['score', ...demoModel, sideways, upright]);
    expect(r.code, r.err).toBe(0);
    const [a, b] = scoreLines(r.out);
    expect(a!.fs).toBe(b!.fs);
    const plain = await runCli(['score', ...demoModel, join(tmp, 'upright.png')]);
    expect(scoreLines(plain.out)[0]!.fs).toBe(b!.fs);
    expect(readFileSync(sideways).length).toBeGreaterThan(0);
  });

  it('takes paths from a list file (--files-from), the same scores as on the command line', async () => {
    const list = join(tmp, 'list.txt');
    writeFileSync(list, files.slice(1).join('\n') + '\n');
    const a = await runCli(['score', ...demoModel, files[0]!, '--files-from', list]);
    const b = await runCli(['score', ...demoModel, ...files]);
    expect(a.code, a.err).toBe(0);
    expect(scoreLines(a.out)).toEqual(scoreLines(b.out));
  });

  it('refuses an image over the pixel cap before decoding it, as the library does', async () => {
    const big = join(tmp, 'big.png');
    // 12000 x 9000 = 108 MP, over the default 100 MP cap; one colour so the file is small.
    await sharp({ create: { width: 12000, height: 9000, channels: 3, background: '#808080' } }).png().toFile(big);
    const r = await runCli(['score', ...demoModel, big]);
    expect(r.code).toBe(1);
    expect(scoreLines(r.out)[0]).toMatchObject({ file: big, error: expect.stringMatching(/108000000 pixels, over the limit of 100000000/) });
  });
});
