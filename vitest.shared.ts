import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

/** Tests import workspace packages from source, so no build is needed between edits. */
export const workspaceAlias = {
  // Subpaths before their package: aliases match by prefix, in order.
  '@fsta/core/conformance': fileURLToPath(new URL('./packages/core/src/conformance.ts', import.meta.url)),
  '@fsta/core': src('core'),
  '@fsta/onnx': src('onnx'),
  '@fsta/backbones': src('backbones'),
  '@fsta/onnxruntime-node/read-file': fileURLToPath(new URL('./packages/onnxruntime-node/src/read-file.ts', import.meta.url)),
  '@fsta/onnxruntime-node': src('onnxruntime-node'),
  '@fsta/onnxruntime-web': src('onnxruntime-web'),
  '@fsta/tfjs': src('tfjs'),
};

export const sharedConfig = defineConfig({
  resolve: { alias: workspaceAlias },
  test: { include: ['test/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 },
});
