import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runInBrowser, repoRoot, sharedRoot } from '../../../tools/browser/harness.js';
import { workspaceAlias } from '../../../vitest.shared.js';
import { resnetTfjsModelJson } from '../../tfjs/test/fixtures.js';

/** The examples of docs/runtimes.md run as written (Node, or headless Chromium) and print what the page shows. */
const doc = readFileSync(join(repoRoot, 'docs/runtimes.md'), 'utf8');
function example(tag: string): { code: string; output: string } {
  const m = new RegExp('```js ' + tag + '\\n([\\s\\S]*?)```\\s*```text\\n([\\s\\S]*?)```').exec(doc);
  if (!m) throw new Error(`docs/runtimes.md has no \`\`\`js ${tag} block followed by a \`\`\`text block`);
  return { code: m[1]!, output: m[2]! };
}

/** "runtime n n n n" lines: the runtime must match exactly, the numbers (printed to 4 decimals) within one rounding step. */
function expectOutput(got: string[], want: string) {
  const rows = want.trim().split('\n');
  expect(got).toHaveLength(rows.length);
  rows.forEach((row, i) => {
    const [wr, ...wn] = row.trim().split(/\s+/);
    const [gr, ...gn] = got[i]!.trim().split(/\s+/);
    expect(gr).toBe(wr);
    expect(gn).toHaveLength(wn.length);
    gn.forEach((g, j) => expect(Math.abs(Number(g) - Number(wn[j])), `${got[i]} vs documented ${row}`).toBeLessThanOrEqual(1.5e-4));
  });
}

// Bare imports in the browser examples must resolve from the repo's node_modules, so the entries live under it.
const tmp = join(repoRoot, 'node_modules/.cache');
mkdirSync(tmp, { recursive: true });
const dir = mkdtempSync(join(tmp, 'fsta-runtimes-doc-'));
// The Node example must be outside node_modules, where vitest applies the workspace aliases.
const nodeDir = mkdtempSync(join(tmpdir(), 'fsta-runtimes-doc-'));
afterAll(() => [dir, nodeDir].forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Wraps an example in `export async function run()` that returns what it logged. */
function browserEntry(name: string, code: string): string {
  const lines = code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, `${imports.join('\n')}
export async function run(): Promise<string[]> {
  const logged: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => { logged.push(a.map(String).join(' ')); log(...a); };
  try {
${body.join('\n')}
  } finally { console.log = log; }
  return logged;
}
`);
  return file;
}
const routes = {
  '/ort/': join(repoRoot, 'node_modules/onnxruntime-web/dist/'),
  '/models/tfjs/': join(repoRoot, '.cache/tfjs/'),
  '/models/': join(sharedRoot, 'models/'),
  '/cifar10/': join(sharedRoot, 'data/cifar10-test-png-1k/'),
};

describe('docs/runtimes.md examples', () => {
  it('onnxruntime-node (Node)', async () => {
    const { code, output } = example('node-ort');
    const file = join(nodeDir, 'node-ort.mjs');
    writeFileSync(file, code.replaceAll("'../shared/", `'${sharedRoot}/`));
    const logged: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => { logged.push(a.map(String).join(' ')); });
    try {
      await import(/* @vite-ignore */ pathToFileURL(file).href);
    } finally {
      log.mockRestore();
    }
    console.info(logged.join('\n'));
    expectOutput(logged, output);
  });

  it('onnxruntime-web (headless Chromium)', async () => {
    const { code, output } = example('browser-ort');
    const { result } = await runInBrowser<string[]>(browserEntry('browser-ort', code), {}, { alias: workspaceAlias, routes });
    console.info(result.join('\n'));
    expectOutput(result, output);
  }, 300_000);

  it('TensorFlow.js (headless Chromium)', async () => {
    await resnetTfjsModelJson();
    const { code, output } = example('browser-tfjs');
    const { result } = await runInBrowser<string[]>(browserEntry('browser-tfjs', code), {}, { alias: workspaceAlias, routes });
    console.info(result.join('\n'));
    expectOutput(result, output);
  }, 300_000);
});
