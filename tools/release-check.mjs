#!/usr/bin/env node
// Release hygiene for every publishable workspace (packages/* and apps/cli), run after
// `npm run build`:
//   - package.json: licence, files, exports with types, README/LICENSE, runtime peer deps,
//     internal dependencies pinned to the sibling's current version;
//   - `npm pack --dry-run --json`: file count, packed and unpacked size, the entry files shipped;
//   - publint (--strict) and @arethetypeswrong/cli (--profile esm-only: the packages are ESM only);
//   - a changesets dry run: `changeset version` with a patch changeset for every package,
//     in a temporary copy of the workspace manifests, so the working tree never changes.
// Exits 1 on any problem.  --write-docs regenerates docs/packages.md from the pack sizes.
// --skip-tools skips publint/attw (for a quick manifest-only check).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules/.bin', name);
const args = new Set(process.argv.slice(2));
const problems = [];
const problem = (pkg, what) => problems.push(`${pkg}: ${what}`);

/** Runtime peers each adapter must declare (users install exactly one runtime). */
const REQUIRED_PEERS = {
  '@fsta/onnxruntime-node': ['onnxruntime-node'],
  '@fsta/onnxruntime-web': ['onnxruntime-web'],
  '@fsta/tfjs': ['@tensorflow/tfjs-core'],
};
/** Runtimes that must never be a hard dependency of a library package (the CLI is an app and bundles its runtime). */
const RUNTIMES = ['onnxruntime-node', 'onnxruntime-web', '@tensorflow/tfjs-core', '@tensorflow/tfjs-converter', '@tensorflow/tfjs-layers'];

function run(cmd, argv, cwd) {
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' }, maxBuffer: 64 * 2 ** 20 });
  return { status: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, stdout: r.stdout ?? '' };
}

function workspaces() {
  const dirs = [...readdirSync(join(root, 'packages')).map((d) => `packages/${d}`), 'apps/cli'];
  return dirs
    .filter((d) => existsSync(join(root, d, 'package.json')))
    .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private);
}

function checkManifest({ dir, pkg }, versions) {
  const name = pkg.name;
  if (!pkg.license) problem(name, 'package.json has no "license"');
  if (!existsSync(join(root, dir, 'LICENSE'))) problem(name, `${dir}/LICENSE is missing`);
  if (!existsSync(join(root, dir, 'README.md'))) problem(name, `${dir}/README.md is missing`);
  if (!pkg.description) problem(name, 'package.json has no "description"');
  if (pkg.type !== 'module') problem(name, 'package.json "type" is not "module"');
  if (!Array.isArray(pkg.files) || !pkg.files.includes('dist')) problem(name, '"files" does not list dist');
  const dot = pkg.exports?.['.'];
  if (!dot?.types || !dot?.default) problem(name, '"exports" has no "." entry with "types" and "default"');
  for (const [sub, entry] of Object.entries(pkg.exports ?? {})) {
    if (typeof entry === 'object' && entry && Object.keys(entry)[0] !== 'types') problem(name, `exports["${sub}"]: "types" must come first`);
  }
  if (!pkg.types) problem(name, 'package.json has no "types"');
  if (pkg.publishConfig?.access === 'restricted') problem(name, 'publishConfig.access is restricted');
  for (const peer of REQUIRED_PEERS[name] ?? []) if (!pkg.peerDependencies?.[peer]) problem(name, `must declare the runtime "${peer}" as a peer dependency`);
  if (dir.startsWith('packages/')) for (const rt of RUNTIMES) if (pkg.dependencies?.[rt]) problem(name, `"${rt}" is a hard dependency; make it a peer dependency so users pick one runtime`);
  for (const field of ['dependencies', 'peerDependencies']) {
    for (const [dep, range] of Object.entries(pkg[field] ?? {})) {
      if (dep in versions && range !== versions[dep] && range !== `^${versions[dep]}` && range !== `workspace:*`) problem(name, `${field}["${dep}"] is "${range}" but that package is at ${versions[dep]}`);
      if (String(range).startsWith('file:') || String(range).startsWith('link:')) problem(name, `${field}["${dep}"] is a local path ("${range}")`);
    }
  }
}

