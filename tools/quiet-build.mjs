// `npm run demo`'s build step: builds the fsta CLI and the packages it imports (nx builds a
// project's dependencies first; the web app's bundle and the tfjs and onnxruntime-web
// adapters are not needed, and `npm run build` or `npm test` build them), with nx's output
// kept in a log: one line, or the whole log when the build fails, so the demo's own output
// is what a first-time user reads.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const nx = path.join(path.dirname(createRequire(import.meta.url).resolve('nx/package.json')), 'dist/bin/nx.js');
const log = path.join(root, '.cache/build.log');
const started = Date.now();
process.stdout.write('Building the fsta CLI… ');
const r = spawnSync(process.execPath, [nx, 'run', '@fsta/cli:build', '--outputStyle=static'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, NX_DAEMON: process.env.NX_DAEMON ?? 'false', NX_NO_CLOUD: 'true', FORCE_COLOR: '0' },
  maxBuffer: 64 * 1024 * 1024,
});
mkdirSync(path.dirname(log), { recursive: true });
writeFileSync(log, `${r.stdout ?? ''}${r.stderr ?? ''}`);
if (r.status === 0) {
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(0)} s (log: ${path.relative(process.cwd(), log)})\n\n`);
} else {
  process.stdout.write('failed:\n\n');
  process.stdout.write(`${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `${r.error.message}\n` : ''}`);
  process.exit(r.status ?? 1);
}
