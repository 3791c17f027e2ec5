// `npm run demo`'s build step: compiles the fsta CLI and the workspace packages it imports to
// JavaScript (tools/transpile.mjs: tsc's own output, without type checking or declarations),
// in one line, or the errors when a file does not compile, so the demo's own output is what
// a first-time user reads. The web app and the tfjs and onnxruntime-web adapters are not
// needed; `npm run build` (nx, tsc) type-checks and builds everything.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectsFor, transpileProject } from './transpile.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const started = Date.now();
process.stdout.write('Compiling the fsta CLI… ');
let written = 0, files = 0;
try {
  for (const dir of projectsFor(root, '@fsta/cli')) {
    for (const { out, text } of transpileProject(dir)) {
      files++;
      let old = null;
      try { old = readFileSync(out, 'utf8'); } catch { /* not built yet */ }
      // Unchanged files keep their times, so a build that nx made stays as it was.
      if (old === text) continue;
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, text);
      written++;
    }
  }
} catch (e) {
  process.stdout.write(`failed:\n\n${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(0)} s (${files} files, ${written} written)\n\n`);
