import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectsFor, transpileProject } from '../../../tools/transpile.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe("npm run demo's compile (tools/transpile.mjs)", () => {
  it('writes, for the CLI and every package it imports, exactly the JavaScript tsc wrote', () => {
    const dirs = projectsFor(root, '@fsta/cli');
    expect(dirs.map((d) => d.slice(root.length))).toEqual(['packages/core', 'packages/backbones', 'packages/onnx', 'packages/onnxruntime-node', 'apps/cli']);
    const differ: string[] = [];
    let files = 0;
    for (const dir of dirs) {
      for (const { out, text } of transpileProject(dir)) {
        files++;
        // The declarations show that this dist is tsc's (nx builds it before the tests), not the demo's own compile.
        expect(existsSync(out.replace(/\.js$/, '.d.ts')), `${out} has no .d.ts: build with nx (npm run build) first`).toBe(true);
        if (readFileSync(out, 'utf8') !== text) differ.push(out.slice(root.length));
      }
    }
    expect(files).toBeGreaterThan(100);
    expect(differ).toEqual([]);
  }, 60_000);
});
