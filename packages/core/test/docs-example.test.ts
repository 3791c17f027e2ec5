import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';

/** The `js example` block of docs/core.md and the `text` block after it. */
function exampleFromDoc(): { code: string; output: string } {
  const doc = readFileSync(new URL('../../../docs/core.md', import.meta.url), 'utf8');
  const code = /```js example\n([\s\S]*?)```/.exec(doc)?.[1];
  const output = /```js example\n[\s\S]*?```[\s\S]*?```text\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!code || !output) throw new Error('docs/core.md has no ```js example block followed by a ```text block');
  return { code, output };
}

describe('docs/core.md runnable example', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fsta-doc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs against @fsta/core and prints exactly the documented output', async () => {
    const { code, output } = exampleFromDoc();
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
    try {
      // Imported through vitest, so '@fsta/core' resolves to the source package.
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    } finally {
      log.mockRestore();
    }
    expect(lines.join('\n') + '\n').toBe(output);
  });
});
