import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { workspaceAlias } from '../../vitest.shared.js';
import { crossOriginIsolation, ISOLATION_HEADERS } from './plugins/isolation.js';
import { listFiles, serveDir } from './plugins/serve-dir.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ortDist = here('../../node_modules/onnxruntime-web/dist/');
// `fsta demo`'s assets (model.onnx, demo.json, classes.json, images/); FSTA_DEMO_DIR points the page at another folder with the same layout.
const demoDir = process.env.FSTA_DEMO_DIR ?? here('../cli/assets/photo-demo/');
const isImage = (f: string) => /\.(png|jpe?g)$/i.test(f);

const isolation = { ...ISOLATION_HEADERS };

export default defineConfig({
  root: here('./'),
  // Unknown paths are a 404, not the page: nothing outside what is served answers 200.
  appType: 'mpa',
  base: './',
  resolve: { alias: workspaceAlias },
  define: {
    __DEMO_SAMPLES__: JSON.stringify(listFiles(demoDir, (f) => f.startsWith('images') && isImage(f))),
  },
  plugins: [
    // First, so its headers are on every response, the other plugins' included.
    crossOriginIsolation(),
    serveDir('/ort/', ortDist, (f) => /^ort-wasm-simd-threaded\.jsep\.(wasm|mjs)$/.test(f)),
    serveDir('/demo/', demoDir, (f) => f === 'model.onnx' || f === 'demo.json' || f === 'classes.json' || (f.startsWith('images') && isImage(f))),
  ],
  // The dev server reads only the page, the workspace packages' sources and the installed
  // dependencies; the demo model, images and onnxruntime's wasm come through serveDir.
  server: { headers: isolation, fs: { strict: true, allow: [here('./'), here('../../packages/'), here('../../node_modules/')] } },
  preview: { headers: isolation },
  build: { target: 'es2022', outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 100_000 },
  worker: { format: 'es' },
});
