import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { workspaceAlias } from '../../vitest.shared.js';
import path from 'node:path';
import { crossOriginIsolation, ISOLATION_HEADERS } from './plugins/isolation.js';
import { listFiles, serveDir } from './plugins/serve-dir.js';
import { tfjsTwin } from './plugins/tfjs-twin.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ortDist = here('../../node_modules/onnxruntime-web/dist/');
// FSTA_DEMO_DIR lets tests point the page at another model folder with the same layout.
const demoDir = process.env.FSTA_DEMO_DIR ?? here('../cli/assets/demo/');
// The demo's tfjs twin, converted from its ONNX weights at build time into the git-ignored cache.
const tfjsDemoDir = here('../../.cache/web/tfjs-demo/');
const tfjsDemo = tfjsTwin(path.join(demoDir, 'model.onnx'), tfjsDemoDir);

const isolation = { ...ISOLATION_HEADERS };

export default defineConfig({
  root: here('./'),
  // Unknown paths are a 404, not the page: nothing outside what is served answers 200.
  appType: 'mpa',
  base: './',
  resolve: { alias: workspaceAlias },
  define: {
    __DEMO_SAMPLES__: JSON.stringify(listFiles(demoDir, (f) => f.startsWith('images') && f.endsWith('.png'))),
    __TFJS_DEMO__: JSON.stringify(tfjsDemo),
  },
  plugins: [
    // First, so its headers are on every response, the other plugins' included.
    crossOriginIsolation(),
    serveDir('/ort/', ortDist, (f) => /^ort-wasm-simd-threaded\.jsep\.(wasm|mjs)$/.test(f)),
    serveDir('/demo/', demoDir, (f) => /\.(onnx|json|png)$/.test(f)),
    ...(tfjsDemo ? [serveDir('/tfjs-demo/', tfjsDemoDir, (f) => /^(model\.json|weights\.bin)$/.test(f))] : []),
  ],
  // The dev server reads only the page, the workspace packages' sources and the installed
  // dependencies; the demo model, images and onnxruntime's wasm come through serveDir.
  server: { headers: isolation, fs: { strict: true, allow: [here('./'), here('../../packages/'), here('../../node_modules/')] } },
  preview: { headers: isolation },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 100_000 },
  worker: { format: 'es' },
});
