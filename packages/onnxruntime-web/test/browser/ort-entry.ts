import * as ort from 'onnxruntime-web';
import { createDetector } from '@fsta/onnxruntime-web';
import type { WebExecutionProvider } from '@fsta/onnxruntime-web';

export interface ProviderJob {
  /** Providers passed to createDetector; null = the adapter's default. */
  providers: WebExecutionProvider[] | null;
  images: number;
  /** Image URLs scored as encoded files (fetched and decoded by the browser). */
  urls?: string[];
}

type Row = { fs: number; fsTa: number; msp: number; energy: number; score: number };
export interface ProviderResult {
  runtime?: string;
  logs: string[];
  rows?: Row[];
  urlRows?: Row[];
  ms?: number;
  error?: string;
}

const rowsOf = (s: Awaited<ReturnType<Awaited<ReturnType<typeof createDetector>>['score']>>): Row[] =>
  s.map((r) => ({ fs: r.fs, fsTa: r.fsTa!, msp: r.classifier.msp!, energy: r.classifier.energy!, score: r.score }));

/** In the page: score the NCHW batch the Node side scored, on each requested provider. */
export async function run(args: { modelUrl: string; data: number[]; shape: number[]; jobs: ProviderJob[] }): Promise<ProviderResult[]> {
  ort.env.wasm.wasmPaths = new URL('/ort/', location.href).href;
  const per = args.shape.slice(1).reduce((a, b) => a * b, 1);
  const out: ProviderResult[] = [];
  for (const job of args.jobs) {
    const r: ProviderResult = { logs: [] };
    out.push(r);
    try {
      const t0 = performance.now();
      const det = await createDetector({
        model: args.modelUrl, backbone: 'cifar_resnet20', k: 0.5, classifier: 'energy', lambda: 0.016,
        ...(job.providers ? { executionProviders: job.providers } : {}),
        logger: (l) => r.logs.push(l),
      });
      r.runtime = det.runtime;
      r.rows = rowsOf(await det.score({ data: Float32Array.from(args.data.slice(0, job.images * per)), shape: [job.images, ...args.shape.slice(1)] }));
      if (job.urls) r.urlRows = rowsOf(await det.score(job.urls));
      r.ms = performance.now() - t0;
      await det.dispose();
    } catch (e) {
      r.error = String((e as Error).stack ?? e);
    }
  }
  return out;
}
