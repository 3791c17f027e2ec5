// The JavaScript of workspace projects as their `tsc -p tsconfig.build.json` emits it, file by
// file and without type checking or declarations (ts.transpileModule with each project's own
// compiler options: every project is isolatedModules + verbatimModuleSyntax, so each file
// compiles alone). `npm run demo` runs the CLI from a fresh clone this way in seconds, where
// the type-checked build of its five projects takes half a minute on two cores; `npm run build`
// type-checks and writes the declarations. apps/cli/test/demo-build.test.ts checks that this
// JavaScript is byte for byte what tsc wrote.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** Workspace package name → its folder, from the root package.json's `workspaces` globs (`dir/*`). */
export function workspaceProjects(root) {
  const globs = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces;
  const out = new Map();
  for (const g of globs) {
    if (!g.endsWith('/*')) throw new Error(`workspace glob "${g}" is not of the form dir/*`);
    const base = path.join(root, g.slice(0, -2));
    for (const d of readdirSync(base, { withFileTypes: true })) {
      const pkg = path.join(base, d.name, 'package.json');
      if (d.isDirectory() && existsSync(pkg)) out.set(JSON.parse(readFileSync(pkg, 'utf8')).name, path.join(base, d.name));
    }
  }
  return out;
}

/** The folders of `name` and every workspace package it depends on, dependencies first. */
export function projectsFor(root, name) {
  const all = workspaceProjects(root);
  const order = [];
  const visit = (n, chain) => {
    if (chain.includes(n)) throw new Error(`workspace dependency cycle: ${[...chain, n].join(' → ')}`);
    const dir = all.get(n);
    if (!dir || order.includes(dir)) return;
    const deps = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies ?? {};
    for (const d of Object.keys(deps)) if (all.has(d)) visit(d, [...chain, n]);
    order.push(dir);
  };
  if (!all.has(name)) throw new Error(`${name} is not a workspace package`);
  visit(name, []);
  return order;
}

/** Every source file of the project at `dir` → { src, out, text }: the .js tsc would write and its text. */
export function transpileProject(dir) {
  const config = path.join(dir, 'tsconfig.build.json');
  const problems = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(config, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => problems.push(d) });
  if (!parsed || problems.length || parsed.errors.length) throw new Error(`${config}: ${[...problems, ...(parsed?.errors ?? [])].map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; ')}`);
  // transpileModule does not read package.json, so under NodeNext it would take every file for
  // CommonJS; the projects are "type": "module", whose .ts files tsc emits as ES modules, which
  // ESNext (with a resolution it allows) writes the same way.
  if (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).type !== 'module') throw new Error(`${dir}/package.json is not "type": "module", which this compile assumes`);
  const options = { ...parsed.options, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };
  if (!options.isolatedModules && !options.verbatimModuleSyntax) throw new Error(`${config} is neither isolatedModules nor verbatimModuleSyntax, so its files cannot be compiled one at a time`);
  if (options.sourceMap || options.inlineSourceMap) throw new Error(`${config} asks for source maps, which this compile does not write`);
  return parsed.fileNames.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')).map((src) => {
    const r = ts.transpileModule(readFileSync(src, 'utf8'), { compilerOptions: options, fileName: src, reportDiagnostics: true });
    const errors = (r.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length) throw new Error(errors.map((d) => `${path.relative(process.cwd(), src)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`).join('\n'));
    const out = path.join(options.outDir, path.relative(options.rootDir, src)).replace(/\.ts$/, '.js');
    return { src, out, text: r.outputText };
  });
}
