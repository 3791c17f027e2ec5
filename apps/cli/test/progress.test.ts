import { describe, expect, it } from 'vitest';
import { progress } from '../src/progress.js';
import type { Io } from '../src/io.js';

const fakeIo = (tty: boolean) => {
  const io: Io & { text: string } = { text: '', out: () => {}, err: (t) => { io.text += t; }, errIsTty: tty, cwd: '.' };
  return io;
};

describe('progress', () => {
  it('on a terminal redraws one line with rate and ETA', () => {
    const io = fakeIo(true);
    let t = 0;
    const bar = progress(io, 'ID', 100, () => t);
    t = 2000; bar.tick(20); // 10 img/s, 80 left -> 8s
    expect(io.text).toBe('\rID [#####...................] 20/100 10.0 img/s ETA 8s\x1b[K');
    t = 10_000; bar.tick(80);
    bar.end();
    expect(io.text.endsWith('\rID: 100 images in 10s (10.0 img/s)\x1b[K\n')).toBe(true);
  });

  it('elsewhere writes only one plain summary line', () => {
    const io = fakeIo(false);
    let t = 0;
    const bar = progress(io, 'mnist', 50, () => t);
    t = 125_000; bar.tick(50);
    bar.end();
    expect(io.text).toBe('mnist: 50 images in 2m05s (0.4 img/s)\n');
  });
});
