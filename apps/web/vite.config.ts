import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { workspaceAlias } from '../../vitest.shared.js';
import path from 'node:path';
import { listFiles, serveDir } from './plugins/serve-dir.js';
import { tfjsTwin } from './plugins/tfjs-twin.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ortDist = here('../../node_modules/onnxruntime-web/dist/');
// FSTA_DEMO_DIR lets tests point the page at another model folder with the same layout.
const demoDir = process.env.FSTA_DEMO_DIR ?? here('../cli/assets/demo/');
// The demo's tfjs twin, converted from its ONNX weights at build time into the git-ignored cache.
const tfjsDemoDir = here('../../.cache/web/tfjs-demo/');
const tfjsDemo = tfjsTwin(path.join(demoDir, 'model.onnx'), tfjsDemoDir);

// Cross-origin isolation lets onnxruntime-web use wasm threads (SharedArrayBuffer).
const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };

export default defineConfig({
  root: here('./'),
  base: './',
  resolve: { alias: workspaceAlias },
  define: {
    __DEMO_SAMPLES__: JSON.stringify(listFiles(demoDir, (f) => f.startsWith('images') && f.endsWith('.png'))),
    __TFJS_DEMO__: JSON.stringify(tfjsDemo),
  },
  plugins: [
    serveDir('/ort/', ortDist, (f) => /^ort-wasm-simd-threaded\.jsep\.(wasm|mjs)$/.test(f)),
    serveDir('/demo/', demoDir, (f) => /\.(onnx|json|png)$/.test(f)),
    ...(tfjsDemo ? [serveDir('/tfjs-demo/', tfjsDemoDir, (f) => /^(model\.json|weights\.bin)$/.test(f))] : []),
  ],
  server: { headers: isolation, fs: { strict: false } },
  preview: { headers: isolation },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 100_000 },
  worker: { format: 'es' },
});
