import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Plugin } from 'vite';

const TYPES: Record<string, string> = { '.wasm': 'application/wasm', '.mjs': 'text/javascript', '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.onnx': 'application/octet-stream' };

function walk(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]));
}

/**
 * Serves files of `dir` under the URL `prefix` in dev and copies them into the build:
 * how the page gets onnxruntime-web's wasm binaries and the CLI's demo model without
 * copying either into the repository.
 */
export function serveDir(prefix: string, dir: string, keep: (file: string) => boolean = () => true): Plugin {
  const files = () => (existsSync(dir) ? walk(dir).filter(keep) : []);
  return {
    name: `fsta-serve-dir:${prefix}`,
    configureServer(server) {
      server.middlewares.use(prefix, (req, res, next) => {
        const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
        const file = path.join(dir, rel);
        const inside = path.relative(dir, file);
        if (!inside || inside.startsWith('..') || path.isAbsolute(inside) || !keep(rel) || !existsSync(file) || !statSync(file).isFile()) return next();
        res.setHeader('content-type', TYPES[path.extname(file)] ?? 'application/octet-stream');
        createReadStream(file).pipe(res);
      });
    },
    generateBundle() {
      for (const rel of files()) this.emitFile({ type: 'asset', fileName: path.posix.join(prefix.replace(/^\//, ''), rel.split(path.sep).join('/')), source: readFileSync(path.join(dir, rel)) });
    },
  };
}

/** The list of `dir`'s files (relative, posix) matching `keep`: the page's sample index. */
export function listFiles(dir: string, keep: (file: string) => boolean): string[] {
  return existsSync(dir) ? walk(dir).filter(keep).map((f) => f.split(path.sep).join('/')).sort() : [];
}