function pack({ dir, pkg }) {
  const r = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], join(root, dir));
  let info;
  try { info = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')))[0]; } catch { problem(pkg.name, `npm pack --dry-run failed: ${r.out.slice(-400)}`); return undefined; }
  const files = info.files.map((f) => f.path);
  const need = ['package.json', 'README.md', 'LICENSE'];
  for (const [, entry] of Object.entries(pkg.exports ?? {})) if (typeof entry === 'object' && entry) for (const t of Object.values(entry)) if (typeof t === 'string') need.push(t.replace(/^\.\//, ''));
  for (const b of Object.values(typeof pkg.bin === 'string' ? { x: pkg.bin } : pkg.bin ?? {})) need.push(String(b).replace(/^\.\//, ''));
  for (const f of need) if (!files.includes(f)) problem(pkg.name, `the tarball lacks ${f}${f.startsWith('dist/') ? ' (run `npm run build` first)' : ''}`);
  const leaked = files.filter((f) => /(^|\/)(test|src)\/|\.test\.|\.tsbuildinfo$|(^|\/)\.env/.test(f));
  if (leaked.length > 0) problem(pkg.name, `the tarball ships files that should stay out: ${leaked.slice(0, 5).join(', ')}`);
  return { name: pkg.name, version: pkg.version, description: pkg.description, dir, files: info.entryCount ?? files.length, size: info.size, unpackedSize: info.unpackedSize, peers: Object.keys(pkg.peerDependencies ?? {}) };
}

function lint({ dir, pkg }) {
  const p = run(bin('publint'), ['run', join(root, dir), '--strict', '--pack', 'npm'], root);
  if (p.status !== 0) problem(pkg.name, `publint: ${p.out.trim().split('\n').slice(-12).join(' | ')}`);
  // The packages ship ESM only ("type": "module", no require condition): check node16 ESM and bundler resolution.
  const a = run(bin('attw'), ['--pack', join(root, dir), '--profile', 'esm-only', '--format', 'ascii', '--no-emoji', '--no-color'], root);
  if (a.status !== 0) problem(pkg.name, `@arethetypeswrong/cli: ${a.out.trim().split('\n').slice(-15).join(' | ')}`);
  return { publint: p.status === 0, attw: a.status === 0 };
}

/**
 * `changeset version` in a throwaway copy of the workspace manifests with a patch
 * changeset for every package: proves the flow runs (config valid, linked group and
 * internal ranges update together) without touching the working tree.
 */
function changesetDryRun(ws) {
  const tmp = mkdtempSync(join(tmpdir(), 'fsta-changeset-'));
  try {
    cpSync(join(root, 'package.json'), join(tmp, 'package.json'));
    cpSync(join(root, '.changeset'), join(tmp, '.changeset'), { recursive: true });
    const all = [...readdirSync(join(root, 'packages')).map((d) => `packages/${d}`), ...readdirSync(join(root, 'apps')).map((d) => `apps/${d}`)];
    for (const d of all) {
      if (!existsSync(join(root, d, 'package.json'))) continue;
      mkdirSync(join(tmp, d), { recursive: true });
      cpSync(join(root, d, 'package.json'), join(tmp, d, 'package.json'));
    }
    writeFileSync(join(tmp, '.changeset', 'release-check-dry-run.md'), `---\n${ws.map(({ pkg }) => `"${pkg.name}": patch`).join('\n')}\n---\n\nrelease-check dry run\n`);
    const r = run(bin('changeset'), ['version'], tmp);
    if (r.status !== 0) { problem('changesets', `changeset version failed: ${r.out.slice(-600)}`); return undefined; }
    const bumped = {};
    for (const { dir, pkg } of ws) {
      const after = JSON.parse(readFileSync(join(tmp, dir, 'package.json'), 'utf8'));
      bumped[pkg.name] = `${pkg.version} -> ${after.version}`;
      if (after.version === pkg.version) problem('changesets', `${pkg.name} was not bumped by a patch changeset`);
      if (!existsSync(join(tmp, dir, 'CHANGELOG.md'))) problem('changesets', `${pkg.name}: no CHANGELOG.md written`);
      for (const [dep, range] of Object.entries(after.dependencies ?? {})) {
        const sib = ws.find((w) => w.pkg.name === dep);
        if (sib) {
          const sibAfter = JSON.parse(readFileSync(join(tmp, sib.dir, 'package.json'), 'utf8')).version;
          if (!String(range).includes(sibAfter)) problem('changesets', `${pkg.name} depends on ${dep}@${range} after versioning, but ${dep} is now ${sibAfter}`);
        }
      }
    }
    return bumped;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

const kB = (n) => `${(n / 1024).toFixed(1)} kB`;

function docsPage(rows) {
  const docFor = (name) => {
    const short = name.replace('@fsta/', '');
    return existsSync(join(root, 'docs', `${short}.md`)) ? `[docs/${short}.md](${short}.md)` : '';
  };
  return [
    '# Packages',
    '',
    '<!-- Generated by `npm run release:check -- --write-docs` (tools/release-check.mjs) from `npm pack --dry-run --json` after `npm run build`. -->',
    '',
    'Install the core, the adapter for your runtime and that runtime (a peer dependency, so you pick its version and',
    'only one runtime is installed). Sizes are those of the npm tarball (packed) and of the installed files (unpacked),',
    'without dependencies.',
    '',
    '| package | what | peer dependencies | files | packed | unpacked | docs |',
    '|---|---|---|---:|---:|---:|---|',
    ...rows.map((r) => `| \`${r.name}\` ${r.version} | ${r.description} | ${r.peers.map((p) => `\`${p}\``).join(', ') || '–'} | ${r.files} | ${kB(r.size)} | ${kB(r.unpackedSize)} | ${docFor(r.name)} |`),
    '',
    'Troubleshooting: every error code with its fix is listed in [troubleshooting.md](troubleshooting.md).',
    '',
  ].join('\n');
}

const ws = workspaces();
const versions = Object.fromEntries(ws.map(({ pkg }) => [pkg.name, pkg.version]));
const gitBefore = run('git', ['status', '--porcelain'], root).stdout;
const rows = [];
for (const w of ws) {
  checkManifest(w, versions);
  const row = pack(w);
  if (!row) continue;
  if (!args.has('--skip-tools')) Object.assign(row, lint(w));
  rows.push(row);
  console.log(`${w.pkg.name}: ${row.files} files, ${kB(row.size)} packed, ${kB(row.unpackedSize)} unpacked${'publint' in row ? `, publint ${row.publint ? 'clean' : 'FAILED'}, attw ${row.attw ? 'clean' : 'FAILED'}` : ''}`);
}
const bumped = changesetDryRun(ws);
if (bumped) console.log(`changeset version (dry run, patch for all): ${Object.entries(bumped).map(([k, v]) => `${k} ${v}`).join(', ')}`);
// npm pack and the dry run must leave the working tree as they found it.
const gitAfter = run('git', ['status', '--porcelain'], root).stdout;
if (gitAfter !== gitBefore) {
  const before = new Set(gitBefore.split('\n'));
  // Only paths this script could touch: manifests, changesets, changelogs, tarballs.
  const changed = gitAfter.split('\n').filter((l) => l && !before.has(l) && /(package\.json|\.changeset\/|CHANGELOG\.md|\.tgz)$|\.changeset\//.test(l));
  if (changed.length > 0) problem('release-check', `the working tree changed during the check: ${changed.join(', ')}`);
}
if (args.has('--write-docs')) {
  writeFileSync(join(root, 'docs/packages.md'), docsPage(rows));
  console.log(`wrote ${relative(root, join(root, 'docs/packages.md'))}`);
}
if (problems.length > 0) {
  console.error(`\n${problems.length} release problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('\nrelease check passed');
