import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// The main entry must load in a browser bundle: only the ./node subpath may touch Node built-ins.
describe('module graph of @fsta/tfjs', () => {
  const src = new URL('../src/', import.meta.url);
  const files = readdirSync(src).filter((f) => f.endsWith('.ts'));
  const importsOf = (f: string) => [...readFileSync(new URL(f, src), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);
  it('imports no Node built-in outside node.ts', () => {
    for (const f of files.filter((f) => f !== 'node.ts')) {
      expect(importsOf(f).filter((i) => i.startsWith('node:') || ['fs', 'path', 'url', 'module'].includes(i)), f).toEqual([]);
    }
  });
  it('does not import the optional peers (converter, layers) statically', () => {
    for (const f of files) expect(importsOf(f).filter((i) => /tfjs-(converter|layers)/.test(i)), f).toEqual([]);
  });
  it('index.ts does not reach node.ts', () => {
    const reach = new Set<string>();
    const walk = (f: string) => {
      if (reach.has(f)) return;
      reach.add(f);
      for (const i of importsOf(f)) if (i.startsWith('./')) walk(i.slice(2).replace(/\.js$/, '.ts'));
    };
    walk('index.ts');
    expect(reach.has('node.ts')).toBe(false);
    expect(reach.has('detector.ts')).toBe(true);
  });
});
