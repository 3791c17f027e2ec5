import { expect, it } from 'vitest';
import { runInBrowser } from './harness.js';

it('runs tfjs on WebGL and WebGPU in headless Chromium', async () => {
  const { result } = await runInBrowser<Record<string, { backend?: string; mean?: number[]; error?: string }>>(new URL('./smoke-entry.ts', import.meta.url).pathname, {});
  expect(result.webgl).toEqual({ backend: 'webgl', mean: [1.5, 3.5] });
  expect(result.webgpu).toEqual({ backend: 'webgpu', mean: [1.5, 3.5] });
}, 180_000);
