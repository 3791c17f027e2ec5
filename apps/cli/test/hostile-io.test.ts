import { defaultConfig } from '@fsta/core';
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, constants, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '@fsta/onnx';
import { DEMO, demoModel, runCli } from './helpers.js';
import { printable, terminalText } from '../src/printable.js';
import { outputFailure } from '../src/io.js';

// Issue 12, items 2, 3, 9 and 10: non-regular files, outputs that must not be
// replaced, output errors, and control characters in names.
const tmp = mkdtempSync(join(tmpdir(), 'fsta-hostile-'));
const img = (p: string) => join(DEMO, 'images', p);
const fifos: string[] = [];
const mkfifo = (p: string) => { execFileSync('mkfifo', [p]); fifos.push(p); return p; };
// A read that blocked on a FIFO (the old code) is given a writer and EOF, so no
// thread stays blocked after the tests.
afterAll(() => {
  for (const f of fifos) { try { closeSync(openSync(f, constants.O_WRONLY | constants.O_NONBLOCK)); } catch { /* no reader */ } }
  rmSync(tmp, { recursive: true, force: true });
});

/** A copy of a few ID images plus a FIFO named x.png. */
function folderWithFifo(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir);
  for (const f of readdirSync(img('id/0-t-shirt')).slice(0, 4)) copyFileSync(join(img('id/0-t-shirt'), f), join(dir, f));
  mkfifo(join(dir, 'x.png'));
  return dir;
}

