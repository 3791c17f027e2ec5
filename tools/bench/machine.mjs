// @ts-check
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const NODE_MODULES = new URL('../../node_modules/', import.meta.url).pathname;
// Read from disk: some packages' export maps do not expose package.json to require().
const version = (/** @type {string} */ pkg) => {
  try { return JSON.parse(readFileSync(join(NODE_MODULES, pkg, 'package.json'), 'utf8')).version; } catch { return 'not installed'; }
};

/** What the numbers were measured on. */
export function machine() {
  const c = cpus();
  let os = process.platform;
  try { os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os; } catch { /* not Linux */ }
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os,
    node: process.version,
    onnxruntimeNode: version('onnxruntime-node'),
    onnxruntimeWeb: version('onnxruntime-web'),
    tfjs: version('@tensorflow/tfjs-core'),
    sharp: version('sharp'),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
