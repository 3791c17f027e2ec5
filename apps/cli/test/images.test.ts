import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listImages } from '../src/images.js';

const root = mkdtempSync(join(tmpdir(), 'fsta-images-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const touch = (p: string) => { mkdirSync(join(root, p, '..'), { recursive: true }); writeFileSync(join(root, p), ''); };
// classes b (3 images), a (1 image), c (2 images, one nested); plus files fsta must ignore.
['b/1.png', 'b/2.jpg', 'b/3.JPEG', 'a/9.png', 'c/x/5.webp', 'c/4.png', 'c/notes.txt', 'c/.hidden.png', '.git/x.png'].forEach(touch);
const rel = (items: { path: string; label: number }[]) => items.map((i) => [relative(root, i.path), i.label]);

describe('listImages', () => {
  it('folder labels: class = index of the sorted subfolder, images found recursively', () => {
    const s = listImages(root, 'folder', null);
    expect(s.classes).toEqual(['a', 'b', 'c']);
    expect(rel(s.items)).toEqual([['a/9.png', 0], ['b/1.png', 1], ['b/2.jpg', 1], ['b/3.JPEG', 1], ['c/4.png', 2], ['c/x/5.webp', 2]]);
  });

  it('folder labels with --limit take classes in turn, so they stay balanced', () => {
    expect(rel(listImages(root, 'folder', 4).items)).toEqual([['a/9.png', 0], ['b/1.png', 1], ['b/2.jpg', 1], ['c/4.png', 2]]);
  });

  it('sorted labels: class = index of the sorted file; limit spreads evenly', () => {
    const s = listImages(join(root, 'b'), 'sorted', null);
    expect(rel(s.items)).toEqual([['b/1.png', 0], ['b/2.jpg', 1], ['b/3.JPEG', 2]]);
    expect(rel(listImages(root, 'none', 3).items)).toEqual([['a/9.png', -1], ['b/2.jpg', -1], ['c/4.png', -1]]);
  });

  it('errors name the folder and the fix', () => {
    expect(() => listImages(join(root, 'missing'), 'none', null, '--ood x')).toThrow(/--ood x folder .*missing does not exist/);
    expect(() => listImages(join(root, 'b', '1.png'), 'none', null)).toThrow(/is a file, not a folder/);
    expect(() => listImages(join(root, 'b'), 'folder', null)).toThrow(/has no class subfolders/);
    mkdirSync(join(root, 'empty'));
    expect(() => listImages(join(root, 'empty'), 'none', null)).toThrow(/has no images/);
  });
  it('skips entries that are not regular files (FIFO, link to a folder) and names them; a link to an image counts, a broken link is kept for the reader to report', () => {
    const d = join(root, 'special');
    mkdirSync(d);
    writeFileSync(join(d, 'a.png'), '');
    execFileSync('mkfifo', [join(d, 'fifo.png')]);
    symlinkSync(join(d, 'a.png'), join(d, 'link.png'));
    symlinkSync(root, join(d, 'dirlink.png'));
    symlinkSync(join(d, 'gone'), join(d, 'broken.png'));
    const s = listImages(d, 'none', null);
    expect(s.items.map((i) => relative(d, i.path))).toEqual(['a.png', 'broken.png', 'link.png']);
    expect(s.skipped.map((x) => [relative(d, x.path), x.why])).toEqual([['dirlink.png', 'a folder, not a regular file'], ['fifo.png', 'a FIFO (named pipe), not a regular file']]);
  });
});