describe('non-regular files are never read (item 2)', () => {
  it('score: a FIFO named x.png in a folder is skipped and reported by name, the rest scored', { timeout: 20000 }, async () => {
    const dir = folderWithFifo('score-fifo');
    const r = await runCli(['score', ...demoModel, dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(4);
    expect(r.err).toContain(`fsta: skipped ${join(dir, 'x.png')}: a FIFO (named pipe), not a regular file`);
  });
  it('score: a FIFO named on the command line gets an error line, exit 1', { timeout: 20000 }, async () => {
    const fifo = mkfifo(join(tmp, 'named.png'));
    const r = await runCli(['score', ...demoModel, fifo, join(img('id/0-t-shirt'), '000.png')]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out.split('\n')[0]!)).toEqual({ file: fifo, error: 'a FIFO (named pipe), not a regular file' });
  });
  it('eval: a FIFO in an image folder is skipped and reported, not a hang', { timeout: 30000 }, async () => {
    const dir = folderWithFifo('eval-fifo');
    const r = await runCli(['eval', ...demoModel, '--id', dir, '--ood', `mnist=${img('ood/mnist')}`, '--limit', '8', '--ta-stage', 'none', '--methods', 'MSP']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(`fsta: skipped ${join(dir, 'x.png')}: a FIFO (named pipe), not a regular file`);
  });
  it.each([
    ['model FIFO', () => ['--model', mkfifo(join(tmp, 'model.onnx')), '--manifest', join(DEMO, 'demo.json')], /model .*model\.onnx is a FIFO \(named pipe\), not a regular file/],
    ['model /dev/zero', () => ['--model', '/dev/zero', '--manifest', join(DEMO, 'demo.json')], /model \/dev\/zero is a character device, not a regular file/],
    ['model /dev/zero, backbone detection', () => ['--model', '/dev/zero'], /model \/dev\/zero is a character device/],
    ['manifest FIFO', () => ['--model', join(DEMO, 'model.onnx'), '--manifest', mkfifo(join(tmp, 'manifest.json'))], /manifest .*manifest\.json is a FIFO/],
    ['config /dev/zero', () => [...demoModel, '--config', '/dev/zero'], /config \/dev\/zero is a character device/],
    ['config FIFO', () => [...demoModel, '--config', mkfifo(join(tmp, 'config.json'))], /config .*config\.json is a FIFO/],
  ])('score with a %s: one error line, exit 2, at once', { timeout: 10000 }, async (_, args, problem) => {
    const r = await runCli(['score', ...args(), img('id/0-t-shirt')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(problem);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
  it('patch with a model or config that is not a regular file: refused at once', { timeout: 10000 }, async () => {
    expect((await runCli(['patch', '/dev/zero', '-o', join(tmp, 'p.onnx')])).err).toMatch(/model \/dev\/zero is a character device/);
    const r = await runCli(['patch', join(DEMO, 'model.onnx'), '--config', mkfifo(join(tmp, 'patch-config.json')), '-o', join(tmp, 'p.onnx')]);
    expect(r.err).toMatch(/config .*patch-config\.json is a FIFO/);
  });
});

describe('outputs: never replace what is not a regular file, nor an input (item 3)', () => {
  const model = join(DEMO, 'model.onnx');
  it.each([
    ['a FIFO', () => mkfifo(join(tmp, 'out-fifo.onnx')), 'a FIFO (named pipe)'],
    ['a symlink', () => { const p = join(tmp, 'out-link.onnx'); writeFileSync(join(tmp, 'target.onnx'), 'keep'); symlinkSync(join(tmp, 'target.onnx'), p); return p; }, 'a symbolic link'],
    ['a folder', () => { const p = join(tmp, 'out-dir.onnx'); mkdirSync(p); return p; }, 'a folder'],
    // A copy of /dev/null's node in tmp (root only), so that a failure replaces nothing that matters.
    ['a device node', () => { const p = join(tmp, 'null'); try { execFileSync('mknod', [p, 'c', '1', '3'], { stdio: 'ignore' }); return p; } catch { return null; } }, 'a character device'],
  ])('-o naming %s is refused even with --force, and left as it was', async (_, make, kind) => {
    const out = make();
    if (out === null) return; // mknod needs root
    const before = statSync(out, { throwIfNoEntry: false });
    const r = await runCli(['patch', model, '-o', out, '--force']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`-o ${out} is ${kind}, which fsta never replaces, even with --force`);
    const after = statSync(out, { throwIfNoEntry: false });
    expect([after?.ino, after?.mode]).toEqual([before?.ino, before?.mode]);
    if (kind === 'a symbolic link') expect(readFileSync(join(tmp, 'target.onnx'), 'utf8')).toBe('keep');
  });

  it('eval --json naming its own --manifest or --config is refused with --force, before the run', async () => {
    const manifest = join(tmp, 'm.json'); copyFileSync(join(DEMO, 'demo.json'), manifest);
    const config = join(tmp, 'c.json'); writeFileSync(config, JSON.stringify(defaultConfig({ fsStage: 'C5', taStage: null, featureScore: 'fs', k: 0, lambda: 0, classifier: null })));
    const base = ['eval', '--model', model, '--manifest', manifest, '--id', img('id'), '--ood', `mnist=${img('ood/mnist')}`, '--limit', '4', '--force'];
    const before = [readFileSync(manifest), readFileSync(config)];
    let r = await runCli([...base, '--json', manifest]);
    expect(r.err).toMatch(/^fsta: error: --json .*m\.json is the input file itself/);
    r = await runCli([...base, '--config', config, '--json', join(tmp, '.', 'c.json')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^fsta: error: --json .*c\.json is the input file itself/);
    r = await runCli([...base, '--report', join(tmp, '..', tmp.split('/').at(-1)!, 'm.json')]);
    expect(r.err).toMatch(/^fsta: error: --report .*m\.json is the input file/);
    expect([readFileSync(manifest), readFileSync(config)]).toEqual(before);
  });

  it('a hard link to the input is the input (same inode), whatever its name', async () => {
    const m = join(tmp, 'in.onnx'); copyFileSync(model, m);
    const hard = join(tmp, 'hard.onnx');
    execFileSync('ln', [m, hard]);
    const r = await runCli(['patch', m, '-o', hard, '--force']);
    expect(r.err).toContain(`-o ${hard} is the input file ${m}`);
    expect(readFileSync(hard).equals(readFileSync(model))).toBe(true);
  });

  it('--json and --report on one path fail before the run, not after it', async () => {
    const out = join(tmp, 'same.out');
    const t = performance.now();
    const r = await runCli(['eval', ...demoModel, '--id', img('id'), '--ood', `mnist=${img('ood/mnist')}`, '--json', out, '--report', join(tmp, '.', 'same.out')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^fsta: error: --json .*same\.out and --report .*same\.out are the same file\. Fix: give --json and --report different paths/);
    expect(r.out).toBe('');
    expect(performance.now() - t).toBeLessThan(5000);
    expect(existsSync(out)).toBe(false);
  });
});

const BIN = join(import.meta.dirname, '..', 'dist', 'bin.js');
const run = promisify(execFile);

describe.skipIf(!existsSync(BIN))('output errors, in the built bin (item 9)', () => {
  const score = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} score --model ${JSON.stringify(join(DEMO, 'model.onnx'))} --manifest ${JSON.stringify(join(DEMO, 'demo.json'))} --batch 1 ${JSON.stringify(img('id'))}`;
  it('EPIPE (`fsta score … | head -1`): stops quietly, status 0, nothing on stderr', { timeout: 60000 }, async () => {
    for (const head of ['head -1', 'head -n 0']) {
      const { stdout, stderr } = await run('bash', ['-c', `${score} 2>"$0" | ${head}; echo "status \${PIPESTATUS[0]}"; cat "$0" >&2`, join(tmp, 'stderr.txt')]);
      expect(stderr, head).toBe('');
      expect(stdout).toMatch(/status 0\n$/);
      if (head === 'head -1') expect(JSON.parse(stdout.split('\n')[0]!).file).toMatch(/000\.png$/);
    }
  });
  it('ENOSPC (stdout to /dev/full): one error line naming the problem, status 2', { timeout: 60000 }, async () => {
    const e = await run('bash', ['-c', `${score} > /dev/full`]).then(() => null, (x: { code: number; stderr: string }) => x);
    expect(e?.code).toBe(2);
    expect(e?.stderr).toBe('fsta: error: cannot write to standard output: no space left on the device (ENOSPC). Fix: free space on the device the output goes to, or send the output elsewhere.\n');
  });
  it('outputFailure: EPIPE quiet 0, ENOSPC and EIO one line and 2', () => {
    expect(outputFailure(Object.assign(new Error('x'), { code: 'EPIPE' }), 'stdout')).toEqual({ status: 0, line: null });
    expect(outputFailure(Object.assign(new Error('x'), { code: 'EIO' }), 'stdout').line).toMatch(/^fsta: error: cannot write to standard output: input\/output error \(EIO\)\. Fix: /);
    expect(outputFailure(Object.assign(new Error('x'), { code: 'ENOSPC' }), 'stderr')).toEqual({ status: 2, line: null });
  });
});

describe('control characters in names reach the terminal escaped (item 10)', () => {
  it('printable escapes C0, C1, DEL, ESC and bidi controls, keeps other Unicode', () => {
    expect(printable('a\x1b[31mred\x07\x00\x7f\x9b\n\t\u202eé✓漢')).toBe('a\\x1b[31mred\\x07\\x00\\x7f\\x9b\\n\\t\\u202eé✓漢');
    expect(terminalText('bar\r50%\x1b[K\n\x1b]0;title\x07')).toBe('bar\r50%\x1b[K\n\\x1b]0;title\\x07');
  });
  it('a file named with \\x1b[31m: escaped in the skipped line and the error message, JSON-escaped in score output', { timeout: 20000 }, async () => {
    const dir = join(tmp, 'evil');
    mkdirSync(dir);
    const evil = join(dir, '\x1b[31mred.png');
    writeFileSync(evil, 'not an image');
    const s = await runCli(['score', ...demoModel, dir]);
    expect(s.out).not.toContain('\x1b');
    expect(JSON.parse(s.out.trim()).file).toBe(evil);
    const r = await runCli(['eval', ...demoModel, '--id', dir, '--ood', `mnist=${img('ood/mnist')}`, '--limit', '4']);
    expect(r.err).not.toContain('\x1b');
    expect(r.err).toContain('\\x1b[31mred.png');
  });
  it('a graph node name with \\x07: escaped by inspect', { timeout: 20000 }, async () => {
    const m = decodeModel(readFileSync(join(DEMO, 'model.onnx')));
    for (const n of m.graph!.node!) if (n.name === '/layer2/Relu_1') n.name = '/layer2/Relu_1\x07\x1b]0;pwned\x07';
    const p = join(tmp, 'bell.onnx'); writeFileSync(p, encodeModel(m));
    const r = await runCli(['inspect', p]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toMatch(/[\x07\x1b]/);
    expect(r.out).toContain('/layer2/Relu_1\\x07\\x1b]0;pwned\\x07');
  });
});
