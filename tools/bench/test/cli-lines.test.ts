import { describe, expect, it } from 'vitest';
import { parseScoreLines } from '../cli.mjs';

const line = (file: string, extra: object = { fs: 0.5, fsTa: 0.4 }) => JSON.stringify({ file, ...extra });

describe("parseScoreLines (fsta score's stdout)", () => {
  it('takes one JSON line per file, in order', () => {
    expect(parseScoreLines(`${line('a.jpg')}\n${line('b.jpg', { fs: 1, fsTa: 2 })}\n`, ['a.jpg', 'b.jpg'])).toEqual([{ file: 'a.jpg', fs: 0.5, fsTa: 0.4 }, { file: 'b.jpg', fs: 1, fsTa: 2 }]);
  });
  it('refuses error lines, missing lines and lines out of order', () => {
    expect(() => parseScoreLines(`${line('a.jpg', { error: 'BAD_IMAGE' })}\n`, ['a.jpg'])).toThrow(/could not score a\.jpg: BAD_IMAGE/);
    expect(() => parseScoreLines(`${line('a.jpg')}\n`, ['a.jpg', 'b.jpg'])).toThrow(/printed 1 lines for 2 files/);
    expect(() => parseScoreLines(`${line('b.jpg')}\n${line('a.jpg')}\n`, ['a.jpg', 'b.jpg'])).toThrow(/line 0 is for b\.jpg, expected a\.jpg/);
  });
});
