import type { Plugin } from 'vite';

/**
 * Cross-origin isolation (COOP + COEP) lets onnxruntime-web use WASM threads
 * (SharedArrayBuffer); CORP marks every file as same-origin, which COEP requires of
 * workers and wasm. Vite's own `server.headers` miss responses from other plugins'
 * middlewares (the page's /ort/ and /demo/ files), so this sets them first, on every
 * dev and preview response.
 */
export const ISOLATION_HEADERS = Object.freeze({
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
});

export function crossOriginIsolation(): Plugin {
  // Returns nothing: a function returned from configureServer would be run as a post hook.
  const use = (server: { middlewares: { use(fn: (req: unknown, res: { setHeader(k: string, v: string): void }, next: () => void) => void): unknown } }): void => {
    server.middlewares.use((_req, res, next) => {
      for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
      next();
    });
  };
  return { name: 'fsta-cross-origin-isolation', enforce: 'pre', configureServer: use, configurePreviewServer: use };
}
