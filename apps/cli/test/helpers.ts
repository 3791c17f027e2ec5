import { join } from 'node:path';
import { main } from '../src/main.js';
import type { Io } from '../src/io.js';

export const DEMO = process.env.FSTA_TEST_DEMO_DIR ?? join(import.meta.dirname, '..', 'assets', 'demo');
export const demoModel = ['--model', join(DEMO, 'model.onnx'), '--manifest', join(DEMO, 'demo.json')];

/** Runs the CLI in-process and captures what it prints. */
export async function runCli(args: string[], cwd = process.cwd()): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, errIsTty: false, cwd };
  const code = await main(args, io);
  return { code, out, err };
}
