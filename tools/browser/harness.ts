/**
 * Runs code in headless Chromium (Debian's /usr/bin/chromium via playwright-core) for
 * the in-browser tests: bundle a test entry with Vite, serve it and the runtimes'
 * wasm files from 127.0.0.1, call the entry's exported `run(args)` in the page and
 * hand back its JSON result.
 */
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const sharedRoot = path.resolve(repoRoot, '..', 'shared');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves each URL prefix from a folder. Cross-origin isolated, so wasm threads may use SharedArrayBuffer. */
export async function startStaticServer(routes: Record<string, string>): Promise<StaticServer> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => urlPath.startsWith(p));
    let file = prefix === undefined ? undefined : path.join(routes[prefix]!, urlPath.slice(prefix.length));
    if (file && existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!file || !file.startsWith(routes[prefix!]!) || !existsSync(file)) {
      res.writeHead(404).end(`not found: ${urlPath}`);
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Chromium flags: no network chatter on this closed network, and WebGPU on SwiftShader. */
export const chromiumArgs = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--enable-unsafe-webgpu',
];

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}

/** Bundles `entry` (a module exporting `run(args)`) into a page with Vite. Returns the output folder. */
export async function bundleEntry(entry: string, alias: Record<string, string> = {}): Promise<string> {
  const { build } = await import('vite');
  const root = mkdtempSync(path.join(tmpdir(), 'fsta-browser-'));
  writeFileSync(
    path.join(root, 'index.html'),
    `<!doctype html><html><body><script type="module">
import { run } from ${JSON.stringify(entry)};
window.__fstaRun = (args) => run(args);
window.__fstaReady = true;
</script></body></html>`,
  );
  await build({
    root,
    logLevel: 'error',
    configFile: false,
    resolve: { alias },
    build: { outDir: path.join(root, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 100_000 },
    server: { fs: { strict: false } },
  });
  return path.join(root, 'dist');
}

export interface BrowserRun<R> {
  result: R;
  console: string[];
}

/**
 * Bundles `entry`, serves it with `extraRoutes` (e.g. '/ort/' → onnxruntime-web's dist,
 * '/shared/' → ../shared), opens it in Chromium and returns `await run(args)`.
 */
export async function runInBrowser<R>(entry: string, args: unknown, opts: { alias?: Record<string, string>; routes?: Record<string, string>; timeoutMs?: number } = {}): Promise<BrowserRun<R>> {
  const dist = await bundleEntry(entry, opts.alias);
  const server = await startStaticServer({ '/': dist, ...(opts.routes ?? {}) });
  const browser = await launchChromium();
  const messages: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
    await page.goto(server.url);
    await page.waitForFunction(() => (window as unknown as { __fstaReady?: boolean }).__fstaReady === true, null, { timeout: 60_000 });
    const result = (await page.evaluate(
      (a) => (window as unknown as { __fstaRun: (x: unknown) => Promise<unknown> }).__fstaRun(a),
      args as never,
    )) as R;
    return { result, console: messages };
  } catch (e) {
    throw new Error(`${(e as Error).message}\nbrowser console:\n${messages.join('\n')}`);
  } finally {
    await browser.close();
    await server.close();
    rmSync(path.dirname(dist), { recursive: true, force: true });
  }
}
